"""The managers' dashboard at /dashboard/: the range's NPS, CSAT, CES, response rate and recovery,
and the NPS trend drawn as an inline SVG.

Every number is counted by feedback.metrics and feedback.recovery, one aggregate query each,
however many periods or groups the range has. Here the period tallies are only added up into
the range's, laid out as a chart and written as text. The page says how sure each number is:
NPS with its 95% margin, CSAT and CES with their 95% intervals, each with its denominator; a
change from the period before called significant only when the test says so, periods without
answers drawn as gaps, and a period that is not over marked "so far".
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import jdatetime
from django import forms
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.contrib.auth.views import redirect_to_login
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from feedback.metrics import (
    MAX_PERIODS,
    Calendar,
    CesTally,
    CsatTally,
    Cut,
    NpsTally,
    Period,
    ResponseRate,
    Row,
    Span,
    TooManyPeriods,
    ces_changed_significantly,
    ces_trend,
    csat_changed_significantly,
    csat_trend,
    nps_changed_significantly,
    nps_trend,
    period_spans,
    periods_back,
    response_rate_trend,
)
from feedback.recovery import Recovery, recovery
from surveys.localise import format_datetime
from surveys.models import Language, Shop
from surveys.queries import READS_NUMBERS, shops_of

# --- What the page shows: its GET parameters, read forgivingly ---------------------------------

PERIOD_NAMES = {Period.MONTH: ("month", "months"), Period.WEEK: ("week", "weeks"), Period.DAY: ("day", "days")}
CALENDAR_NAMES = {Calendar.GREGORIAN: "Gregorian", Calendar.JALALI: "Jalali (Persian)"}
CUT_NAMES = {
    Cut.CHANNEL: "Channel",
    Cut.LANGUAGE: "Language",
    Cut.SURVEY: "Survey",
    Cut.PRODUCT: "Product",
    Cut.CUSTOMER_TYPE: "First-time or repeat customer",
    Cut.VALUE_TIER: "Customer value tier",
}
# How a cut's groups are made, said under its table.
CUT_NOTES = {
    Cut.CHANNEL: "The channel the survey was sent by.",
    Cut.LANGUAGE: "The language the customer answered in.",
    Cut.SURVEY: "",
    Cut.PRODUCT: "An order of several products counts once for each of them.",
    Cut.CUSTOMER_TYPE: "Repeat: the customer had ordered before the order the survey was about.",
    Cut.VALUE_TIER: "Tiers rank the shop's customers by what they have spent to this day, not when they answered.",
}
# The range when none is chosen: the last 12 months, or weeks, or 30 days.
DEFAULT_COUNT = {Period.MONTH: 12, Period.WEEK: 12, Period.DAY: 30}
EARLIEST = date(2000, 1, 1)
# Below this many answers a number is shown with a word of caution.
FEW_ANSWERS = 30


class DashboardForm(forms.Form):
    shop = forms.ChoiceField(required=False, label="Shop")
    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="To", widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})
    )
    period = forms.ChoiceField(
        required=False,
        label="Period",
        choices=[(value, plural.capitalize()) for value, (_, plural) in PERIOD_NAMES.items()],
    )
    calendar = forms.ChoiceField(
        required=False, label="Calendar", choices=list(CALENDAR_NAMES.items()), widget=forms.RadioSelect
    )
    by = forms.ChoiceField(required=False, label="Compare groups by", choices=[("", "Nothing"), *CUT_NAMES.items()])

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

    def chosen(name: str, noun: str, default: str, default_name: str) -> str:
        if name in form.errors:
            notices.append(f"There is no {noun} “{raw(name)}”: showing {default_name}.")
            return default
        return form.cleaned_data.get(name) or default

    period = Period(chosen("period", "period", Period.MONTH, "months"))
    default_calendar = Calendar.JALALI if shop.default_language == Language.PERSIAN else Calendar.GREGORIAN
    calendar = Calendar(chosen("calendar", "calendar", default_calendar, f"the {CALENDAR_NAMES[default_calendar]} one"))
    by = chosen("by", "way to compare groups", "", "no groups")
    cut = Cut(by) if by else None

    since: date | None = None if "since" in form.errors else form.cleaned_data.get("since")
    until: date | None = None if "until" in form.errors else form.cleaned_data.get("until")
    for name in ("since", "until"):
        if name in form.errors:
            notices.append(
                f"“{raw(name)}” is not a date: the range {'starts' if name == 'since' else 'ends'} as usual."
            )
    if until is not None and until > today:
        notices.append("The range cannot end after today: it ends today.")
        until = today
    if since is not None and since < EARLIEST:
        notices.append(f"The range cannot start before {EARLIEST:%Y}: it starts as usual.")
        since = None
    if since is not None and until is not None and since > until:
        notices.append("The range started after it ended: showing the usual range.")
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
            notices.append(f"That range has more than {MAX_PERIODS} {too_many}: showing {instead}.")
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


# --- Words and numbers -------------------------------------------------------------------------

_GREGORIAN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MINUS = "\u2212"


def whole(value: float) -> int:
    """Rounded half up, the way a reader rounds (Python's round() goes to even)."""
    return math.floor(value + 0.5)


def signed(value: float) -> str:
    """An NPS as a reader writes it: +34, −12, 0."""
    number = whole(value)
    return f"+{number}" if number > 0 else f"{MINUS}{-number}" if number < 0 else "0"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{whole(value)}%"


def share(part: int, of: int) -> str:
    return percent(100.0 * part / of if of else None)


def count(number: int) -> str:
    return f"{number:,}"


def duration(value: timedelta | None) -> str:
    """A mean time, as precise as it is worth: 40 min, 5.5 h, 3.2 days."""
    if value is None:
        return "—"
    minutes = value.total_seconds() / 60
    if minutes < 60:
        return f"{max(whole(minutes), 1)} min"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / (24 * 60):.1f} days"


