"""The dashboard's choices: its GET parameters (shop, range, period, calendar, cut), read forgivingly."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from feedback.insights.cuts import Cut
from feedback.insights.periods import MAX_PERIODS, Calendar, Period, Span, TooManyPeriods, period_spans, periods_back
from surveys.models import Language, Shop

# --- What the page shows: its GET parameters, read forgivingly ---------------------------------

# A period's name in a sentence, one and many ("NPS by month", "12 months"): translated when shown.
PERIOD_NAMES = {
    Period.MONTH: (gettext_lazy("month"), gettext_lazy("months")),
    Period.WEEK: (gettext_lazy("week"), gettext_lazy("weeks")),
    Period.DAY: (gettext_lazy("day"), gettext_lazy("days")),
}
PERIOD_CHOICES = [
    (Period.MONTH, gettext_lazy("Months")),
    (Period.WEEK, gettext_lazy("Weeks")),
    (Period.DAY, gettext_lazy("Days")),
]
CALENDAR_NAMES = {Calendar.GREGORIAN: gettext_lazy("Gregorian"), Calendar.JALALI: gettext_lazy("Jalali (Persian)")}
CUT_NAMES = {
    Cut.CHANNEL: gettext_lazy("Channel"),
    Cut.LANGUAGE: gettext_lazy("Language"),
    Cut.SURVEY: gettext_lazy("Survey"),
    Cut.PRODUCT: gettext_lazy("Product"),
    Cut.CUSTOMER_TYPE: gettext_lazy("First-time or repeat customer"),
    Cut.VALUE_TIER: gettext_lazy("Customer value tier"),
}
# How a cut's groups are made, said under its table.
CUT_NOTES = {
    Cut.CHANNEL: gettext_lazy("The channel the survey was sent by."),
    Cut.LANGUAGE: gettext_lazy("The language the customer answered in."),
    Cut.SURVEY: "",
    Cut.PRODUCT: gettext_lazy("An order of several products counts once for each of them."),
    Cut.CUSTOMER_TYPE: gettext_lazy("Repeat: the customer had ordered before the order the survey was about."),
    Cut.VALUE_TIER: gettext_lazy(
        "Tiers rank the shop's customers by what they have spent to this day, not when they answered."
    ),
}
# The range when none is chosen: the last 12 months, or weeks, or 30 days.
DEFAULT_COUNT = {Period.MONTH: 12, Period.WEEK: 12, Period.DAY: 30}
EARLIEST = date(2000, 1, 1)
# Below this many answers a number is shown with a word of caution.
FEW_ANSWERS = 30


class DashboardForm(forms.Form):
    shop = forms.ChoiceField(required=False, label=gettext_lazy("Shop"))
    since = forms.DateField(
        required=False,
        label=gettext_lazy("From"),
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )
    until = forms.DateField(
        required=False, label=gettext_lazy("To"), widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})
    )
    period = forms.ChoiceField(required=False, label=gettext_lazy("Period"), choices=PERIOD_CHOICES)
    calendar = forms.ChoiceField(
        required=False, label=gettext_lazy("Calendar"), choices=list(CALENDAR_NAMES.items()), widget=forms.RadioSelect
    )
    by = forms.ChoiceField(
        required=False,
        label=gettext_lazy("Compare groups by"),
        choices=[("", gettext_lazy("Nothing")), *CUT_NAMES.items()],
    )

    def __init__(self, *args: Any, shops: Sequence[Shop], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        shop_field = self.fields["shop"]
        assert isinstance(shop_field, forms.ChoiceField)
        shop_field.choices = [(shop.slug, shop.display_name) for shop in shops]


@dataclass(frozen=True)
class Choices:
    """What the page shows, every parameter read and checked."""

    period: Period
    calendar: Calendar
    cut: Cut | None
    since: date
    until: date
    # The whole periods that cover since to until: what the chart and every number count.
    spans: list[Span]
    # Whether the range is the default one (the dates are left out of the form then).
    default_range: bool
    # The form as it should be shown again: these choices, not what was sent.
    initial: dict[str, Any] = field(default_factory=dict)


def read_choices(params: QueryDict, *, shop: Shop, today: date) -> tuple[Choices, list[str]]:
    """The choices in the GET parameters; one that does not hold falls back to its default, with a notice."""
    form = DashboardForm(params, shops=[shop])
    form.is_valid()
    notices: list[str] = []

    def raw(name: str) -> str:
        return params.get(name, "")[:40]

    def chosen(name: str, notice: str, default: str) -> str:
        if name in form.errors:
            notices.append(notice % {"value": raw(name)})
            return default
        return form.cleaned_data.get(name) or default

    period = Period(chosen("period", _("There is no period “%(value)s”: showing months."), Period.MONTH))
    default_calendar = Calendar.JALALI if shop.default_language == Language.PERSIAN else Calendar.GREGORIAN
    calendar_notice = _("There is no calendar “%(value)s”: showing the %(calendar)s one.")
    calendar = Calendar(
        chosen(
            "calendar", calendar_notice.replace("%(calendar)s", str(CALENDAR_NAMES[default_calendar])), default_calendar
        )
    )
    by = chosen("by", _("There is no way to compare groups “%(value)s”: showing no groups."), "")
    cut = Cut(by) if by else None

    since: date | None = None if "since" in form.errors else form.cleaned_data.get("since")
    until: date | None = None if "until" in form.errors else form.cleaned_data.get("until")
    for name in ("since", "until"):
        if name in form.errors:
            if name == "since":
                notices.append(_("“%(value)s” is not a date: the range starts as usual.") % {"value": raw(name)})
            else:
                notices.append(_("“%(value)s” is not a date: the range ends as usual.") % {"value": raw(name)})
    if until is not None and until > today:
        notices.append(_("The range cannot end after today: it ends today."))
        until = today
    if since is not None and since < EARLIEST:
        notices.append(_("The range cannot start before %(year)s: it starts as usual.") % {"year": EARLIEST.year})
        since = None
    if since is not None and until is not None and since > until:
        notices.append(_("The range started after it ended: showing the usual range."))
        since = until = None
    end = until or today
    start = since or periods_back(end, DEFAULT_COUNT[period], period=period, calendar=calendar)

    # Too many periods to draw one by one: count by longer ones.
    longer = [Period.DAY, Period.WEEK, Period.MONTH]
    while True:
        try:
            spans = period_spans(start, end, period=period, calendar=calendar, tz=shop.tz)
            break
        except TooManyPeriods:
            # Months from EARLIEST to today are far fewer than MAX_PERIODS, so this ends.
            next_period = longer[longer.index(period) + 1]
            too_many, instead = PERIOD_NAMES[period][1], PERIOD_NAMES[next_period][1]
            notices.append(
                _("That range has more than %(most)s %(too_many)s: showing %(instead)s.")
                % {"most": MAX_PERIODS, "too_many": too_many, "instead": instead}
            )
            period = next_period

    initial = {
        "shop": shop.slug,
        "since": since,
        "until": until,
        "period": period.value,
        "calendar": calendar.value,
        "by": cut.value if cut else "",
    }
    choices = Choices(
        period=period,
        calendar=calendar,
        cut=cut,
        since=start,
        until=end,
        spans=spans,
        default_range=since is None and until is None,
        initial=initial,
    )
    return choices, notices
