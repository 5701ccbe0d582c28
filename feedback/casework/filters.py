"""Which cases: one filter for the work list, the API and the exports, so the three cannot disagree.

Each caller turns its own parameters (the queue's form, the API's query, an export's period and
filters) into a `CaseFilter`; `apply` is the only place the rules are written. The order stays
with the callers: the queue sorts as the agent asks, the API pages by its cursor, exports run
oldest first.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, F, OuterRef, Q, QuerySet

from feedback.casework.cases import overdue_now
from feedback.models import FollowUp
from sentiment.models import AnswerTheme
from surveys.models import OrderLine


@dataclass(frozen=True)
class CaseFilter:
    """What a list of cases is narrowed to; a field left at its default narrows nothing."""

    statuses: tuple[str, ...] = ()
    priority: int | None = None
    assignee_id: int | None = None
    assignee_username: str = ""
    unassigned: bool = False
    # True: only cases past due with no first contact yet; False: every other case.
    overdue: bool | None = None
    reason: str = ""
    theme: str = ""
    language: str = ""
    # An SKU on the case's order (exactly, in any case), or part of a product's name on it.
    product: str = ""
    shop_id: int | None = None
    # Part of the customer's name or email, or the order's number (a leading # is ignored).
    q: str = ""
    # When the case was flagged: from `flagged_from`, before `flagged_before`.
    flagged_from: datetime | None = None
    flagged_before: datetime | None = None


EVERY_CASE = CaseFilter()


def apply(found: QuerySet[FollowUp], criteria: CaseFilter, *, now: datetime) -> QuerySet[FollowUp]:
    """The cases of `found` that pass every criterion given; `now` decides what is overdue."""
    if criteria.statuses:
        found = found.filter(status__in=criteria.statuses)
    if criteria.priority is not None:
        found = found.filter(priority=criteria.priority)
    if criteria.unassigned:
        found = found.filter(assignee__isnull=True)
    if criteria.assignee_id is not None:
        found = found.filter(assignee_id=criteria.assignee_id)
    if criteria.assignee_username:
        found = found.filter(assignee__username=criteria.assignee_username)
    if criteria.overdue is not None:
        found = found.filter(overdue_now(now)) if criteria.overdue else found.exclude(overdue_now(now))
    if criteria.reason:
        found = found.filter(FollowUp.has_reason(criteria.reason))
    if criteria.theme:
        # A comment that mentions the theme, whatever it feels about it: the agent reads the rest.
        themes = AnswerTheme.objects.filter(answer__response_id=OuterRef("response_id"), theme=criteria.theme)
        found = found.filter(Exists(themes))
    if criteria.language:
        found = _in_the_cases_shop(found, "response").filter(response__language=criteria.language)
    if product := criteria.product.strip():
        # Agents type what the customer said ("the golden tea"), tools send the SKU they hold; an
        # SKU matched only in part would find KETTLE-10 for KETTLE-1.
        lines = OrderLine.objects.filter(order_id=OuterRef("response__invitation__order_id"))
        found = _in_the_cases_shop(found, "response", "response__invitation")
        found = found.filter(Exists(lines.filter(Q(sku__iexact=product) | Q(product_name__icontains=product))))
    if criteria.shop_id is not None:
        found = found.filter(shop_id=criteria.shop_id)
    if text := criteria.q.strip().lstrip("#").strip():
        found = _in_the_cases_shop(
            found, "response", "response__customer", "response__invitation", "response__invitation__order"
        )
        found = found.filter(
            Q(response__customer__name__icontains=text)
            | Q(response__customer__email__icontains=text)
            | Q(response__invitation__order__external_id__icontains=text)
            | Q(response__invitation__order__number__icontains=text)
        )
    if criteria.flagged_from is not None:
        found = found.filter(created_at__gte=criteria.flagged_from)
    if criteria.flagged_before is not None:
        found = found.filter(created_at__lt=criteria.flagged_before)
    return found


def _in_the_cases_shop(found: QuerySet[FollowUp], *paths: str) -> QuerySet[FollowUp]:
    """The cases, each row joined through `paths` said to be of the case's shop, as it always is
    (a case has its response's shop; the database keeps an invitation, its order and customer in
    one shop, surveys 0010). Said in the query, PostgreSQL carries the case's shop to those tables
    and reads the shop's rows of each through its index on the shop, instead of weighing a look-up
    per case against reading every shop's rows (and, at its default costs, reading them all)."""
    return found.filter(**{f"{path}__shop_id": F("shop_id") for path in paths})
