"""One case, as its page shows it: the forms to work it (note, reply, status, owner, resolution),
the timeline of its audit trail, the customer's answers and their history with the shop."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.db.models import Count, Max, Prefetch, Sum

from feedback.accounts.staff import display_name
from feedback.casework import cases
from feedback.casework.cases import NOTE_MAX_LENGTH
from feedback.casework.queue import (
    Lead,
    Priority,
    Status,
    assignee_choices,
    chosen_user,
    first_comment,
    lead_of,
    reason_labels,
)
from feedback.models import Answer, CaseEvent, CaseNote, FollowUp, Response
from surveys.models import Language, Order

# --- One case: its forms -----------------------------------------------------------------


def _text_area(rows: int, placeholder: str) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, "placeholder": placeholder})


class NoteForm(forms.Form):
    text = forms.CharField(
        label="Internal note",
        max_length=NOTE_MAX_LENGTH,
        widget=_text_area(3, "What you found out or did; only the team sees it."),
    )


class ReplyForm(forms.Form):
    text = forms.CharField(
        label="Reply to the customer by email",
        max_length=NOTE_MAX_LENGTH,
        widget=_text_area(5, "Their answer comes back to your own email address."),
    )


class StatusForm(forms.Form):
    status = forms.ChoiceField(label="Move to")

    def __init__(self, *args: Any, case: FollowUp, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["status"]
        assert isinstance(field, forms.ChoiceField)
        labels = dict(Status.choices)
        field.choices = [(status, labels[status]) for status in cases.allowed_moves(case)]


class AssignForm(forms.Form):
    to = forms.ChoiceField(label="Assign to")

    def __init__(self, *args: Any, colleagues: list[User], me: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.colleagues = {user.pk: user for user in colleagues}
        field = self.fields["to"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = assignee_choices(colleagues, me=me)

    def assignee(self) -> User | None:
        return chosen_user(self.cleaned_data.get("to"), self.colleagues)


class ResolveForm(forms.Form):
    resolution = forms.ChoiceField(label="Outcome", choices=[("", "Choose…"), *FollowUp.Resolution.choices])
    goodwill = forms.ChoiceField(label="Goodwill", choices=FollowUp.Goodwill.choices, required=False)
    goodwill_note = forms.CharField(
        label="Goodwill details",
        max_length=300,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "Code or amount"}),
    )
    note = forms.CharField(
        label="Closing note (optional)", max_length=NOTE_MAX_LENGTH, required=False, widget=_text_area(2, "")
    )


# --- One case: the page -------------------------------------------------------------------


@dataclass(frozen=True)
class Moment:
    """One line of the timeline: a note, a reply, the customer's message or a change."""

    at: datetime
    kind: str  # note, reply, customer or event
    who: str
    what: str
    text: str = ""


def timeline_of(case: FollowUp) -> list[Moment]:
    notes = CaseNote.objects.filter(follow_up=case).select_related("author")
    # Notes, replies and customer messages are shown themselves, not as their events.
    events = CaseEvent.objects.filter(follow_up=case).exclude(action__in=CaseNote.Kind.values).select_related("actor")
    kinds = dict(CaseNote.Kind.choices)
    moments = [
        Moment(
            at=note.created_at,
            kind=note.kind,
            who=display_name(note.author) or ("Customer" if note.kind == CaseNote.Kind.CUSTOMER else "Bazgasht"),
            what=str(kinds[note.kind]),
            text=note.text,
        )
        for note in notes
    ]
    moments += [
        Moment(at=event.at, kind="event", who=display_name(event.actor) or "Bazgasht", what=describe(event))
        for event in events
    ]
    return sorted(moments, key=lambda moment: moment.at)


def describe(event: CaseEvent) -> str:
    """An audit event in words."""
    detail: dict[str, Any] = event.detail or {}
    statuses: dict[Any, str] = {value: str(label) for value, label in Status.choices}
    priorities: dict[Any, str] = {value: str(label) for value, label in Priority.choices}
    if event.action == "flagged":
        reasons = ", ".join(reason_labels(detail.get("reasons", [])))
        return f"Flagged ({priorities.get(detail.get('priority'), '?')}): {reasons}"
    if event.action == "reflagged":
        added = ", ".join(reason_labels(detail.get("added", [])))
        return f"Flagged again{': ' + added if added else ''} (now {priorities.get(detail.get('priority'), '?')})"
    if event.action == "assigned":
        return f"Assigned to {detail['to']}" if detail.get("to") else "Unassigned"
    if event.action == "status":
        return f"Status {statuses.get(detail.get('old'), '?')} → {statuses.get(detail.get('new'), '?')}"
    if event.action == "resolved":
        outcome = dict(FollowUp.Resolution.choices).get(detail.get("resolution", ""), "")
        goodwill = dict(FollowUp.Goodwill.choices).get(detail.get("goodwill", ""), "")
        return f"Closed: {outcome}" + (f", goodwill: {goodwill.lower()}" if detail.get("goodwill") else "")
    return event.action.replace("_", " ").capitalize()


@dataclass(frozen=True)
class AnswerView:
    question: str
    kind: str
    score: int | None
    highest: int | None
    mood: str
    choices: list[str]
    text: str
    sentiment_label: str
    polarity: float | None
    # What the comment is about, each with how it feels about it: ("delivery", "negative").
    themes: list[tuple[str, str]]


def answers_of(response: Response) -> list[AnswerView]:
    views = []
    for answer in response.answers.all():
        question = answer.question
        scale = question.scale
        labels = dict(question.option_labels(Language.ENGLISH)) if question.options else {}
        sentiment = getattr(answer, "sentiment", None) if answer.text else None
        views.append(
            AnswerView(
                question=question.text,
                kind=question.get_kind_display(),
                score=answer.score,
                highest=scale[-1] if scale is not None else None,
                mood=question.mood(answer.score) if scale is not None and answer.score is not None else "",
                choices=[labels.get(value, value) for value in answer.choices],
                text=answer.text,
                sentiment_label=sentiment.get_label_display() if sentiment is not None else "",
                polarity=sentiment.polarity if sentiment is not None else None,
                themes=[(theme.theme.replace("_", " "), theme.label) for theme in answer.themes.all()],
            )
        )
    return views


@dataclass(frozen=True)
class Earlier:
    response: Response
    lead: Lead | None
    comment: str
    case_id: int | None


def customer_history(case: FollowUp) -> dict[str, Any]:
    """The customer's orders at the shop and the surveys they answered before this one."""
    response = case.response
    orders = Order.objects.filter(shop_id=case.shop_id, customer_id=response.customer_id)
    totals = orders.counted().aggregate(count=Count("pk"), spend=Sum("total"), currency=Max("currency"))
    earlier = (
        Response.objects.filter(shop_id=case.shop_id, customer_id=response.customer_id)
        .exclude(pk=response.pk)
        .select_related("invitation__order", "follow_up")
        .prefetch_related(
            Prefetch(
                "answers",
                queryset=Answer.objects.select_related("question").order_by("question__position", "question__pk"),
            )
        )
        .order_by("-submitted_at")[:10]
    )
    return {
        "orders": list(orders.order_by("-placed_at")[:10]),
        "order_count": totals["count"],
        "spend": totals["spend"] or Decimal(0),
        "currency": totals["currency"] or "",
        "earlier": [
            Earlier(
                response=previous,
                lead=lead_of(previous.answers.all()),
                comment=first_comment(previous.answers.all()),
                case_id=getattr(getattr(previous, "follow_up", None), "pk", None),
            )
            for previous in earlier
        ],
    }
