"""The support work list over the API: cases, their notes, and the CSV exports.

The shop is the API key's (`request.auth`); another shop's case is a 404. Every change goes
through feedback.casework.cases, so the audit trail is the same as for the work list. An API key is
not a person: its changes are recorded with no actor.
"""

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F, Prefetch, Q, QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from ninja import Query, Router, Status
from ninja.errors import ValidationError as NinjaValidationError

from feedback.casework import cases
from feedback.casework import filters as case_filters
from feedback.casework.filters import EVERY_CASE, CaseFilter
from feedback.casework.schemas import CaseDetailOut, CasePage, CasePatchIn, CaseQuery, NoteIn, NoteOut
from feedback.insights import exports
from feedback.insights.export_views import csv_download, export_filename
from feedback.insights.schemas import PeriodQuery
from feedback.models import CaseEvent, CaseNote, FollowUp
from sentiment.models import AnswerTheme
from surveys.errors import NotFound
from surveys.models import Membership, Shop
from surveys.requests import ShopRequest

router = Router(tags=["cases"])

PRIORITIES: dict[str, int] = {"urgent": 1, "high": 2, "normal": 3, "low": 4}
WORDS = {number: word for word, number in PRIORITIES.items()}
# The assignee filter's word for unassigned cases.
NOBODY = "none"
_DUE = F("due_at").asc(nulls_last=True)


# --- Cases -----------------------------------------------------------------------------------


@router.get("/cases", response=CasePage)
def list_cases(request: ShopRequest, query: Query[CaseQuery]) -> dict[str, Any]:
    """The shop's cases, most urgent first, then soonest due (no due time last), then by id.
    Paged by cursor: a case flagged while you page through appears at its place in the order,
    and no case is listed twice or skipped (unless its priority or due time changes meanwhile)."""
    shop, now = request.auth, timezone.now()
    found = case_filters.apply(_cases_of(shop), _criteria(query), now=now)
    if query.cursor:
        found = found.filter(_after(_decode(query.cursor)))
    page = list(found.order_by("priority", _DUE, "pk")[: query.limit + 1])
    more = len(page) > query.limit
    items = page[: query.limit]
    return {
        "items": [_case_out(case, now=now) for case in items],
        "next_cursor": _encode(items[-1]) if more else None,
    }


@router.get("/cases/{case_id}", response=CaseDetailOut)
def get_case(request: ShopRequest, case_id: int) -> dict[str, Any]:
    """The case with every answer of the response, its notes and its audit trail."""
    return _case_detail(_full_case(request.auth, case_id), now=timezone.now())


@router.patch("/cases/{case_id}", response=CaseDetailOut)
def update_case(request: ShopRequest, case_id: int, payload: CasePatchIn) -> dict[str, Any]:
    """Move, close or (re)assign the case, in that order and all or nothing. Each change is in the
    case's events with no actor. To assign an open case, move it to in_progress in the same call."""
    shop = request.auth
    with transaction.atomic():
        case = _case_or_404(shop, case_id, lock=True)
        if payload.status is not None and payload.resolution is None and payload.status != case.status:
            cases.move(case, payload.status, by=None, via=_via(request))
        if payload.resolution is not None:
            cases.resolve(
                case,
                resolution=payload.resolution,
                goodwill=payload.goodwill or "",
                goodwill_note=payload.goodwill_note or "",
                by=None,
                via=_via(request),
            )
        if "assignee" in payload.model_fields_set:
            to = _staff_of(shop, payload.assignee) if payload.assignee is not None else None
            cases.assign([case], to=to, by=None, via=_via(request))
    return _case_detail(_full_case(shop, case_id), now=timezone.now())


def _via(request: ShopRequest) -> str:
    """Who did it, for the audit trail: API keys have no user, so the key's name."""
    return f"API key {request.api_key_name}"