def calendar_date(day: date, calendar: Calendar) -> tuple[int, str, int]:
    """Day, month name and year of a day in the calendar: (4, "Azar", 1405) or (25, "Nov", 2026)."""
    if calendar == Calendar.JALALI:
        jalali = jdatetime.date.fromgregorian(date=day)
        return jalali.day, jdatetime.date.j_months_en[jalali.month - 1], jalali.year
    return day.day, _GREGORIAN_MONTHS[day.month - 1], day.year


def period_name(span: Span, *, period: Period, calendar: Calendar) -> str:
    """A period in a sentence: "Nov 2026", "Azar 1405", "3 Nov 2026", "week of 8 Aban 1405"."""
    day, month, year = calendar_date(span.first_day, calendar)
    if period == Period.MONTH:
        return f"{month} {year}"
    if period == Period.WEEK:
        return f"week of {day} {month} {year}"
    return f"{day} {month} {year}"


def axis_label(span: Span, *, period: Period, calendar: Calendar) -> tuple[str, str]:
    """A period under the chart: the month (or day) and, on a second line, its year."""
    day, month, year = calendar_date(span.first_day, calendar)
    return (month if period == Period.MONTH else f"{day} {month}"), str(year)


# --- The range's numbers: the period tallies added up -----------------------------------------


def nps_total(tallies: Iterable[NpsTally]) -> NpsTally:
    found = list(tallies)
    return NpsTally(
        promoters=sum(tally.promoters for tally in found),
        passives=sum(tally.passives for tally in found),
        detractors=sum(tally.detractors for tally in found),
    )


def csat_total(tallies: Iterable[CsatTally]) -> CsatTally:
    found = list(tallies)
    return CsatTally(
        satisfied=sum(tally.satisfied for tally in found), responses=sum(tally.responses for tally in found)
    )


def ces_total(tallies: Iterable[CesTally]) -> CesTally:
    per_score = [tally.per_score for tally in tallies]
    return CesTally(per_score=tuple(sum(counts) for counts in zip(*per_score, strict=True)) if per_score else (0,) * 7)


def rate_total(tallies: Iterable[ResponseRate]) -> ResponseRate:
    found = list(tallies)
    return ResponseRate(
        sent=sum(tally.sent for tally in found),
        opened=sum(tally.opened for tally in found),
        answered=sum(tally.answered for tally in found),
    )


