"""Did it work? The recovery survey after a resolved case, and whether customers came back.

A customer "came back" when they placed an order after their case was resolved: the
only measure of a recovered customer that doesn't depend on what they say.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Avg, Count, DurationField, Exists, ExpressionWrapper, F, OuterRef, Q

from feedback.casework.flagging import rules_for
from feedback.models import CaseEvent, FollowUp
from surveys.models import Invitation, Order
from surveys.outreach.planning import schedule_survey


def schedule_recovery_survey(case: FollowUp, *, now: datetime | None = None) -> Invitation | None:
    """Plan the shop's recovery survey for a resolved case, if it has one and can reach the customer."""
    rules = rules_for(case.shop)
    if case.status != FollowUp.Status.RESOLVED or rules.recovery_survey is None or case.resolved_at is None:
        return None
    order = case.response.invitation.order
    invitation = schedule_survey(
        rules.recovery_survey, order, send_at=case.resolved_at + timedelta(days=rules.recovery_after_days), now=now
    )
    if invitation is not None:
        CaseEvent.objects.create(
            follow_up=case,
            action="recovery_planned",
            detail={"survey": rules.recovery_survey.name, "send_at": invitation.send_at.isoformat()},
        )
    return invitation


def came_back(case: FollowUp) -> Order | None:
    """The customer's first order after the case was resolved, if any."""
    if case.resolved_at is None:
        return None
    return (
        Order.objects.counted()
        .filter(shop_id=case.shop_id, customer_id=case.response.customer_id, placed_at__gt=case.resolved_at)
        .order_by("placed_at")
        .first()
    )


@dataclass(frozen=True)
class Recovery:
    cases: int
    contacted: int
    resolved: int
    came_back: int
    time_to_first_contact: timedelta | None  # mean, over contacted cases
    time_to_resolution: timedelta | None  # mean, over resolved cases

    @property
    def recovery_rate(self) -> float | None:
        """Share of resolved cases whose customer ordered again afterwards."""
        return self.came_back / self.resolved if self.resolved else None


def recovery(shop_id: int, *, since: datetime, until: datetime) -> Recovery:
    """How the shop's cases flagged in [since, until) went, in one query."""
    ordered_again = Order.objects.counted().filter(
        shop_id=OuterRef("shop_id"),
        customer_id=OuterRef("response__customer_id"),
        placed_at__gt=OuterRef("resolved_at"),
    )
    resolved = Q(status=FollowUp.Status.RESOLVED)
    totals = (
        FollowUp.objects.filter(shop_id=shop_id, created_at__gte=since, created_at__lt=until)
        .annotate(returned=Exists(ordered_again))
        .aggregate(
            cases=Count("pk"),
            contacted=Count("pk", filter=Q(first_contact_at__isnull=False)),
            resolved=Count("pk", filter=resolved),
            came_back=Count("pk", filter=resolved & Q(returned=True)),
            to_contact=Avg(_since_flagged("first_contact_at")),
            to_resolution=Avg(_since_flagged("resolved_at"), filter=resolved),
        )
    )
    return Recovery(
        cases=totals["cases"],
        contacted=totals["contacted"],
        resolved=totals["resolved"],
        came_back=totals["came_back"],
        time_to_first_contact=totals["to_contact"],
        time_to_resolution=totals["to_resolution"],
    )


def _since_flagged(field: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(field) - F("created_at"), output_field=DurationField())