@router.get("/cases/{case_id}/notes", response=list[NoteOut])
def list_notes(request: ShopRequest, case_id: int) -> list[dict[str, Any]]:
    case = _case_or_404(request.auth, case_id)
    return [_note_out(note) for note in case.notes.select_related("author")]


@router.post("/cases/{case_id}/notes", response={201: NoteOut})
def add_note(request: ShopRequest, case_id: int, payload: NoteIn) -> Status:
    """An internal note on the case; only the shop's team sees it."""
    case = _case_or_404(request.auth, case_id)
    return Status(201, _note_out(cases.add_note(case, payload.text, by=None, via=_via(request))))


# --- Exports ---------------------------------------------------------------------------------

_CSV = {
    200: {"description": "UTF-8 CSV with a byte-order mark.", "content": {"text/csv": {"schema": {"type": "string"}}}}
}


@router.get("/exports/responses.csv", tags=["exports"], openapi_extra={"responses": _CSV})
def export_responses(request: ShopRequest, period: Query[PeriodQuery]) -> StreamingHttpResponse:
    """One row per response submitted from `since` to `until` (whole days in the shop's time zone;
    either may be left out), every answer in its question's column, with sentiment, themes and case."""
    shop = request.auth
    found = exports.responses_for_export(shop, since=period.since, until=period.until)
    return csv_download(exports.response_rows(shop, found), filename=export_filename("responses", shop, period))


@router.get("/exports/cases.csv", tags=["exports"], openapi_extra={"responses": _CSV})
def export_cases(request: ShopRequest, period: Query[PeriodQuery]) -> StreamingHttpResponse:
    """One row per case flagged from `since` to `until`, with its notes and tags."""
    shop = request.auth
    now = timezone.now()
    criteria = exports.within_period(EVERY_CASE, shop, since=period.since, until=period.until)
    found = exports.cases_for_export(shop, criteria, now=now)
    rows = exports.case_rows(shop, found, now=now)
    return csv_download(rows, filename=export_filename("cases", shop, period))


# --- Helpers ---------------------------------------------------------------------------------


def _cases_of(shop: Shop) -> QuerySet[FollowUp]:
    return (
        FollowUp.objects.filter(shop=shop)
        .select_related("assignee", "response__customer", "response__invitation__order")
        .prefetch_related(exports.answers_prefetch("response__answers"))
    )


def _case_or_404(shop: Shop, case_id: int, *, lock: bool = False) -> FollowUp:
    found = FollowUp.objects.filter(shop=shop)
    case = (found.select_for_update() if lock else found).filter(pk=case_id).first()
    if case is None:
        raise NotFound("no such case")
    return case


def _full_case(shop: Shop, case_id: int) -> FollowUp:
    """The case with everything its page in the API shows, in a fixed number of queries."""
    found = _cases_of(shop).prefetch_related(
        Prefetch("notes", queryset=CaseNote.objects.select_related("author")),
        Prefetch("events", queryset=CaseEvent.objects.select_related("actor")),
    )
    case = found.filter(pk=case_id).first()
    if case is None:
        raise NotFound("no such case")
    return case


def _criteria(query: CaseQuery) -> CaseFilter:
    """The query's filters as the one the work list and the exports share."""
    return CaseFilter(
        statuses=tuple(query.status),
        priority=PRIORITIES[query.priority] if query.priority else None,
        assignee_username=query.assignee if query.assignee and query.assignee != NOBODY else "",
        unassigned=query.assignee == NOBODY,
        overdue=query.overdue,
        reason=query.reason.value if query.reason else "",
        theme=query.theme or "",
        language=query.language or "",
        product=query.product or "",
        q=query.q or "",
    )


def _staff_of(shop: Shop, username: str) -> User:
    user = User.objects.filter(
        username=username, is_active=True, is_staff=True, pk__in=Membership.objects.filter(shop=shop).values("user")
    ).first()
    if user is None:
        raise NinjaValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ["body", "payload", "assignee"],
                    "msg": f"{username!r} is not on the shop's team",
                }
            ]
        )
    return user