@dataclass(frozen=True)
class Change:
    """How one period's NPS moved from the period before, and whether more than chance explains."""

    direction: str  # up, down or same
    points: int
    significant: bool

    @property
    def badge(self) -> str:
        if not self.significant:
            return "No significant change"
        return {"up": "Significant rise", "down": "Significant fall"}.get(self.direction, "Significant change")

    @property
    def words(self) -> str:
        moved = "about the same" if self.direction == "same" else f"{self.direction} {self.points} points"
        verdict = "a significant change" if self.significant else "within chance, not a significant change"
        return f"{moved}: {verdict}"


def change_of(row: Row[NpsTally]) -> Change | None:
    """None when this period or the one before has no answers to compare."""
    significant = nps_changed_significantly(row.tally, row.previous)
    if significant is None or row.tally.score is None or row.previous.score is None:
        return None
    # The difference of the numbers shown, so the reader's subtraction agrees.
    points = whole(row.tally.score) - whole(row.previous.score)
    direction = "up" if points > 0 else "down" if points < 0 else "same"
    return Change(direction=direction, points=abs(points), significant=significant)


@dataclass(frozen=True)
class ScoreChange:
    """CSAT's or CES's latest period with answers against the period before, as NPS's is told."""

    period: str  # "Nov 2026"
    so_far: bool
    value: str  # as the card shows it: "80%", "5.2"
    previous_period: str
    previous_value: str  # "—" without answers
    direction: str  # up, down or same
    amount: str  # "10 points", "0.4"
    # None: too few answers in one of the two to compare (none for CSAT, fewer than two for CES).
    significant: bool | None

    @property
    def state(self) -> str:
        if self.significant is None:
            return "none"
        return "significant" if self.significant else "not-significant"

    @property
    def badge(self) -> str:
        if self.significant is None:
            return "Nothing to compare"
        return Change(direction=self.direction, points=0, significant=self.significant).badge

    @property
    def words(self) -> str:
        if self.significant is None:
            return f"{self.previous_period} had too few answers to compare with"
        moved = "about the same" if self.direction == "same" else f"{self.direction} {self.amount}"
        verdict = "a significant change" if self.significant else "within chance, not a significant change"
        return f"{moved}: {verdict}"


def _direction(difference: float) -> str:
    return "up" if difference > 0 else "down" if difference < 0 else "same"


def _latest_with_answers(rows: Sequence[Row[Any]]) -> int | None:
    return next((index for index in reversed(range(len(rows))) if rows[index].tally.responses), None)


def csat_change(
    rows: Sequence[Row[CsatTally]], names: Sequence[str], lead_name: str, *, now: datetime
) -> ScoreChange | None:
    """The latest period with CSAT answers against the one before; None without any answers.
    `names` are the rows' periods in words, `lead_name` the period before the first row's."""
    index = _latest_with_answers(rows)
    if index is None:
        return None
    row = rows[index]
    # The difference of the whole percentages shown, so the reader's subtraction agrees.
    points = whole(row.tally.score or 0) - whole(row.previous.score or 0)
    return ScoreChange(
        period=names[index],
        so_far=row.span.end > now,
        value=percent(row.tally.score),
        previous_period=names[index - 1] if index else lead_name,
        previous_value=percent(row.previous.score),
        direction=_direction(points),
        amount=f"{abs(points)} point{'s' if abs(points) != 1 else ''}",
        significant=csat_changed_significantly(row.tally, row.previous),
    )


def ces_change(
    rows: Sequence[Row[CesTally]], names: Sequence[str], lead_name: str, *, now: datetime
) -> ScoreChange | None:
    """The latest period with CES answers against the one before; None without any answers."""
    index = _latest_with_answers(rows)
    if index is None:
        return None
    row = rows[index]
    shown, previous = mean_text(row.tally.score), mean_text(row.previous.score)
    difference = float(shown) - float(previous) if row.previous.score is not None else 0.0
    return ScoreChange(
        period=names[index],
        so_far=row.span.end > now,
        value=shown,
        previous_period=names[index - 1] if index else lead_name,
        previous_value=previous,
        direction=_direction(round(difference, 1)),
        amount=f"{abs(difference):.1f}",
        significant=ces_changed_significantly(row.tally, row.previous),
    )


