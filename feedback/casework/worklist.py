"""The support team's work list: the queue of cases, and one case with everything to work it.

Server-rendered pages that work without JavaScript (static/js/work.js adds the keyboard).
The views only translate between HTTP and feedback.casework.cases: every change goes through it, so
the audit trail is complete, and a change it refuses comes back as a 409 page with the
form as it was sent. A form that does not validate comes back as 422.
"""

import smtplib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Page, Paginator
from django.db import transaction
from django.db.models import Count, F, Max, Prefetch, Q, QuerySet, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from config import searches
from feedback.casework import cases
from feedback.casework import filters as case_filters
from feedback.casework.cases import NOTE_MAX_LENGTH, CaseError, cases_of, overdue_now
from feedback.casework.filters import CaseFilter
from feedback.casework.recovery import came_back
from feedback.models import Answer, CaseEvent, CaseNote, FollowUp, Response
from sentiment.themes import BUILT_IN as BUILT_IN_THEMES
from surveys.models import Language, Membership, Order, Shop
from surveys.queries import shops_of

Status = FollowUp.Status
Priority = FollowUp.Priority
PAGE_SIZE = 50
ACTIVE = [Status.OPEN, Status.IN_PROGRESS, Status.WAITING]
CLOSED = [Status.RESOLVED, Status.NO_CONTACT]
# The owner filter's and the assign forms' word for no one.
NOBODY = "none"
View = Callable[..., HttpResponse]
# The queue's orders: the link's words, and how the table's caption says it.
SORTS = {
    "priority": ("Priority", "most urgent first"),
    "due": ("Due", "soonest due first"),
    "newest": ("Newest", "newest first"),
    "value": ("Customer value", "most valuable customer first"),
}


# --- Access --------------------------------------------------------------------------


