"""Working a case: claiming, assigning, notes, replies, status and resolution, each in the audit trail.

Every function here that changes a case writes one CaseEvent saying who did what; the
work list, the API and the admin all go through these, so the trail is complete.
"""

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from config import mail
from feedback.casework.recovery import schedule_recovery_survey
from feedback.models import CaseEvent, CaseNote, FollowUp
from surveys.errors import DomainError
from surveys.queries import shops_of

Status = FollowUp.Status
NOTE_MAX_LENGTH = 10000

# Where a case may go from each status; resolving and giving up have their own functions.
_MOVES = {
    Status.OPEN: {Status.IN_PROGRESS, Status.WAITING},
    Status.IN_PROGRESS: {Status.OPEN, Status.WAITING},
    Status.WAITING: {Status.IN_PROGRESS, Status.OPEN},
    Status.RESOLVED: {Status.IN_PROGRESS},  # reopened
    Status.NO_CONTACT: {Status.IN_PROGRESS},
}


def overdue_now(now: datetime) -> Q:
    """Cases still waiting for their first contact after it was due."""
    return Q(first_contact_at__isnull=True, due_at__lt=now) & ~Q(status__in=[Status.RESOLVED, Status.NO_CONTACT])


def is_overdue(case: FollowUp, *, now: datetime) -> bool:
    """The same rule for one case in hand."""
    return not case.is_closed and case.first_contact_at is None and case.due_at is not None and case.due_at < now


class CaseError(DomainError):
    """This change cannot be made to the case."""

    status_code = 409


def allowed_moves(case: FollowUp) -> list[str]:
    """The statuses `move` accepts from the case's status, in the list's order."""
    return [status for status in Status.values if status in _MOVES.get(Status(case.status), set())]


def cases_of(user: User) -> QuerySet[FollowUp]:
    """The cases a staff user may see: those of their shops."""
    return FollowUp.objects.filter(shop__in=shops_of(user))


def claim(case: FollowUp, *, by: User) -> FollowUp:
    """The agent takes the case: it is theirs, and in progress if it was open."""
    return assign([case], to=by, by=by)[0]


def assign(cases: list[FollowUp], *, to: User | None, by: User | None, via: str = "") -> list[FollowUp]:
    """Give the cases to `to` (None: to nobody); each change goes in the trail.

    `by` is the staff user who did it, None for an API key (named in `via`)."""
    with transaction.atomic():
        for case in cases:
            if case.assignee_id == (to.pk if to else None):
                continue
            case.assignee = to
            changes = ["assignee", "updated_at"]
            if to is not None and by is not None and case.status == Status.OPEN and to.pk == by.pk:
                case.status = Status.IN_PROGRESS
                changes.append("status")
            case.save(update_fields=changes)
            _log(case, by, "assigned", via=via, to=to.get_username() if to else None)
    return cases


def move(case: FollowUp, status: str, *, by: User | None, via: str = "", now: datetime | None = None) -> FollowUp:
    """Open, in progress or waiting on the customer (waiting means the customer was contacted)."""
    if status not in _MOVES.get(Status(case.status), set()):
        raise CaseError(f"a case that is {case.get_status_display().lower()} cannot become {Status(status).label}")
    now = now or timezone.now()
    with transaction.atomic():
        changes = ["status", "updated_at"]
        previous, case.status = case.status, status
        if status == Status.WAITING and case.first_contact_at is None:
            case.first_contact_at = now
            changes.append("first_contact_at")
        if previous in (Status.RESOLVED, Status.NO_CONTACT):
            case.resolved_at, case.resolution = None, ""
            changes += ["resolved_at", "resolution"]
        case.save(update_fields=changes)
        _log(case, by, "status", via=via, old=previous, new=status)
    return case


def resolve(
    case: FollowUp,
    *,
    resolution: str,
    by: User | None,
    via: str = "",
    goodwill: str = "",
    goodwill_note: str = "",
    now: datetime | None = None,
) -> FollowUp:
    """Close the case with what was done, and any goodwill given (coupon, refund, replacement).

    A resolved case gets the shop's recovery survey, if it has one, some days later."""
    if resolution not in FollowUp.Resolution.values:
        raise CaseError(f"{resolution!r} is not a resolution")
    if goodwill not in FollowUp.Goodwill.values:
        raise CaseError(f"{goodwill!r} is not a goodwill action")
    if case.is_closed:
        raise CaseError("the case is already closed; reopen it first")
    now = now or timezone.now()
    status = Status.NO_CONTACT if resolution == FollowUp.Resolution.UNREACHABLE else Status.RESOLVED
    with transaction.atomic():
        previous = case.status
        case.status, case.resolution, case.resolved_at = status, resolution, now
        case.goodwill, case.goodwill_note = goodwill, goodwill_note.strip()[:300]
        case.save(update_fields=["status", "resolution", "resolved_at", "goodwill", "goodwill_note", "updated_at"])
        _log(case, by, "resolved", via=via, old=previous, new=status, resolution=resolution, goodwill=goodwill)
        schedule_recovery_survey(case, now=now)
    return case


def add_note(case: FollowUp, text: str, *, by: User | None, via: str = "", kind: str = CaseNote.Kind.NOTE) -> CaseNote:
    text = text.strip()
    if not text:
        raise CaseError("a note needs some text")
    if len(text) > NOTE_MAX_LENGTH:
        raise CaseError(f"a note can be at most {NOTE_MAX_LENGTH} characters")
    with transaction.atomic():
        note = CaseNote.objects.create(follow_up=case, author=by, kind=kind, text=text)
        _log(case, by, "note" if kind == CaseNote.Kind.NOTE else kind, via=via, note=note.pk)
    return note


def reply(case: FollowUp, text: str, *, by: User, now: datetime | None = None) -> CaseNote:
    """Email the customer from the case; their reply goes to the agent, and the reply is logged."""
    customer = case.response.customer
    if not customer.email:
        raise CaseError("the customer left no email address; call them and add a note instead")
    now = now or timezone.now()
    shop = case.shop
    agent_email = getattr(by, "email", "")
    message = mail.message(
        EmailMessage,
        f"{shop.display_name}: about your order #{case.response.invitation.order.display_number}",
        text.strip(),
        to=[customer.email],
        # The customer's answer reaches the agent, else the shop's support mailbox.
        reply_to=[address] if (address := agent_email or shop.support_email) else None,
    )
    first_contact = case.first_contact_at is None
    try:
        with transaction.atomic():
            note = add_note(case, text, by=by, kind=CaseNote.Kind.REPLY)
            if first_contact:
                case.first_contact_at = now
                case.save(update_fields=["first_contact_at", "updated_at"])
            # Sent inside the transaction: if the mail server refuses, the note is not kept either.
            message.send()
    except BaseException:
        # Nor is the contact on the case in hand: the rollback undid the row, not the object,
        # and the page shown next (the form again, with the error) reads the object.
        if first_contact:
            case.first_contact_at = None
        raise
    return note


def _log(case: FollowUp, actor: User | None, action: str, *, via: str = "", **detail: Any) -> None:
    if via:
        detail["via"] = via
    CaseEvent.objects.create(follow_up=case, actor=actor, action=action, detail=detail)