def mean_text(value: float | None) -> str:
    """A CES mean as the card shows it: one decimal."""
    return "—" if value is None else f"{value:.1f}"


@dataclass(frozen=True)
class NpsFigure:
    """An NPS written out: score, margin, denominator and the three shares."""

    tally: NpsTally

    @property
    def score(self) -> str:
        return "—" if self.tally.score is None else signed(self.tally.score)

    @property
    def margin(self) -> str:
        margin = self.tally.margin_of_error
        return "" if margin is None else f"±{whole(margin)}"

    @property
    def responses(self) -> str:
        return count(self.tally.responses)

    @property
    def few(self) -> bool:
        return 0 < self.tally.responses < FEW_ANSWERS

    @property
    def promoters(self) -> str:
        return share(self.tally.promoters, self.tally.responses)

    @property
    def passives(self) -> str:
        return share(self.tally.passives, self.tally.responses)

    @property
    def detractors(self) -> str:
        return share(self.tally.detractors, self.tally.responses)

    @property
    def bar(self) -> list[tuple[str, float, float]]:
        """The three shares side by side on a bar 100 wide: (kind, x, width)."""
        n = self.tally.responses or 1
        promoters, passives = 100 * self.tally.promoters / n, 100 * self.tally.passives / n
        return [
            ("promoters", 0.0, promoters),
            ("passives", promoters, passives),
            ("detractors", promoters + passives, 100 * self.tally.detractors / n),
        ]


@dataclass(frozen=True)
class PeriodLine:
    """One period in the chart's table."""

    key: str
    name: str
    nps: NpsFigure
    change: Change | None
    previous_answered: bool
    so_far: bool


@dataclass(frozen=True)
class GroupLine:
    key: str | None
    label: str
    nps: NpsFigure


def groups_of(rows: Iterable[Row[NpsTally]]) -> list[GroupLine]:
    """Each group's NPS over the range, in the order the trend gives them."""
    by_group: dict[str | None, tuple[str, list[NpsTally]]] = {}
    for row in rows:
        by_group.setdefault(row.group, (row.group_label, []))[1].append(row.tally)
    return [
        GroupLine(key=key, label=label, nps=NpsFigure(nps_total(tallies))) for key, (label, tallies) in by_group.items()
    ]


# --- The chart ---------------------------------------------------------------------------------

CHART_HEIGHT = 300
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 56, 16, 14, 64
STEP = 96  # px a period, at most
MIN_WIDTH, MAX_WIDTH = 560, 1240
# Roughly the width of one character of the axis labels (12px system font).
CHAR_WIDTH = 6.6


@dataclass(frozen=True)
class Tick:
    at: float
    text: str
    second: str = ""


@dataclass(frozen=True)
class Point:
    key: str
    x: float
    y: float
    r: float
    significant: bool
    direction: str
    title: str

    @property
    def diamond(self) -> str:
        r = self.r * 1.6
        corners = [(self.x, self.y - r), (self.x + r, self.y), (self.x, self.y + r), (self.x - r, self.y)]
        return " ".join(f"{x:.1f},{y:.1f}" for x, y in corners)


@dataclass(frozen=True)
class Whisker:
    """The margin of a period with answers between two without: a bar, as the band has no width."""

    x: float
    top: float
    bottom: float
    width: float


@dataclass(frozen=True)
class Gap:
    """Periods in a row without answers: a hatched column, where the line and band break."""

    key: str  # the first period's
    periods: int
    x: float
    width: float
    title: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    low: int
    high: int
    zero: float
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    bands: list[str]
    whiskers: list[Whisker]
    lines: list[str]
    points: list[Point]
    gaps: list[Gap]

    @property
    def min_width(self) -> int:
        """Narrower than this the labels get too small to read: a narrow screen scrolls instead."""
        return whole(self.width * 0.8)

    @property
    def plot_height(self) -> int:
        return self.bottom - self.top

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2

    @property
    def centre(self) -> float:
        return (self.left + self.right) / 2

    @property
    def low_text(self) -> str:
        return signed(self.low)

    @property
    def high_text(self) -> str:
        return signed(self.high)