def staff_required(view: View) -> View:
    """Anonymous visitors go to the login page; signed-in users who are not staff get a 403."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), login_url=reverse("login"))
        if not request.user.is_staff:
            return render(request, "work/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return guarded


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # staff_required let only signed-in users through
    return request.user


def colleagues_in(shops: Iterable[Shop] | QuerySet[Shop], *, me: User) -> list[User]:
    """Who cases of these shops may go to: their staff, and the user asking (a superuser may be in none)."""
    users = User.objects.filter(Q(is_active=True, is_staff=True, memberships__shop__in=shops) | Q(pk=me.pk))
    return list(users.distinct().order_by("first_name", "last_name", "username"))


def display_name(user: User | None) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


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
        .prefetch_related(_answers_prefetch())
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


def _answers_prefetch() -> Prefetch:
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


# The queue's narrow column says the same in fewer words; the case page has the full labels.
SHORT_REASONS: dict[str, str] = {
    FollowUp.Reason.DETRACTOR: "Detractor",
    FollowUp.Reason.LOW_CSAT: "Low CSAT",
    FollowUp.Reason.KEYWORD: "Warning word",
    FollowUp.Reason.REPEAT_LOW: "Second low score",
}


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
        to_field.choices = [("", "Choose…"), *_assignee_choices(colleagues, me=user)]

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
        return _chosen_user(self.cleaned_data.get("to"), self.colleagues)


def _assignee_choices(colleagues: list[User], *, me: User) -> list[tuple[str, str]]:
    others = [(str(user.pk), display_name(user)) for user in colleagues if user.pk != me.pk]
    return [(str(me.pk), f"Me ({display_name(me)})"), *others, (NOBODY, "Nobody")]


def _chosen_user(value: str | None, colleagues: dict[int, User]) -> User | None:
    return colleagues.get(int(value)) if value and value.isdigit() else None


@require_GET
@staff_required
def queue_page(request: HttpRequest) -> HttpResponse:
    return _queue_page(request, request.GET)


# What an agent searches for is personal data, kept out of URLs (`config.searches`): the filter
# form is POSTed here, the URL carries a key to the words, the other filters as they are.
@require_POST
@staff_required
def search_cases(request: HttpRequest) -> HttpResponseRedirect:
    params = request.POST.copy()
    for name in ("csrfmiddlewaretoken", "search", "page"):
        params.pop(name, None)
    text = params.pop("q", [""])[-1].strip()[:100]
    if text:
        params["search"] = searches.remember(request.session, text)
    query = params.urlencode()
    return HttpResponseRedirect(reverse("worklist") + (f"?{query}" if query else ""))


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


def _queue_page(
    request: HttpRequest,
    params: QueryDict,
    *,
    bulk: BulkAssignForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    user, now = _user(request), timezone.now()
    shops = list(shops_of(user).order_by("name"))
    colleagues = colleagues_in(shops, me=user)
    with_search, search_forgotten = with_search_text(request, params)
    params = params.copy()
    params.pop("q", None)  # links and `back` carry the search's key, never its text
    filters_form = QueueFilters(with_search, shops=shops, colleagues=colleagues)
    filters = filters_form.values()
    paginator = Paginator(queue(user, filters, now=now), PAGE_SIZE)
    page: Page = paginator.get_page(params.get("page"))
    if bulk is None:
        bulk = BulkAssignForm(user=user, colleagues=colleagues)
    selected = set(request.POST.getlist("cases")) if bulk.is_bound else set()
    context = {
        "filters": filters_form,
        "values": filters,
        "filtered": any(
            filters.get(name)
            for name in ("q", "priority", "owner", "overdue", "reason", "language", "theme", "product")
        )
        or filters["status"] != "active"
        or bool(filters.get("shop")),
        "params": params,
        "sorts": [(value, label) for value, (label, _) in SORTS.items()],
        "sort_label": SORTS[filters["sort"]][1],
        # Where a claim or an assignment returns to: this page of the queue, filters and all.
        "back": params.urlencode(),
        "page": page,
        "rows": rows_of(page.object_list, now=now),
        "summary": queue_summary(user, now=now),
        "several_shops": len(shops) > 1,
        "shops": shops,
        "bulk": bulk,
        "selected": selected,
        "error": error or ("That search belongs to another session; search again." if search_forgotten else ""),
    }
    return render(request, "work/queue.html", context, status=status)


@require_POST
@staff_required
def claim_case(request: HttpRequest, case_id: int) -> HttpResponse:
    """Take a case. From the queue, someone else's case is not taken over: two agents a click apart
    would take it from each other. On the case page "Take over" is a deliberate choice."""
    user = _user(request)
    from_queue = "back" in request.POST
    with transaction.atomic():
        case = get_object_or_404(cases_of(user).select_for_update(), pk=case_id)
        owner = case.assignee
        if from_queue and owner is not None and owner.pk != user.pk:
            error = f"{display_name(owner)} took case #{case.pk} first; open it to take it over."
            return _queue_page(request, _params(request.POST["back"]), error=error, status=409)
        cases.claim(case, by=user)
    messages.success(request, f"Case #{case.pk} is yours.")
    if from_queue:
        return _back_to_queue(request.POST["back"], anchor=f"case-{case.pk}")
    return redirect("case", case_id=case.pk)


@require_POST
@staff_required
def assign_cases(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    back = request.POST.get("back", "")
    colleagues = colleagues_in(shops_of(user), me=user)
    form = BulkAssignForm(request.POST, user=user, colleagues=colleagues)
    if not form.is_valid():
        error = " ".join(str(message) for field_errors in form.errors.values() for message in field_errors)
        return _queue_page(request, _params(back), bulk=form, error=error, status=422)
    chosen = list(form.cleaned_data["cases"])
    to = form.assignee()
    cases.assign(chosen, to=to, by=user)
    count = f"{len(chosen)} case{'s' if len(chosen) != 1 else ''}"
    messages.success(request, f"{count} assigned to {display_name(to)}." if to else f"{count} unassigned.")
    return _back_to_queue(back)


def _params(back: str) -> QueryDict:
    return QueryDict(back[:2000])


def _back_to_queue(back: str, *, anchor: str = "") -> HttpResponseRedirect:
    # Rebuilt from the parsed parameters, so `back` can only ever lead to the queue.
    query = _params(back).urlencode()
    return HttpResponseRedirect(reverse("worklist") + (f"?{query}" if query else "") + (f"#{anchor}" if anchor else ""))


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
        field.choices = _assignee_choices(colleagues, me=me)

    def assignee(self) -> User | None:
        return _chosen_user(self.cleaned_data.get("to"), self.colleagues)


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


def _case_of(user: User, case_id: int) -> FollowUp:
    found = cases_of(user).select_related(
        "shop", "assignee", "response__customer", "response__survey", "response__invitation__order"
    )
    return get_object_or_404(found.prefetch_related(_answers_prefetch()), pk=case_id)


@require_GET
@staff_required
def case_page(request: HttpRequest, case_id: int) -> HttpResponse:
    return _case_page(request, _case_of(_user(request), case_id))


def _case_page(
    request: HttpRequest,
    case: FollowUp,
    *,
    bound: dict[str, forms.Form] | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    user, now = _user(request), timezone.now()
    colleagues = colleagues_in([case.shop], me=user)
    bound = bound or {}
    response = case.response
    context = {
        "case": case,
        "shop": case.shop,
        "customer": response.customer,
        "order": response.invitation.order,
        "response": response,
        "answers": answers_of(response),
        "reasons": reason_labels(case.reasons),
        "due": due_of(case, now=now),
        "timeline": timeline_of(case),
        "note_form": bound.get("note") or NoteForm(),
        "reply_form": bound.get("reply") or ReplyForm(),
        "status_form": bound.get("status") or StatusForm(case=case),
        "assign_form": bound.get("assign")
        or AssignForm(
            colleagues=colleagues, me=user, initial={"to": str(case.assignee_id) if case.assignee_id else NOBODY}
        ),
        "resolve_form": bound.get("resolve") or ResolveForm(),
        "error": error,
        # Did it work: the customer's first order after the case was closed.
        "returned": came_back(case) if case.resolved_at else None,
        **customer_history(case),
    }
    return render(request, "work/case.html", context, status=status)


def _change(
    request: HttpRequest, case: FollowUp, name: str, form: forms.Form, change: Callable[[dict[str, Any]], str]
) -> HttpResponse:
    """Make a change from a valid form and go back to the case (PRG); or show the form again as sent."""
    if not form.is_valid():
        return _case_page(request, case, bound={name: form}, status=422)
    try:
        done = change(form.cleaned_data)
    except CaseError as refused:
        form.add_error(None, refused.message)
        return _case_page(request, case, bound={name: form}, status=409)
    except (smtplib.SMTPException, OSError) as failed:
        form.add_error(None, f"The mail server did not take the message ({failed}); nothing was sent. Try again.")
        return _case_page(request, case, bound={name: form}, status=502)
    messages.success(request, done)
    return redirect(reverse("case", kwargs={"case_id": case.pk}) + f"#{name}")


@require_POST
@staff_required
def add_note(request: HttpRequest, case_id: int) -> HttpResponse:
    user, case = _user(request), _case_of(_user(request), case_id)

    def note(data: dict[str, Any]) -> str:
        cases.add_note(case, data["text"], by=user)
        return "Note added."

    return _change(request, case, "note", NoteForm(request.POST), note)


@require_POST
@staff_required
def reply(request: HttpRequest, case_id: int) -> HttpResponse:
    user, case = _user(request), _case_of(_user(request), case_id)

    def send(data: dict[str, Any]) -> str:
        cases.reply(case, data["text"], by=user)
        return f"Reply sent to {case.response.customer.email}."

    return _change(request, case, "reply", ReplyForm(request.POST), send)


@require_POST
@staff_required
def change_status(request: HttpRequest, case_id: int) -> HttpResponse:
    user, case = _user(request), _case_of(_user(request), case_id)

    def move(data: dict[str, Any]) -> str:
        cases.move(case, data["status"], by=user)
        return f"Case is now {case.get_status_display().lower()}."

    return _change(request, case, "status", StatusForm(request.POST, case=case), move)


@require_POST
@staff_required
def assign_case(request: HttpRequest, case_id: int) -> HttpResponse:
    user, case = _user(request), _case_of(_user(request), case_id)
    form = AssignForm(request.POST, colleagues=colleagues_in([case.shop], me=user), me=user)

    def give(data: dict[str, Any]) -> str:
        to = form.assignee()
        cases.assign([case], to=to, by=user)
        return f"Assigned to {'you' if to == user else display_name(to)}." if to else "Case unassigned."

    return _change(request, case, "assign", form, give)


@require_POST
@staff_required
def resolve(request: HttpRequest, case_id: int) -> HttpResponse:
    user, case = _user(request), _case_of(_user(request), case_id)

    def close(data: dict[str, Any]) -> str:
        with transaction.atomic():
            cases.resolve(
                case,
                resolution=data["resolution"],
                goodwill=data["goodwill"],
                goodwill_note=data["goodwill_note"],
                by=user,
            )
            if data["note"].strip():
                cases.add_note(case, data["note"], by=user)
        return f"Case closed: {case.get_resolution_display().lower()}."

    return _change(request, case, "resolve", ResolveForm(request.POST), close)