# The cursor is the last item's place in the order: (priority, due_at, id), base64 JSON.
# Tampering with it only moves where the next page starts, within the shop's own cases.


def _encode(case: FollowUp) -> str:
    place = [case.priority, case.due_at.isoformat() if case.due_at else None, case.pk]
    return base64.urlsafe_b64encode(json.dumps(place).encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[int, datetime | None, int]:
    try:
        priority, due, pk = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        due_at = datetime.fromisoformat(due) if due is not None else None
        if due_at is not None and due_at.tzinfo is None:
            raise ValueError("a cursor's time has an offset")
        return int(priority), due_at, int(pk)
    except (ValueError, TypeError, binascii.Error):
        raise NinjaValidationError(
            [{"type": "value_error", "loc": ["query", "cursor"], "msg": "not a cursor this API gave out"}]
        ) from None


def _after(place: tuple[int, datetime | None, int]) -> Q:
    """Everything after `place` in the order priority, due_at (nulls last), id."""
    priority, due_at, pk = place
    if due_at is None:
        same_priority = Q(due_at__isnull=True, pk__gt=pk)
    else:
        same_priority = Q(due_at__gt=due_at) | Q(due_at__isnull=True) | Q(due_at=due_at, pk__gt=pk)
    return Q(priority__gt=priority) | (Q(priority=priority) & same_priority)


# --- Output ----------------------------------------------------------------------------------


def _case_out(case: FollowUp, *, now: datetime) -> dict[str, Any]:
    response = case.response
    answers = list(response.answers.all())
    lead = exports.lead_answer(answers)
    comment = exports.comment_answer(answers)
    return {
        "id": case.pk,
        "priority": WORDS.get(case.priority, "low"),
        "status": case.status,
        "reasons": case.reasons,
        "keywords": case.keywords,
        "due_at": case.due_at,
        "overdue": cases.is_overdue(case, now=now),
        "assignee": case.assignee.get_username() if case.assignee else None,
        "created_at": case.created_at,
        "first_contact_at": case.first_contact_at,
        "resolved_at": case.resolved_at,
        "resolution": case.resolution or None,
        "goodwill": case.goodwill or None,
        "goodwill_note": case.goodwill_note,
        "customer": {
            "name": response.customer.name,
            "email": response.customer.email,
            "phone": response.customer.phone,
            "orders": case.customer_orders,
            "spend": case.customer_spend,
            "rank": case.customer_rank,
        },
        "order": response.invitation.order.display_number,
        "lead": {"kind": lead.question.kind, "score": lead.score} if lead else None,
        "comment": exports.excerpt(comment.text) if comment else "",
        "themes": [_theme_out(theme) for theme in exports.themes_of(answers)],
    }


def _case_detail(case: FollowUp, *, now: datetime) -> dict[str, Any]:
    answers = []
    for answer in case.response.answers.all():
        sentiment = getattr(answer, "sentiment", None)
        answers.append(
            {
                "question": answer.question.text,
                "kind": answer.question.kind,
                "score": answer.score,
                "choices": answer.choices,
                "text": answer.text,
                "sentiment": {"label": sentiment.label, "polarity": sentiment.polarity} if sentiment else None,
                "themes": [_theme_out(theme) for theme in answer.themes.all()],
            }
        )
    return {
        **_case_out(case, now=now),
        "answers": answers,
        "notes": [_note_out(note) for note in case.notes.all()],
        "events": [
            {
                "action": event.action,
                "actor": event.actor.get_username() if event.actor else None,
                "detail": event.detail,
                "at": event.at,
            }
            for event in case.events.all()
        ],
    }


def _note_out(note: CaseNote) -> dict[str, Any]:
    author = note.author.get_username() if note.author else None
    return {"id": note.pk, "kind": note.kind, "author": author, "text": note.text, "created_at": note.created_at}


def _theme_out(theme: AnswerTheme) -> dict[str, Any]:
    return {"theme": theme.theme, "label": theme.label, "polarity": theme.polarity}