def nps_axis(lowest: float, highest: float) -> tuple[int, int, int]:
    """The NPS axis: from `lowest` to `highest` and zero, at most six steps of 10, 20, 25 or 50
    (all divide 100, so the axis never passes the scale's ends)."""
    lowest, highest = min(lowest, 0.0), max(highest, 0.0)
    for step in (10, 20, 25, 50):
        low = max(-100, math.floor(lowest / step) * step)
        high = min(100, math.ceil(highest / step) * step)
        if high == low:
            high = low + step
        if (high - low) / step <= 6:
            return low, high, step
    return -100, 100, 50


def consecutive_runs(indexes: list[int]) -> list[list[int]]:
    """Consecutive indexes together: [1, 2, 4] → [[1, 2], [4]]."""
    runs: list[list[int]] = []
    for index in indexes:
        if runs and runs[-1][-1] == index - 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    return runs


def nps_chart(
    lines: list[PeriodLine], rows: list[Row[NpsTally]], *, period: Period, calendar: Calendar
) -> Chart | None:
    """The NPS line over its 95% band, the zero line, and a marker on every significant change.
    A period without answers is a gap in line and band, never a zero. None without any answers."""
    answered = [index for index, row in enumerate(rows) if row.tally.responses]
    if not answered:
        return None
    bounds: dict[int, tuple[float, float, float]] = {}
    for index in answered:
        tally = rows[index].tally
        assert tally.score is not None
        assert tally.margin_of_error is not None
        score, margin = tally.score, tally.margin_of_error
        bounds[index] = (score, max(score - margin, -100.0), min(score + margin, 100.0))
    low, high, tick_step = nps_axis(min(lower for _, lower, _ in bounds.values()), max(u for *_, u in bounds.values()))

    width = min(max(PAD_LEFT + PAD_RIGHT + STEP * len(rows), MIN_WIDTH), MAX_WIDTH)
    right, bottom = width - PAD_RIGHT, CHART_HEIGHT - PAD_BOTTOM
    step = (right - PAD_LEFT) / len(rows)

    def x(index: int) -> float:
        return PAD_LEFT + step * (index + 0.5)

    def y(value: float) -> float:
        return PAD_TOP + (high - value) / (high - low) * (bottom - PAD_TOP)

    bands, whiskers, polylines = [], [], []
    for run in consecutive_runs(answered):
        if len(run) == 1:
            _, lower, upper = bounds[run[0]]
            whiskers.append(Whisker(x=x(run[0]), top=y(upper), bottom=y(lower), width=max(2.0, min(6.0, step / 2))))
            continue
        upper_edge = [f"{x(i):.1f},{y(bounds[i][2]):.1f}" for i in run]
        lower_edge = [f"{x(i):.1f},{y(bounds[i][1]):.1f}" for i in reversed(run)]
        bands.append(" ".join(upper_edge + lower_edge))
        polylines.append(" ".join(f"{x(i):.1f},{y(bounds[i][0]):.1f}" for i in run))

    radius = max(2.5, min(4.0, step * 0.3))
    points = []
    for index in answered:
        line = lines[index]
        title = f"{line.name}: NPS {line.nps.score} {line.nps.margin} from {line.nps.responses} answers"
        if line.change is not None:
            title += f"; {line.change.words}"
        points.append(
            Point(
                key=line.key,
                x=x(index),
                y=y(bounds[index][0]),
                r=radius,
                significant=bool(line.change and line.change.significant),
                direction=line.change.direction if line.change else "",
                title=title,
            )
        )
    empty = [index for index, row in enumerate(rows) if not row.tally.responses]
    gaps = []
    for run in consecutive_runs(empty):
        first, last = lines[run[0]].name, lines[run[-1]].name
        title = f"No answers: {first}" if len(run) == 1 else f"No answers: {first} to {last}"
        gaps.append(
            Gap(key=lines[run[0]].key, periods=len(run), x=x(run[0]) - step / 2, width=step * len(run), title=title)
        )

    y_ticks = [Tick(at=y(value), text=signed(value)) for value in range(low, high + 1, tick_step)]
    labels = [axis_label(row.span, period=period, calendar=calendar) for row in rows]
    widest = max(len(first) for first, _ in labels) * CHAR_WIDTH + 12
    every = max(1, math.ceil(widest / step))
    x_ticks, shown_year = [], ""
    for index in range(0, len(rows), every):
        first, year = labels[index]
        x_ticks.append(Tick(at=x(index), text=first, second=year if year != shown_year else ""))
        shown_year = year
    return Chart(
        width=width,
        height=CHART_HEIGHT,
        left=PAD_LEFT,
        right=right,
        top=PAD_TOP,
        bottom=bottom,
        low=low,
        high=high,
        zero=y(0),
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        bands=bands,
        whiskers=whiskers,
        lines=polylines,
        points=points,
        gaps=gaps,
    )


