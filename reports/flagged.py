"""The report's follow-up: the month's flagged customers (the top spenders first) and how the
support team kept to its SLA."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef, Prefetch

from feedback.insights.periods import Span
from feedback.models import Answer, FollowUp
from surveys.models import Order, Question, Shop

CLOSED = (FollowUp.Status.RESOLVED, FollowUp.Status.NO_CONTACT)


class Sla:
    MET = "met"
    LATE = "late"
    OVERDUE = "overdue"
    DUE = "due"
    NONE = "none"


# Flagged customers this valuable (their shop's top tenth by spend) are marked in the report.
TOP_CUSTOMERS = 10


@dataclass(frozen=True)
class FlaggedRow:
    case_id: int
    customer: str
    email: str
    order: str
    score: int | None
    comment: str
    reasons: list[str]  # FollowUp.Reason codes
    priority: int
    owner: str
    status: str  # FollowUp.Status code
    flagged_at: datetime
    answered_at: datetime
    time_to_first_contact: timedelta | None
    resolution: str
    goodwill: str
    came_back: bool | None  # None: not resolved (yet)
    sla: str
    top_percent: int | None = None  # in the shop's top this-many percent by lifetime spend, if among its best


@dataclass(frozen=True)
class SlaSummary:
    met: int
    late: int
    overdue: int
    due: int  # not contacted, not yet due

    @property
    def met_rate(self) -> float | None:
        """First contact within the SLA, over the cases whose SLA has been decided."""
        decided = self.met + self.late + self.overdue
        return 100.0 * self.met / decided if decided else None


def flagged_customers(shop: Shop, span: Span, now: datetime) -> list[FlaggedRow]:
    """Every customer flagged in the month, in the order they were flagged."""
    ordered_again = Order.objects.counted().filter(
        shop_id=OuterRef("shop_id"),
        customer_id=OuterRef("response__customer_id"),
        placed_at__gt=OuterRef("resolved_at"),
    )
    scored = Answer.objects.filter(question__kind__in=[Question.Kind.NPS, Question.Kind.COMMENT]).select_related(
        "question"
    )
    cases = (
        FollowUp.objects.filter(shop=shop, created_at__gte=span.start, created_at__lt=span.end)
        .select_related("response__customer", "response__invitation__order", "assignee")
        .prefetch_related(Prefetch("response__answers", queryset=scored, to_attr="scored_answers"))
        .annotate(came_back=Exists(ordered_again))
        .order_by("created_at", "pk")
    )
    return [_flagged_row(case, now) for case in cases]


def _flagged_row(case: FollowUp, now: datetime) -> FlaggedRow:
    response = case.response
    answers = {answer.question.kind: answer for answer in response.scored_answers}  # type: ignore[attr-defined]
    nps = answers.get(Question.Kind.NPS)
    comment = answers.get(Question.Kind.COMMENT)
    customer = response.customer
    return FlaggedRow(
        case_id=case.pk,
        customer=customer.name or customer.email or customer.phone,
        email=customer.email,
        order=response.invitation.order.display_number,
        score=nps.score if nps else None,
        comment=comment.text if comment else "",
        reasons=list(case.reasons),
        priority=case.priority,
        owner=case.assignee.get_full_name() or case.assignee.get_username() if case.assignee else "",
        status=case.status,
        flagged_at=case.created_at,
        answered_at=response.submitted_at,
        time_to_first_contact=case.first_contact_at - case.created_at if case.first_contact_at else None,
        resolution=case.resolution,
        goodwill=case.goodwill,
        came_back=case.came_back if case.status == FollowUp.Status.RESOLVED else None,  # type: ignore[attr-defined]
        sla=_sla(case, now),
        top_percent=case.customer_rank if case.customer_rank and case.customer_rank <= TOP_CUSTOMERS else None,
    )


def _sla(case: FollowUp, now: datetime) -> str:
    """Met or late by the first contact; an open case nobody contacted is overdue past its due
    time, else due. A case closed without a contact (the customer could not be reached, or it
    was settled without a word) has no contact to time: it counts in neither, so the summary's
    "never contacted" are exactly the open, uncontacted cases the list marks overdue."""
    if case.due_at is None:
        return Sla.NONE
    if case.first_contact_at is not None:
        return Sla.MET if case.first_contact_at <= case.due_at else Sla.LATE
    if case.is_closed:
        return Sla.NONE
    return Sla.OVERDUE if case.due_at < now else Sla.DUE
