"""The work list's queue: its filters (read by a form, applied by feedback.casework.filters),
the cases in the order asked for, and each row as the page shows it (due, lead score, comment)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.http import HttpRequest, QueryDict

from config import searches
from feedback.accounts.staff import display_name
from feedback.casework import filters as case_filters
from feedback.casework.cases import cases_of, overdue_now
from feedback.casework.filters import CaseFilter
from feedback.models import Answer, FollowUp
from sentiment.themes import BUILT_IN as BUILT_IN_THEMES
from surveys.models import Language, Membership, Shop

Status = FollowUp.Status
Priority = FollowUp.Priority

# The queue's narrow column says the same in fewer words; the case page has the full labels.
SHORT_REASONS: dict[str, str] = {
    FollowUp.Reason.DETRACTOR: "Detractor",
    FollowUp.Reason.LOW_CSAT: "Low CSAT",
    FollowUp.Reason.KEYWORD: "Warning word",
    FollowUp.Reason.REPEAT_LOW: "Second low score",
}

PAGE_SIZE = 50
ACTIVE = [Status.OPEN, Status.IN_PROGRESS, Status.WAITING]
CLOSED = [Status.RESOLVED, Status.NO_CONTACT]
# The owner filter's and the assign forms' word for no one.
NOBODY = "none"
# The queue's orders: the link's words, and how the table's caption says it.
SORTS = {
    "priority": ("Priority", "most urgent first"),
    "due": ("Due", "soonest due first"),
    "newest": ("Newest", "newest first"),
    "value": ("Customer value", "most valuable customer first"),
}


# --- The queue: filters, query and rows ------------------------------------------------


class QueueFilters(forms.Form):
    """The queue's GET parameters; a value that does not validate falls back to its default."""

    STATUS_CHOICES = [("active", "Not closed"), *Status.choices, ("all", "All")]

    q = forms.CharField(required=False, max_length=100, label="Search")
    status = forms.ChoiceField(required=False, choices=STATUS_CHOICES)
    priority = forms.TypedChoiceField(
        required=False, choices=[("", "Any priority"), *Priority.choices], coerce=int, empty_value=None
    )
    owner = forms.ChoiceField(required=False)
    overdue = forms.BooleanField(required=False, label="Overdue only")
    reason = forms.ChoiceField(required=False, choices=[("", "Any reason"), *FollowUp.Reason.choices])
    language = forms.ChoiceField(required=False, choices=[("", "Any language"), *Language.choices])
    theme = forms.ChoiceField(
        required=False, choices=[("", "Any theme")] + [(name, name.replace("_", " ")) for name in BUILT_IN_THEMES]
    )
    product = forms.CharField(required=False, max_length=100, label="Product (SKU or name)")
    shop = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    sort = forms.ChoiceField(required=False, choices=[(value, label) for value, (label, _) in SORTS.items()])

    def __init__(self, data: QueryDict, *, shops: list[Shop], colleagues: list[User]) -> None:
        super().__init__(data)
        owner_choices = [("", "Anyone"), ("me", "Me"), (NOBODY, "Nobody")]
        owner_field = self.fields["owner"]
        assert isinstance(owner_field, forms.ChoiceField)
        owner_field.choices = owner_choices + [(str(user.pk), display_name(user)) for user in colleagues]
        shop_field = self.fields["shop"]
        assert isinstance(shop_field, forms.ChoiceField)
        shop_field.choices = [("", "All shops")] + [(shop.pk, shop.display_name) for shop in shops]

    def values(self) -> dict[str, Any]:
        self.is_valid()
        defaults = {"status": "active", "sort": "priority"}
        return {name: self.cleaned_data.get(name) or defaults.get(name) for name in self.fields}


def criteria_of(filters: dict[str, Any], *, user: User) -> CaseFilter:
    """The queue form's values as the filter the API and the exports share."""
    status = filters.get("status") or "active"
    owner = filters.get("owner") or ""
    return CaseFilter(
        statuses=tuple(ACTIVE) if status == "active" else () if status == "all" else (status,),
        priority=filters.get("priority"),
        assignee_id=user.pk if owner == "me" else int(owner) if owner.isdigit() else None,
        unassigned=owner == NOBODY,
        overdue=True if filters.get("overdue") else None,
        reason=filters.get("reason") or "",
        theme=filters.get("theme") or "",
        language=filters.get("language") or "",
        product=filters.get("product") or "",
        shop_id=filters.get("shop"),
        q=filters.get("q") or "",
    )


def queue(user: User, filters: dict[str, Any], *, now: datetime) -> QuerySet[FollowUp]:
    """The user's cases that pass the filters, in the order asked for, with what a row shows."""
    found = case_filters.apply(cases_of(user), criteria_of(filters, user=user), now=now)
    due = F("due_at").asc(nulls_last=True)
    orders: dict[str, list[Any]] = {
        "priority": ["priority", due, "created_at", "pk"],
        "due": [due, "priority", "pk"],
        "newest": ["-created_at", "-pk"],
        "value": ["-customer_spend", "priority", due, "pk"],
    }
    return (
        found.order_by(*orders[filters.get("sort") or "priority"])
        .select_related("shop", "assignee", "response__customer", "response__invitation__order")
        .prefetch_related(answers_prefetch())
    )