# --- Everything on the page --------------------------------------------------------------------


@dataclass(frozen=True)
class Dashboard:
    choices: Choices
    range_name: str
    nps: NpsFigure
    # The latest period with answers, compared with the period before it.
    latest: PeriodLine | None
    latest_previous: NpsFigure | None
    latest_previous_name: str
    csat: CsatTally
    ces: CesTally
    # The latest period with answers against the one before, as for NPS.
    csat_change: ScoreChange | None
    ces_change: ScoreChange | None
    rate: ResponseRate
    recovery: Recovery
    periods: list[PeriodLine]
    chart: Chart | None
    groups: list[GroupLine] | None
    unfinished: bool

    @property
    def period_singular(self) -> str:
        return PERIOD_NAMES[self.choices.period][0]

    @property
    def csat_text(self) -> str:
        return percent(self.csat.score)

    @property
    def csat_interval(self) -> str:
        """The range's 95% interval (Wilson): "62–85%"."""
        interval = self.csat.interval
        return "" if interval is None else f"{whole(interval[0])}–{whole(interval[1])}%"

    @property
    def ces_text(self) -> str:
        return mean_text(self.ces.score)

    @property
    def ces_margin(self) -> str:
        """The range's 95% margin of the mean (Student's t): "±0.4"; none below two answers."""
        margin = self.ces.margin_of_error
        return "" if margin is None else f"±{margin:.1f}"

    @property
    def few_csat(self) -> bool:
        return 0 < self.csat.responses < FEW_ANSWERS

    @property
    def few_ces(self) -> bool:
        return 0 < self.ces.responses < FEW_ANSWERS

    @property
    def open_rate(self) -> str:
        return percent(self.rate.open_rate)

    @property
    def answer_rate(self) -> str:
        return percent(self.rate.answer_rate)

    @property
    def contacted_share(self) -> str:
        return share(self.recovery.contacted, self.recovery.cases)

    @property
    def resolved_share(self) -> str:
        return share(self.recovery.resolved, self.recovery.cases)

    @property
    def recovery_rate(self) -> str:
        rate = self.recovery.recovery_rate
        return percent(None if rate is None else 100 * rate)

    @property
    def to_first_contact(self) -> str:
        return duration(self.recovery.time_to_first_contact)

    @property
    def to_resolution(self) -> str:
        return duration(self.recovery.time_to_resolution)

    @property
    def cut_name(self) -> str:
        return CUT_NAMES[self.choices.cut].lower() if self.choices.cut else ""

    @property
    def cut_note(self) -> str:
        return CUT_NOTES[self.choices.cut] if self.choices.cut else ""

    @property
    def significant_count(self) -> int:
        return sum(1 for line in self.periods if line.change and line.change.significant)

    @property
    def empty_count(self) -> int:
        return sum(1 for line in self.periods if not line.nps.tally.responses)


