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
from django.utils.functional import Promise
from django.utils.translation import get_language, gettext_lazy, pgettext_lazy
from django.utils.translation import gettext as _

from config import searches
from feedback.accounts.staff import display_name
from feedback.casework import filters as case_filters
from feedback.casework.cases import cases_of, overdue_now
from feedback.casework.filters import CaseFilter
from feedback.models import Answer, FollowUp
from sentiment.themes import BUILT_IN as BUILT_IN_THEMES
from surveys.localise import format_duration, localise_digits
from surveys.models import Language, Membership, Question, Shop
from surveys.queries import shops_of

Status = FollowUp.Status
Priority = FollowUp.Priority

# The queue's narrow column says the same in fewer words; the case page has the full labels.
SHORT_REASONS: dict[str, Promise] = {
    FollowUp.Reason.DETRACTOR: gettext_lazy("Detractor"),
    FollowUp.Reason.LOW_CSAT: gettext_lazy("Low CSAT"),
    FollowUp.Reason.KEYWORD: gettext_lazy("Warning word"),
    FollowUp.Reason.REPEAT_LOW: gettext_lazy("Second low score"),
}
# Names the pages show for codes whose models' labels are English only.
LANGUAGE_LABELS: dict[str, Promise] = {
    Language.ENGLISH: gettext_lazy("English"),
    Language.PERSIAN: gettext_lazy("Persian"),
}
THEME_LABELS: dict[str, Promise] = {
    "delivery": gettext_lazy("delivery"),
    "price": gettext_lazy("price"),
    "quality": gettext_lazy("quality"),
    "packaging": gettext_lazy("packaging"),
    "support": gettext_lazy("support"),
    "installation": gettext_lazy("installation"),
    "warranty_returns": gettext_lazy("warranty and returns"),
    "website_checkout": gettext_lazy("website and checkout"),
}
SENTIMENT_LABELS: dict[str, Promise] = {
    "negative": gettext_lazy("negative"),
    "neutral": gettext_lazy("neutral"),
    "positive": gettext_lazy("positive"),
    "no_signal": gettext_lazy("no signal"),
}


def theme_label(name: str) -> str:
    return str(THEME_LABELS.get(name, name.replace("_", " ")))


PAGE_SIZE = 50
ACTIVE = [Status.OPEN, Status.IN_PROGRESS, Status.WAITING]
CLOSED = [Status.RESOLVED, Status.NO_CONTACT]
# The owner filter's and the assign forms' word for no one.
NOBODY = "none"
# The queue's orders: the link's words, and how the table's caption says it.
SORTS: dict[str, tuple[Promise, Promise]] = {
    "priority": (gettext_lazy("Priority"), gettext_lazy("most urgent first")),
    "due": (pgettext_lazy("sort", "Due"), gettext_lazy("soonest due first")),
    "newest": (gettext_lazy("Newest"), gettext_lazy("newest first")),
    "value": (gettext_lazy("Customer value"), gettext_lazy("most valuable customer first")),
}


# --- The queue: filters, query and rows ------------------------------------------------


class QueueFilters(forms.Form):
    """The queue's GET parameters; a value that does not validate falls back to its default."""

    STATUS_CHOICES = [("active", gettext_lazy("Not closed")), *Status.choices, ("all", gettext_lazy("All"))]

    q = forms.CharField(required=False, max_length=100, label=gettext_lazy("Search"))
    status = forms.ChoiceField(required=False, choices=STATUS_CHOICES)
    priority = forms.TypedChoiceField(
        required=False, choices=[("", gettext_lazy("Any priority")), *Priority.choices], coerce=int, empty_value=None
    )
    owner = forms.ChoiceField(required=False)
    overdue = forms.BooleanField(required=False, label=gettext_lazy("Overdue only"))
    reason = forms.ChoiceField(required=False, choices=[("", gettext_lazy("Any reason")), *FollowUp.Reason.choices])
    language = forms.ChoiceField(required=False, choices=[("", gettext_lazy("Any language")), *LANGUAGE_LABELS.items()])
    theme = forms.ChoiceField(
        required=False,
        choices=[("", gettext_lazy("Any theme"))] + [(name, THEME_LABELS.get(name, name)) for name in BUILT_IN_THEMES],
    )
    product = forms.CharField(required=False, max_length=100, label=gettext_lazy("Product (SKU or name)"))
    shop = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    sort = forms.ChoiceField(required=False, choices=[(value, label) for value, (label, _) in SORTS.items()])

    def __init__(self, data: QueryDict, *, shops: list[Shop], colleagues: list[User]) -> None:
        super().__init__(data)
        owner_choices = [("", _("Anyone")), ("me", _("Me")), (NOBODY, _("Nobody"))]
        owner_field = self.fields["owner"]
        assert isinstance(owner_field, forms.ChoiceField)
        owner_field.choices = owner_choices + [(str(user.pk), display_name(user)) for user in colleagues]
        shop_field = self.fields["shop"]
        assert isinstance(shop_field, forms.ChoiceField)
        shop_field.choices = [("", _("All shops"))] + [(shop.pk, shop.display_name) for shop in shops]

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
    found = case_filters.apply(shop_cases(user), criteria_of(filters, user=user), now=now)
    due = F("due_at").asc(nulls_last=True)
    orders: dict[str, list[Any]] = {
        "priority": ["priority", due, "created_at", "pk"],
        "due": [due, "priority", "pk"],
        "newest": ["-created_at", "-pk"],
        "value": ["-customer_spend", "priority", due, "pk"],
    }
    # The page's cases are sorted and cut from the cases' table alone; their responses,
    # customers and orders are read after, each by the page's ids. Joined into the sorting query,
    # the responses were joined first and sorted after: every response of the installation
    # hashed for 50 rows.
    return (
        found.order_by(*orders[filters.get("sort") or "priority"])
        .select_related("shop", "assignee")
        .prefetch_related("response", "response__customer", "response__invitation__order", answers_prefetch())
    )