def queue_summary(user: User, *, now: datetime) -> dict[str, int]:
    """How much work there is, in one query: the numbers above the queue."""
    active = Q(status__in=ACTIVE)
    return cases_of(user).aggregate(
        active=Count("pk", filter=active),
        overdue=Count("pk", filter=overdue_now(now)),
        unassigned=Count("pk", filter=active & Q(assignee__isnull=True)),
        mine=Count("pk", filter=active & Q(assignee=user)),
    )


def answers_prefetch() -> Prefetch:
    return Prefetch(
        "response__answers",
        queryset=Answer.objects.select_related("question", "sentiment")
        .prefetch_related("themes")
        .order_by("question__position", "question__pk"),
    )


@dataclass(frozen=True)
class Due:
    text: str
    # overdue, soon (within the hour), later, met (contacted), closed or none
    state: str
    at: datetime | None


def due_of(case: FollowUp, *, now: datetime) -> Due:
    if case.is_closed:
        return Due("closed", "closed", case.resolved_at)
    if case.first_contact_at is not None:
        return Due("contacted", "met", case.first_contact_at)
    if case.due_at is None:
        return Due("no deadline", "none", None)
    if case.due_at < now:
        return Due(f"overdue {span(now - case.due_at)}", "overdue", case.due_at)
    left = case.due_at - now
    return Due(f"in {span(left)}", "soon" if left <= timedelta(hours=1) else "later", case.due_at)


def span(delta: timedelta) -> str:
    """A duration the way an agent says it: 25 min, 2 h, 3 d."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{max(minutes, 1)} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h"
    return f"{minutes // (24 * 60)} d"


@dataclass(frozen=True)
class Lead:
    """The answer that says how the customer felt: its score on its scale."""

    score: int
    highest: int
    mood: str


def lead_of(answers: Iterable[Answer]) -> Lead | None:
    for answer in answers:
        scale = answer.question.scale
        if scale is not None and answer.score is not None:
            return Lead(answer.score, scale[-1], answer.question.mood(answer.score))
    return None


def first_comment(answers: Iterable[Answer]) -> str:
    text = next((answer.text for answer in answers if answer.text.strip()), "")
    return text.strip().splitlines()[0] if text.strip() else ""


@dataclass(frozen=True)
class Row:
    case: FollowUp
    due: Due
    lead: Lead | None
    comment: str
    language: str
    reasons: list[str]


def rows_of(found: Iterable[FollowUp], *, now: datetime) -> list[Row]:
    rows = []
    for case in found:
        answers = list(case.response.answers.all())
        rows.append(
            Row(
                case=case,
                due=due_of(case, now=now),
                lead=lead_of(answers),
                comment=first_comment(answers),
                language=case.response.language,
                reasons=reason_labels(case.reasons, short=True),
            )
        )
    return rows


def reason_labels(codes: Iterable[str], *, short: bool = False) -> list[str]:
    labels: dict[str, str] = {
        **{code: str(label) for code, label in FollowUp.Reason.choices},
        **(SHORT_REASONS if short else {}),
    }
    return [str(labels.get(code, code)) for code in codes]


# --- The queue's views -----------------------------------------------------------------


class BulkAssignForm(forms.Form):
    cases = forms.ModelMultipleChoiceField(
        queryset=FollowUp.objects.none(), error_messages={"required": "Select the cases to assign first."}
    )
    to = forms.ChoiceField(label="Assign selected to", error_messages={"required": "Choose who gets the cases."})

    def __init__(self, data: QueryDict | None = None, *, user: User, colleagues: list[User]) -> None:
        super().__init__(data)
        self.colleagues = {colleague.pk: colleague for colleague in colleagues}
        cases_field = self.fields["cases"]
        assert isinstance(cases_field, forms.ModelMultipleChoiceField)
        cases_field.queryset = cases_of(user).select_related("shop")
        to_field = self.fields["to"]
        assert isinstance(to_field, forms.ChoiceField)
        to_field.choices = [("", "Choose…"), *assignee_choices(colleagues, me=user)]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        to = self.assignee()
        chosen = data.get("cases") or []
        if to is not None and chosen and not to.is_superuser:
            member_of = set(Membership.objects.filter(user=to).values_list("shop_id", flat=True))
            strangers = sorted({case.shop.display_name for case in chosen if case.shop_id not in member_of})
            if strangers:
                raise forms.ValidationError(f"{display_name(to)} does not work for {', '.join(strangers)}.")
        return data

    def assignee(self) -> User | None:
        return chosen_user(self.cleaned_data.get("to"), self.colleagues)


def assignee_choices(colleagues: list[User], *, me: User) -> list[tuple[str, str]]:
    others = [(str(user.pk), display_name(user)) for user in colleagues if user.pk != me.pk]
    return [(str(me.pk), f"Me ({display_name(me)})"), *others, (NOBODY, "Nobody")]


def chosen_user(value: str | None, colleagues: dict[int, User]) -> User | None:
    return colleagues.get(int(value)) if value and value.isdigit() else None


def with_search_text(request: HttpRequest, params: QueryDict) -> tuple[QueryDict, bool]:
    """The filters with the search text the URL's key stands for; and whether the key was unknown."""
    filters = params.copy()
    filters.pop("q", None)  # only ever from the session
    key = filters.pop("search", [""])[-1]
    if not key:
        return filters, False
    text = searches.recall(request.session, key)
    if text is None:
        return filters, True
    filters["q"] = text
    return filters, False