def dashboard_of(shop: Shop, choices: Choices, *, now: datetime) -> Dashboard:
    """The page's numbers: four trends, the recovery and, with a cut, the NPS by group (a fixed
    number of queries, however many periods and groups)."""
    period, calendar, spans = choices.period, choices.calendar, choices.spans
    window: dict[str, Any] = {"since": choices.since, "until": choices.until, "period": period, "calendar": calendar}
    nps_rows = nps_trend(shop, **window)
    csat_rows = csat_trend(shop, **window)
    ces_rows = ces_trend(shop, **window)
    names = [period_name(span, period=period, calendar=calendar) for span in spans]
    lead_name = period_name(_span_before(spans[0], choices, shop), period=period, calendar=calendar)
    rate_rows = response_rate_trend(shop, **window)
    cases = recovery(shop.pk, since=spans[0].start, until=spans[-1].end)
    groups = groups_of(nps_trend(shop, **window, by=choices.cut)) if choices.cut else None

    periods = [
        PeriodLine(
            key=row.span.label,
            name=period_name(row.span, period=period, calendar=calendar),
            nps=NpsFigure(row.tally),
            change=change_of(row),
            previous_answered=bool(row.previous.responses),
            so_far=row.span.end > now,
        )
        for row in nps_rows
    ]
    latest_index = next((i for i in reversed(range(len(nps_rows))) if nps_rows[i].tally.responses), None)
    latest = latest_previous = None
    latest_previous_name = ""
    if latest_index is not None:
        latest, latest_previous = periods[latest_index], NpsFigure(nps_rows[latest_index].previous)
        latest_previous_name = period_name(
            _span_before(spans[latest_index], choices, shop), period=period, calendar=calendar
        )
    first, last = periods[0].name, periods[-1].name
    return Dashboard(
        choices=choices,
        range_name=first if len(periods) == 1 else f"{first} to {last}",
        nps=NpsFigure(nps_total(row.tally for row in nps_rows)),
        latest=latest,
        latest_previous=latest_previous,
        latest_previous_name=latest_previous_name,
        csat=csat_total(row.tally for row in csat_rows),
        ces=ces_total(row.tally for row in ces_rows),
        csat_change=csat_change(csat_rows, names, lead_name, now=now),
        ces_change=ces_change(ces_rows, names, lead_name, now=now),
        rate=rate_total(row.tally for row in rate_rows),
        recovery=cases,
        periods=periods,
        chart=nps_chart(periods, nps_rows, period=period, calendar=calendar),
        groups=groups,
        unfinished=spans[-1].end > now,
    )


def _span_before(span: Span, choices: Choices, shop: Shop) -> Span:
    day = span.first_day - timedelta(days=1)
    return period_spans(day, day, period=choices.period, calendar=choices.calendar, tz=shop.tz)[0]


# --- The view ----------------------------------------------------------------------------------


def shops_read_by(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Shop]:
    """The shops whose numbers a user may read: staff who are a shop's manager or admin (or a
    superuser). The page lets in just these; the top bar links to it for just these."""
    if not isinstance(user, User) or not user.is_staff:
        return Shop.objects.none()
    return shops_of(user, roles=READS_NUMBERS)


def may_read_numbers(user: AbstractBaseUser | AnonymousUser) -> bool:
    return shops_read_by(user).exists()


@require_GET
def dashboard_page(request: HttpRequest) -> HttpResponse:
    """Managers and shop admins only: agents get a 403, and another shop's slug is a 404."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), login_url=reverse("login"))
    shops = list(shops_read_by(request.user).order_by("name", "pk"))
    if not shops:
        return render(request, "work/dashboard.html", {"forbidden": True}, status=403)
    slug = request.GET.get("shop", "")
    shop = next((shop for shop in shops if shop.slug == slug), None) if slug else shops[0]
    if shop is None:
        raise Http404("no such shop")

    now = timezone.now()
    choices, notices = read_choices(request.GET, shop=shop, today=now.astimezone(shop.tz).date())
    context = {
        "shop": shop,
        "shops": shops,
        "form": DashboardForm(initial=choices.initial, shops=shops),
        "notices": notices,
        "board": dashboard_of(shop, choices, now=now),
        "as_of": format_datetime(now, Language.ENGLISH, tz=shop.tz),
        "calendar_name": CALENDAR_NAMES[choices.calendar],
        "period_names": PERIOD_NAMES[choices.period],
    }
    return render(request, "work/dashboard.html", context)