def shop_cases(user: User) -> QuerySet[FollowUp]:
    """The cases of the user's shops (as `cases_of`), the shops named by their ids: PostgreSQL
    then plans from those shops' own statistics (a small shop's few cases, not an average) and
    reads them through the indexes that lead with the shop, never the other shops' rows."""
    return FollowUp.objects.filter(shop_id__in=list(shops_of(user).values_list("pk", flat=True)))


def queue_summary(user: User, *, now: datetime) -> dict[str, int]:
    """How much work there is, in one query: the numbers above the queue."""
    active = Q(status__in=ACTIVE)
    return shop_cases(user).aggregate(
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
        return Due(_("closed"), "closed", case.resolved_at)
    if case.first_contact_at is not None:
        return Due(_("contacted"), "met", case.first_contact_at)
    if case.due_at is None:
        return Due(_("no deadline"), "none", None)
    if case.due_at < now:
        return Due(_("overdue %(span)s") % {"span": span(now - case.due_at)}, "overdue", case.due_at)
    left = case.due_at - now
    return Due(_("in %(span)s") % {"span": span(left)}, "soon" if left <= timedelta(hours=1) else "later", case.due_at)


def span(delta: timedelta) -> str:
    """A duration the way an agent says it: 25 min, 2 h, 3 d (in Persian in words: ۳ روز)."""
    return format_duration(delta, get_language() or Language.ENGLISH, short=True)


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
    # How long ago the case was flagged: "2 h", "۳ روز".
    flagged: str


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
                reasons=reason_labels(case.reasons, short=True, answers=answers),
                flagged=span(now - case.created_at),
            )
        )
    return rows


def reason_labels(codes: Iterable[str], *, short: bool = False, answers: Iterable[Answer] = ()) -> list[str]:
    """The reasons in words; with the answers, "Low CSAT" says which question scored low."""
    labels: dict[str, str] = {
        **{code: str(label) for code, label in FollowUp.Reason.choices},
        **({code: str(label) for code, label in SHORT_REASONS.items()} if short else {}),
    }
    low = low_csat(answers)
    return [
        _("%(reason)s: %(question)s") % {"reason": labels[code], "question": low}
        if code == FollowUp.Reason.LOW_CSAT and low
        else str(labels.get(code, code))
        for code in codes
    ]


def low_csat(answers: Iterable[Answer]) -> str:
    """The satisfaction question that flagged the case, with its score: "Delivery 2/5". Flagging
    reads the first scored CSAT answer (flagging.judge); the same answer is named here."""
    language = get_language() or Language.ENGLISH
    for answer in answers:
        scale = answer.question.scale
        if answer.question.kind == Question.Kind.CSAT and answer.score is not None and scale is not None:
            score = localise_digits(f"{answer.score}/{scale[-1]}", language)
            return f"\u2068{answer.question.text_in(language)}\u2069 {score}"
    return ""


# --- The queue's views -----------------------------------------------------------------


class BulkAssignForm(forms.Form):
    cases = forms.ModelMultipleChoiceField(
        queryset=FollowUp.objects.none(), error_messages={"required": gettext_lazy("Select the cases to assign first.")}
    )
    to = forms.ChoiceField(
        label=gettext_lazy("Assign selected to"),
        error_messages={"required": gettext_lazy("Choose who gets the cases.")},
    )

    def __init__(self, data: QueryDict | None = None, *, user: User, colleagues: list[User]) -> None:
        super().__init__(data)
        self.colleagues = {colleague.pk: colleague for colleague in colleagues}
        cases_field = self.fields["cases"]
        assert isinstance(cases_field, forms.ModelMultipleChoiceField)
        cases_field.queryset = cases_of(user).select_related("shop")
        to_field = self.fields["to"]
        assert isinstance(to_field, forms.ChoiceField)
        to_field.choices = [("", _("Choose…")), *assignee_choices(colleagues, me=user)]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        to = self.assignee()
        chosen = data.get("cases") or []
        if to is not None and chosen and not to.is_superuser:
            member_of = set(Membership.objects.filter(user=to).values_list("shop_id", flat=True))
            strangers = sorted({case.shop.display_name for case in chosen if case.shop_id not in member_of})
            if strangers:
                raise forms.ValidationError(
                    _("%(name)s does not work for %(shops)s.")
                    % {
                        "name": display_name(to),
                        "shops": "، ".join(strangers) if get_language() == Language.PERSIAN else ", ".join(strangers),
                    }
                )
        return data

    def assignee(self) -> User | None:
        return chosen_user(self.cleaned_data.get("to"), self.colleagues)


def assignee_choices(colleagues: list[User], *, me: User) -> list[tuple[str, str]]:
    others = [(str(user.pk), display_name(user)) for user in colleagues if user.pk != me.pk]
    return [(str(me.pk), _("Me (%(name)s)") % {"name": display_name(me)}), *others, (NOBODY, _("Nobody"))]


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
