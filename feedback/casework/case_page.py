"""One case, as its page shows it: the forms to work it (note, reply, status, owner, resolution),
the timeline of its audit trail, the customer's answers and their history with the shop."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.db.models import Count, Max, Prefetch, Sum
from django.utils.functional import Promise
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from feedback.accounts.staff import display_name
from feedback.casework import cases
from feedback.casework.cases import NOTE_MAX_LENGTH
from feedback.casework.queue import (
    LANGUAGE_LABELS,
    SENTIMENT_LABELS,
    Lead,
    Priority,
    Status,
    assignee_choices,
    chosen_user,
    first_comment,
    lead_of,
    reason_labels,
    theme_label,
)
from feedback.models import Answer, CaseEvent, CaseNote, FollowUp, Response
from surveys.models import Language, Order, OrderLine

# --- One case: its forms -----------------------------------------------------------------


def _text_area(rows: int, placeholder: str | Promise) -> forms.Textarea:
    # dir="auto": a reply typed in Persian reads right to left, one in English left to right.
    return forms.Textarea(attrs={"rows": rows, "placeholder": placeholder, "dir": "auto"})


class NoteForm(forms.Form):
    text = forms.CharField(
        label=gettext_lazy("Internal note"),
        max_length=NOTE_MAX_LENGTH,
        widget=_text_area(3, gettext_lazy("What you found out or did; only the team sees it.")),
    )


class ReplyForm(forms.Form):
    text = forms.CharField(
        label=gettext_lazy("Reply to the customer by email"),
        max_length=NOTE_MAX_LENGTH,
        widget=_text_area(5, gettext_lazy("Their answer comes back to your own email address.")),
    )


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=gettext_lazy("Move to"))

    def __init__(self, *args: Any, case: FollowUp, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["status"]
        assert isinstance(field, forms.ChoiceField)
        labels = dict(Status.choices)
        field.choices = [(status, labels[status]) for status in cases.allowed_moves(case)]


class AssignForm(forms.Form):
    to = forms.ChoiceField(label=gettext_lazy("Assign to"))

    def __init__(self, *args: Any, colleagues: list[User], me: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.colleagues = {user.pk: user for user in colleagues}
        field = self.fields["to"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = assignee_choices(colleagues, me=me)

    def assignee(self) -> User | None:
        return chosen_user(self.cleaned_data.get("to"), self.colleagues)


class ResolveForm(forms.Form):
    resolution = forms.ChoiceField(
        label=gettext_lazy("Outcome"), choices=[("", gettext_lazy("Choose…")), *FollowUp.Resolution.choices]
    )
    goodwill = forms.ChoiceField(label=gettext_lazy("Goodwill"), choices=FollowUp.Goodwill.choices, required=False)
    goodwill_note = forms.CharField(
        label=gettext_lazy("Goodwill details"),
        max_length=300,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("Code or amount"), "dir": "auto"}),
    )
    note = forms.CharField(
        label=gettext_lazy("Closing note (optional)"),
        max_length=NOTE_MAX_LENGTH,
        required=False,
        widget=_text_area(2, ""),
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
    kinds: dict[str, str] = {
        CaseNote.Kind.NOTE: _("internal note"),
        CaseNote.Kind.REPLY: _("reply to the customer"),
        CaseNote.Kind.CUSTOMER: _("message from the customer"),
    }
    moments = [
        Moment(
            at=note.created_at,
            kind=note.kind,
            who=display_name(note.author) or (_("Customer") if note.kind == CaseNote.Kind.CUSTOMER else _("Bazgasht")),
            what=str(kinds.get(note.kind, note.kind)),
            text=note.text,
        )
        for note in notes
    ]
    moments += [
        Moment(at=event.at, kind="event", who=display_name(event.actor) or _("Bazgasht"), what=describe(event))
        for event in events
    ]
    return sorted(moments, key=lambda moment: moment.at)


def describe(event: CaseEvent) -> str:
    """An audit event in words."""
    detail: dict[str, Any] = event.detail or {}
    statuses: dict[Any, str] = {value: str(label) for value, label in Status.choices}
    priorities: dict[Any, str] = {value: str(label) for value, label in Priority.choices}
    comma = "، " if get_language() == Language.PERSIAN else ", "
    priority = priorities.get(detail.get("priority"), "?")
    if event.action == "flagged":
        reasons = comma.join(reason_labels(detail.get("reasons", [])))
        return _("Flagged (%(priority)s): %(reasons)s") % {"priority": priority, "reasons": reasons}
    if event.action == "reflagged":
        added = comma.join(reason_labels(detail.get("added", [])))
        if added:
            return _("Flagged again: %(reasons)s (now %(priority)s)") % {"reasons": added, "priority": priority}
        return _("Flagged again (now %(priority)s)") % {"priority": priority}
    if event.action == "assigned":
        return _("Assigned to %(name)s") % {"name": detail["to"]} if detail.get("to") else _("Unassigned")
    if event.action == "status":
        old, new = statuses.get(detail.get("old"), "?"), statuses.get(detail.get("new"), "?")
        return _("Status %(old)s → %(new)s") % {"old": old, "new": new}
    if event.action == "resolved":
        outcome = str(dict(FollowUp.Resolution.choices).get(detail.get("resolution", ""), ""))
        goodwill = str(dict(FollowUp.Goodwill.choices).get(detail.get("goodwill", ""), ""))
        if detail.get("goodwill"):
            return _("Closed: %(outcome)s, goodwill: %(goodwill)s") % {"outcome": outcome, "goodwill": goodwill.lower()}
        return _("Closed: %(outcome)s") % {"outcome": outcome}
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
        language = get_language() or Language.ENGLISH
        labels = dict(question.option_labels(language)) if question.options else {}
        sentiment = getattr(answer, "sentiment", None) if answer.text else None
        views.append(
            AnswerView(
                question=question.text_in(language),
                kind=question.get_kind_display(),
                score=answer.score,
                highest=scale[-1] if scale is not None else None,
                mood=question.mood(answer.score) if scale is not None and answer.score is not None else "",
                choices=[labels.get(value, value) for value in answer.choices],
                text=answer.text,
                sentiment_label=str(SENTIMENT_LABELS.get(sentiment.label, sentiment.label)).capitalize()
                if sentiment is not None
                else "",
                polarity=sentiment.polarity if sentiment is not None else None,
                themes=[
                    (theme_label(theme.theme), str(SENTIMENT_LABELS.get(theme.label, theme.label)))
                    for theme in answer.themes.all()
                ],
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
        "customer_language": str(LANGUAGE_LABELS.get(response.customer.language, response.customer.language)),
        "response_language": str(LANGUAGE_LABELS.get(response.language, response.language)),
        # What they bought in the order the survey asked about.
        "lines": list(OrderLine.objects.filter(order_id=response.invitation.order_id).order_by("pk")),
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
