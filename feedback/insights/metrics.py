"""The numbers: NPS, CSAT, CES and response rate, by period and cut, counted by the database.

Every trend is one aggregate query (after a look-up of the shop's questions of that kind) of
conditional counts, and Python only lays the counts out as rows.

Periods are whole days, weeks or months in the shop's time zone, Gregorian or Jalali. Their
boundaries are worked out here, as aware datetimes (zoneinfo), and the database compares times
with them: one way for both calendars, exact whatever the database's own time-zone data.
- A score trend without a cut counts each period by a SELECT of its own over that period's
  range of answer_scored_time_idx (question, submitted_at) INCLUDE (score), the SELECTs joined
  by UNION ALL: PostgreSQL reads only the index and does nothing a row but count. NPS per month
  over two years of a million answers: about 100 ms, against 235 ms for one pass placing every
  row in its month as below (see bench/nps.py).
- With a cut, or for response rates (whose counts need the invitations' rows, not an index),
  one pass over the range places each row in its period by a nested CASE that searches the
  periods' starts by halves (about five comparisons a row for two years of months; cheaper on
  PostgreSQL than date_trunc of `AT TIME ZONE`) and groups by period and cut. Split per period,
  a cut would join its answers to their responses once a period.
Gregorian weeks start on Monday (ISO), Jalali weeks on Saturday.

Every row also carries the previous period of the same group: the query reaches one period
back before the first row, so even the first row has something to compare with.
"""

import enum
import math
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, Generic, TypeVar

import jdatetime
from django.db.models import Case, Count, Exists, F, Max, Min, OuterRef, Q, QuerySet, Sum, Value, When, Window
from django.db.models.expressions import Expression
from django.db.models.functions import Coalesce, CumeDist, NullIf

from feedback.models import Answer
from surveys.errors import DomainError
from surveys.models import Channel, Invitation, Language, Order, Question, Shop

# The z beyond which a change is called significant: two-sided, 95%.
Z_95 = 1.96
# The same quantile to full precision, where a series is built on it (t_975).
Z_975 = 1.959963984540054
# One request's limit, so a year of days fits but ten years of them do not.
MAX_PERIODS = 400


class TooManyPeriods(DomainError):
    status_code = 422


# --- NPS: the tally, its margin of error and the test between two periods ------------------


@dataclass(frozen=True)
class NpsTally:
    promoters: int
    passives: int
    detractors: int

    @property
    def responses(self) -> int:
        """The denominator: answered NPS questions."""
        return self.promoters + self.passives + self.detractors

    @property
    def score(self) -> float | None:
        if not self.responses:
            return None
        return 100.0 * (self.promoters - self.detractors) / self.responses

    @property
    def margin_of_error(self) -> float | None:
        """95% margin of error, adjusted Wald (add 3 to n and 3/4 to each of p and d)."""
        if not self.responses:
            return None
        return 100.0 * Z_95 * self._adjusted_standard_error

    @property
    def _adjusted_score(self) -> float:
        """The adjusted-Wald NPS as a proportion, −1 to 1 (the added 3/4s cancel out)."""
        return (self.promoters - self.detractors) / (self.responses + 3)

    @property
    def _adjusted_standard_error(self) -> float:
        n = self.responses + 3
        p = (self.promoters + 0.75) / n
        d = (self.detractors + 0.75) / n
        variance = (p + d) - (p - d) ** 2
        return math.sqrt(variance / n)


def nps_change_z(current: NpsTally, previous: NpsTally) -> float | None:
    """The z statistic of the change from `previous` to `current`; None when either has no answers.

    Lewis & Sauro's test ("How to statistically compare two Net Promoter Scores", MeasuringU):
    each period's NPS and variance are taken adjusted-Wald (add 3 to n and 3/4 to promoters and
    detractors), z = (NPS₁ − NPS₂) / √(se₁² + se₂²) with se² = ((p + d) − (p − d)²) / n. The
    periods are independent samples (different answers), so their variances add.
    """
    if not current.responses or not previous.responses:
        return None
    difference = current._adjusted_score - previous._adjusted_score
    return difference / math.hypot(current._adjusted_standard_error, previous._adjusted_standard_error)


def nps_changed_significantly(current: NpsTally, previous: NpsTally) -> bool | None:
    """Whether the NPS moved more than chance explains: |z| > 1.96, two-sided at 95%."""
    z = nps_change_z(current, previous)
    return None if z is None else abs(z) > Z_95


def nps_tally(shop: Shop, *, since: datetime, until: datetime) -> NpsTally:
    """NPS over responses submitted in [since, until), counted by the database."""
    counts = Answer.objects.filter(
        response__shop=shop,
        response__submitted_at__gte=since,
        response__submitted_at__lt=until,
        question__kind=Question.Kind.NPS,
        score__isnull=False,
    ).aggregate(
        promoters=Count("pk", filter=Q(score__gte=9)),
        passives=Count("pk", filter=Q(score__gte=7, score__lte=8)),
        detractors=Count("pk", filter=Q(score__lte=6)),
    )
    return NpsTally(**counts)


# --- The other tallies ---------------------------------------------------------------------


@dataclass(frozen=True)
class CsatTally:
    satisfied: int
    responses: int

    @property
    def score(self) -> float | None:
        """The share of answers of 4 or 5, in percent, over answered CSAT questions."""
        return 100.0 * self.satisfied / self.responses if self.responses else None

    @property
    def interval(self) -> tuple[float, float] | None:
        """The 95% interval of the share satisfied, in percent: Wilson's score interval.

        With p = satisfied / n: (p + z²/2n ± z·√(p(1 − p)/n + z²/4n²)) / (1 + z²/n). Unlike
        p ± z·√(p(1 − p)/n) it stays within 0–100 and is not zero-wide at 0% or 100%, which a
        small shop's month often is.
        """
        n = self.responses
        if not n:
            return None
        p, z2 = self.satisfied / n, Z_95**2
        centre = (p + z2 / (2 * n)) / (1 + z2 / n)
        half = Z_95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
        return 100.0 * max(centre - half, 0.0), 100.0 * min(centre + half, 1.0)


def csat_change_z(current: CsatTally, previous: CsatTally) -> float | None:
    """The z statistic of the change in the share satisfied; None when either has no answers.

    The two-proportion z-test with the pooled share p̄ = (s₁ + s₂) / (n₁ + n₂):
    z = (p₁ − p₂) / √(p̄(1 − p̄)(1/n₁ + 1/n₂)). When every answer in both periods is
    satisfied (or none is), nothing changed: z = 0.
    """
    if not current.responses or not previous.responses:
        return None
    pooled = (current.satisfied + previous.satisfied) / (current.responses + previous.responses)
    variance = pooled * (1 - pooled) * (1 / current.responses + 1 / previous.responses)
    if variance == 0:
        return 0.0
    difference = current.satisfied / current.responses - previous.satisfied / previous.responses
    return difference / math.sqrt(variance)


def csat_changed_significantly(current: CsatTally, previous: CsatTally) -> bool | None:
    """Whether the share satisfied moved more than chance explains: |z| > 1.96, two-sided at 95%."""
    z = csat_change_z(current, previous)
    return None if z is None else abs(z) > Z_95


@dataclass(frozen=True)
class CesTally:
    # How many answered 1, 2, … 7.
    per_score: tuple[int, ...]

    @property
    def responses(self) -> int:
        return sum(self.per_score)

    @property
    def score(self) -> float | None:
        """The mean effort score (1–7, higher is easier) over answered CES questions."""
        if not self.responses:
            return None
        return sum(score * count for score, count in enumerate(self.per_score, start=1)) / self.responses

    @property
    def variance(self) -> float | None:
        """The sample variance of the scores (n − 1 below); None below two answers."""
        n, mean = self.responses, self.score
        if n < 2 or mean is None:
            return None
        return sum(count * (score - mean) ** 2 for score, count in enumerate(self.per_score, start=1)) / (n - 1)

    @property
    def margin_of_error(self) -> float | None:
        """95% margin of the mean, Student's t: t(0.975, n − 1) · s / √n. None below two answers,
        where the answers say nothing of their spread."""
        variance = self.variance
        if variance is None:
            return None
        return t_975(self.responses - 1) * math.sqrt(variance / self.responses)

    @property
    def interval(self) -> tuple[float, float] | None:
        """mean ± margin, kept within the scale's 1–7."""
        mean, margin = self.score, self.margin_of_error
        if mean is None or margin is None:
            return None
        return max(mean - margin, 1.0), min(mean + margin, 7.0)


def ces_change_t(current: CesTally, previous: CesTally) -> tuple[float, float] | None:
    """Welch's t statistic of the change in the mean, and its degrees of freedom; None unless
    both periods have two answers or more.

    t = (m₁ − m₂) / √(s₁²/n₁ + s₂²/n₂), ν = (s₁²/n₁ + s₂²/n₂)² / ((s₁²/n₁)²/(n₁ − 1) + (s₂²/n₂)²/(n₂ − 1))
    (Welch–Satterthwaite): the periods' spreads may differ, so they are not pooled. When neither
    period's answers vary at all, the means either match (t = 0) or differ beyond doubt (t = ±∞).
    """
    variances = current.variance, previous.variance
    if variances[0] is None or variances[1] is None or current.score is None or previous.score is None:
        return None
    a, b = variances[0] / current.responses, variances[1] / previous.responses
    difference = current.score - previous.score
    if a + b == 0:
        return (0.0 if difference == 0 else math.copysign(math.inf, difference)), math.inf
    freedom = (a + b) ** 2 / (a * a / (current.responses - 1) + b * b / (previous.responses - 1))
    return difference / math.sqrt(a + b), freedom


def ces_changed_significantly(current: CesTally, previous: CesTally) -> bool | None:
    """Whether the mean effort moved more than chance explains: Welch's t-test, two-sided at 95%."""
    found = ces_change_t(current, previous)
    if found is None:
        return None
    t, freedom = found
    return abs(t) > t_975(freedom)


# Student's t at 0.975 (a two-sided 95% interval) for 1 to 7 degrees of freedom, to five places;
# from 8 on the series in t_975 is as close.
_T_975 = (12.70620, 4.30265, 3.18245, 2.77645, 2.57058, 2.44691, 2.36462)


def t_975(freedom: float) -> float:
    """Student's t quantile at 0.975 for `freedom` degrees of freedom (not a whole number after
    Welch: below 8 it is rounded down, which widens, never narrows, the interval).

    From 8 on, the Cornish–Fisher expansion of t in the normal quantile z (Abramowitz & Stegun
    26.7.5): t = z + g₁/ν + g₂/ν² + g₃/ν³ + g₄/ν⁴, within 0.00002 of the exact value there.
    """
    if freedom < 1:
        raise ValueError("Student's t needs at least one degree of freedom")
    if freedom < len(_T_975) + 1:
        return _T_975[int(freedom) - 1]
    if math.isinf(freedom):
        return Z_975
    z, v = Z_975, freedom
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / v + g2 / v**2 + g3 / v**3 + g4 / v**4


@dataclass(frozen=True)
class ResponseRate:
    """Invitations sent in a period, and how many of those were opened and answered (by now)."""

    sent: int
    opened: int
    answered: int

    @property
    def open_rate(self) -> float | None:
        return 100.0 * self.opened / self.sent if self.sent else None

    @property
    def answer_rate(self) -> float | None:
        return 100.0 * self.answered / self.sent if self.sent else None


# --- Periods -------------------------------------------------------------------------------


class Period(enum.StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class Calendar(enum.StrEnum):
    GREGORIAN = "gregorian"
    JALALI = "jalali"


@dataclass(frozen=True)
class Span:
    """One period: [start, end) in the shop's time zone."""

    start: datetime
    end: datetime
    label: str  # "2026-11", "1405-09"; a day, or a week's first day: "2026-11-02", "1405-08-09"

    @property
    def first_day(self) -> date:
        return self.start.date()

    @property
    def last_day(self) -> date:
        return self.end.date() - timedelta(days=1)


_MONDAY, _SATURDAY = 0, 5


def period_start(day: date, *, period: Period, calendar: Calendar) -> date:
    """The first day of the period that `day` falls in."""
    if period == Period.DAY:
        return day
    if period == Period.WEEK:
        first_weekday = _SATURDAY if calendar == Calendar.JALALI else _MONDAY
        return day - timedelta(days=(day.weekday() - first_weekday) % 7)
    if calendar == Calendar.JALALI:
        return jdatetime.date.fromgregorian(date=day).replace(day=1).togregorian()
    return day.replace(day=1)


def _next_start(start: date, *, period: Period, calendar: Calendar) -> date:
    if period == Period.DAY:
        return start + timedelta(days=1)
    if period == Period.WEEK:
        return start + timedelta(days=7)
    if calendar == Calendar.JALALI:
        jalali = jdatetime.date.fromgregorian(date=start)
        year, month = (jalali.year + 1, 1) if jalali.month == 12 else (jalali.year, jalali.month + 1)
        return jdatetime.date(year, month, 1).togregorian()
    return date(start.year + start.month // 12, start.month % 12 + 1, 1)


def periods_back(day: date, count: int, *, period: Period, calendar: Calendar) -> date:
    """The first day of the period `count - 1` periods before the one `day` falls in:
    since this and until `day`, there are `count` periods."""
    start = period_start(day, period=period, calendar=calendar)
    for _ in range(count - 1):
        start = period_start(start - timedelta(days=1), period=period, calendar=calendar)
    return start


def _label(start: date, *, period: Period, calendar: Calendar) -> str:
    if calendar == Calendar.JALALI:
        jalali = jdatetime.date.fromgregorian(date=start)
        if period == Period.MONTH:
            return f"{jalali.year:04d}-{jalali.month:02d}"
        return f"{jalali.year:04d}-{jalali.month:02d}-{jalali.day:02d}"
    return start.strftime("%Y-%m") if period == Period.MONTH else start.isoformat()


def period_spans(since: date, until: date, *, period: Period, calendar: Calendar, tz: tzinfo) -> list[Span]:
    """The whole periods that cover the days from `since` to `until` (both included), in order."""
    if since > until:
        raise ValueError("since must not be after until")
    starts = [period_start(since, period=period, calendar=calendar)]
    while starts[-1] <= until:
        if len(starts) > MAX_PERIODS:
            raise TooManyPeriods(
                f"{since} to {until} makes more than {MAX_PERIODS} {period}s: choose a longer period or a shorter range"
            )
        starts.append(_next_start(starts[-1], period=period, calendar=calendar))
    # Midnight in the shop's zone; where a clock change skips midnight, zoneinfo reads it with
    # the offset before the change, which is the instant the day begins.
    instants = [datetime.combine(start, time.min, tzinfo=tz) for start in starts]
    return [
        Span(start=instants[i], end=instants[i + 1], label=_label(starts[i], period=period, calendar=calendar))
        for i in range(len(starts) - 1)
    ]


def _previous_span(span: Span, *, period: Period, calendar: Calendar, tz: tzinfo) -> Span:
    day = span.first_day - timedelta(days=1)
    return period_spans(day, day, period=period, calendar=calendar, tz=tz)[0]


def _span_index(moment: str, starts: list[datetime], low: int, high: int) -> Expression:
    """Which of the spans starting at `starts[low:high]` a row's `moment` falls in, by binary
    search: CASE WHEN moment < starts[middle] THEN (the lower half) ELSE (the upper half) END."""
    if high - low == 1:
        return Value(low)
    middle = (low + high) // 2
    return Case(
        When(**{f"{moment}__lt": starts[middle]}, then=_span_index(moment, starts, low, middle)),
        default=_span_index(moment, starts, middle, high),
    )


# --- Cuts ----------------------------------------------------------------------------------


class Cut(enum.StrEnum):
    """How a period's rows split into groups.

    - channel: the invitation's (email, sms).
    - language: the one the customer answered in; for response rates, the customer's.
    - survey: by id, labelled with the survey's name.
    - product: the order's lines, by SKU (or by name without one); an order of several
      products counts once in each, an order without lines in the group None.
    - customer_type: "repeat" if the customer had placed an earlier order (cancelled ones
      too) than this one, else "first_time": the rule the sending filters use. For answers it
      is recorded on the response when stored (an earlier order imported after the customer
      answered does not change it); for response rates the orders are read as they are now.
    - value_tier: the shop's customers ranked by lifetime spend today (orders not cancelled):
      "top" is the 10% who spent most, "middle" the next 40%, "rest" everyone else (also
      customers whose orders were all cancelled). Ties share a tier: a customer belongs to
      the top 10% only if at most 10% of the shop's customers spent as much or more.
    """

    CHANNEL = "channel"
    LANGUAGE = "language"
    SURVEY = "survey"
    PRODUCT = "product"
    CUSTOMER_TYPE = "customer_type"
    VALUE_TIER = "value_tier"


CUSTOMER_TYPES = {"first_time": "First-time customers", "repeat": "Repeat customers"}
VALUE_TIERS = {"top": "Top 10% by lifetime spend", "middle": "Next 40%", "rest": "The other 50%"}
NO_PRODUCT = "No product recorded"

# The shares of a shop's customers, from the biggest spender down, that make the tiers.
TOP_TIER_SHARE, MIDDLE_TIER_SHARE = 0.10, 0.50


@dataclass(frozen=True)
class _Paths:
    """Where the cuts' fields lie, seen from the rows being counted."""

    channel: str
    language: str
    survey: str
    order: str
    customer: str
    # A boolean recorded on the row: repeat customer or not. Without one, the orders tell.
    repeat_customer: str | None = None


_FROM_ANSWERS = _Paths(
    channel="response__channel",  # recorded on the response: no join to the invitation
    language="response__language",  # the language the customer answered in
    survey="response__survey",
    order="response__invitation__order",
    customer="response__customer",
    repeat_customer="response__repeat_customer",
)
_FROM_INVITATIONS = _Paths(
    channel="channel",
    language="customer__language",  # no answer yet: the customer's language
    survey="survey",
    order="order",
    customer="customer",
)


def _spenders(shop: Shop, *, above: float, up_to: float) -> QuerySet[Order, dict[str, Any]]:
    """The ids of the shop's customers whose place by lifetime spend (orders not cancelled) lies
    in (above, up_to]. A customer's place is the share of the shop's customers who spent as much
    or more (CUME_DIST, biggest spender first), so customers who spent the same share a tier."""
    return (
        Order.objects.counted()
        .filter(shop=shop, cancelled_at__isnull=True)
        .values("customer_id")
        .annotate(spend=Sum("total"))
        .annotate(place=Window(CumeDist(), order_by=F("spend").desc()))
        .filter(place__gt=above, place__lte=up_to)
        .values("customer_id")
    )


def _cut_expression(cut: Cut, paths: _Paths, shop: Shop) -> Any:
    if cut == Cut.CHANNEL:
        return F(paths.channel)
    if cut == Cut.LANGUAGE:
        return F(paths.language)
    if cut == Cut.SURVEY:
        return F(f"{paths.survey}_id")
    if cut == Cut.PRODUCT:
        # An order of several products counts once for each.
        return Coalesce(
            NullIf(F(f"{paths.order}__lines__sku"), Value("")),
            NullIf(F(f"{paths.order}__lines__product_name"), Value("")),
        )
    if cut == Cut.CUSTOMER_TYPE and paths.repeat_customer is not None:
        return Case(When(**{paths.repeat_customer: True}, then=Value("repeat")), default=Value("first_time"))
    if cut == Cut.CUSTOMER_TYPE:
        # As the sending rules see it: repeat if the customer had placed an order before this one.
        earlier = Order.objects.counted().filter(
            customer_id=OuterRef(f"{paths.order}__customer_id"), placed_at__lt=OuterRef(f"{paths.order}__placed_at")
        )
        return Case(When(Exists(earlier), then=Value("repeat")), default=Value("first_time"))
    # Value tier: computed over the shop's customers now, not when they answered.
    top = _spenders(shop, above=0, up_to=TOP_TIER_SHARE)
    middle = _spenders(shop, above=TOP_TIER_SHARE, up_to=MIDDLE_TIER_SHARE)
    return Case(
        When(**{f"{paths.customer}_id__in": top}, then=Value("top")),
        When(**{f"{paths.customer}_id__in": middle}, then=Value("middle")),
        default=Value("rest"),
    )


def _label_aggregate(cut: Cut, paths: _Paths) -> Max | None:
    if cut == Cut.SURVEY:
        return Max(f"{paths.survey}__name")
    if cut == Cut.PRODUCT:
        return Max(f"{paths.order}__lines__product_name")
    return None


def _group_label(cut: Cut | None, key: str | None, counted_label: str | None) -> str:
    if cut is None:
        return "All"
    if cut == Cut.CHANNEL:
        return Channel(key).label if key in Channel.values else str(key)
    if cut == Cut.LANGUAGE:
        return Language(key).label if key in Language.values else str(key)
    if cut == Cut.CUSTOMER_TYPE:
        return CUSTOMER_TYPES[str(key)]
    if cut == Cut.VALUE_TIER:
        return VALUE_TIERS[str(key)]
    if cut == Cut.PRODUCT and key is None:
        return NO_PRODUCT
    return counted_label or str(key)


def _group_order(cut: Cut | None) -> Callable[[tuple[str | None, str]], tuple[int, str]]:
    fixed = list(CUSTOMER_TYPES if cut == Cut.CUSTOMER_TYPE else VALUE_TIERS if cut == Cut.VALUE_TIER else [])

    def order(group: tuple[str | None, str]) -> tuple[int, str]:
        key, label = group
        if key in fixed:
            return fixed.index(key), ""
        return (1 if key is None else 0), label.casefold()

    return order


# --- Trends --------------------------------------------------------------------------------

T = TypeVar("T", NpsTally, CsatTally, CesTally, ResponseRate)


@dataclass(frozen=True)
class Row(Generic[T]):
    """One period of one group: its tally, and the same group's tally the period before."""

    span: Span
    group: str | None  # None without a cut (and, cut by product, for orders without products)
    group_label: str
    tally: T
    previous: T

    @property
    def period_start(self) -> date:
        return self.span.first_day

    @property
    def period_end(self) -> date:
        return self.span.last_day

    @property
    def period_label(self) -> str:
        return self.span.label


@dataclass(frozen=True)
class _Measure(Generic[T]):
    """What one trend counts: conditional counts by name, and the tally made from them."""

    counts: dict[str, Q]
    tally: Callable[[dict[str, int]], T]
    # A column every counted row has: for answers the score, which answer_scored_time_idx
    # holds, so PostgreSQL counts from the index alone (COUNT(id) would read every row).
    counted: str = "pk"


_NPS = _Measure(
    counts={"promoters": Q(score__gte=9), "passives": Q(score__gte=7, score__lte=8), "detractors": Q(score__lte=6)},
    tally=lambda counts: NpsTally(**counts),
    counted="score",
)
_CSAT = _Measure(
    counts={"satisfied": Q(score__gte=4), "responses": Q()},
    tally=lambda counts: CsatTally(**counts),
    counted="score",
)
_CES = _Measure(
    counts={f"score_{score}": Q(score=score) for score in range(1, 8)},
    tally=lambda counts: CesTally(per_score=tuple(counts[f"score_{score}"] for score in range(1, 8))),
    counted="score",
)
_RESPONSE_RATE = _Measure(
    # Answering means the link was opened, even where the opening went unrecorded.
    counts={
        "sent": Q(),
        "opened": Q(opened_at__isnull=False) | Q(answered_at__isnull=False),
        "answered": Q(answered_at__isnull=False),
    },
    tally=lambda counts: ResponseRate(**counts),
)


def nps_trend(
    shop: Shop,
    *,
    since: date,
    until: date,
    period: Period = Period.MONTH,
    calendar: Calendar = Calendar.GREGORIAN,
    by: Cut | None = None,
) -> list[Row[NpsTally]]:
    """NPS per period (and group) over answered NPS questions, placed by when the response was
    submitted; the whole periods covering `since` to `until` (days in the shop's time zone)."""
    return _score_trend(shop, Question.Kind.NPS, _NPS, since, until, period, calendar, by)


def csat_trend(
    shop: Shop,
    *,
    since: date,
    until: date,
    period: Period = Period.MONTH,
    calendar: Calendar = Calendar.GREGORIAN,
    by: Cut | None = None,
) -> list[Row[CsatTally]]:
    """CSAT (the share of 4s and 5s) per period and group over answered CSAT questions."""
    return _score_trend(shop, Question.Kind.CSAT, _CSAT, since, until, period, calendar, by)


def ces_trend(
    shop: Shop,
    *,
    since: date,
    until: date,
    period: Period = Period.MONTH,
    calendar: Calendar = Calendar.GREGORIAN,
    by: Cut | None = None,
) -> list[Row[CesTally]]:
    """CES (the mean of 1–7) per period and group over answered CES questions."""
    return _score_trend(shop, Question.Kind.CES, _CES, since, until, period, calendar, by)


def response_rate_trend(
    shop: Shop,
    *,
    since: date,
    until: date,
    period: Period = Period.MONTH,
    calendar: Calendar = Calendar.GREGORIAN,
    by: Cut | None = None,
) -> list[Row[ResponseRate]]:
    """Sent → opened → answered per period and group, over the invitations sent in each period
    (a cohort: a recent period's rates still grow while its links are open)."""
    return _trend(
        Invitation.objects.filter(shop=shop, sent_at__isnull=False),
        _RESPONSE_RATE,
        moment="sent_at",
        paths=_FROM_INVITATIONS,
        shop=shop,
        since=since,
        until=until,
        period=period,
        calendar=calendar,
        by=by,
    )


def _score_trend(
    shop: Shop,
    kind: str,
    measure: _Measure[T],
    since: date,
    until: date,
    period: Period,
    calendar: Calendar,
    by: Cut | None,
) -> list[Row[T]]:
    """A scale question's trend: its scored answers, placed by when the response was submitted."""
    return _trend(
        _scored_answers(shop, kind),
        measure,
        moment="submitted_at",
        paths=_FROM_ANSWERS,
        shop=shop,
        since=since,
        until=until,
        period=period,
        calendar=calendar,
        by=by,
        # Everything counted is in answer_scored_time_idx: each period is a range of it.
        span_by_span=by is None,
    )


def _scored_answers(shop: Shop, kind: str) -> QuerySet[Answer]:
    """The shop's scored answers to questions of this kind, read from answer_scored_time_idx
    (the response is joined only to cut by it).

    The questions are looked up first and named in the query, not found by a subquery: with
    the ids in hand PostgreSQL estimates the rows from its statistics on each question, so for
    a big shop it plans for the million rows there are, not for the few hundred an average
    question has.
    """
    questions = list(Question.objects.filter(survey__shop=shop, kind=kind).values_list("pk", flat=True))
    return Answer.objects.filter(question__in=questions, score__isnull=False)


def _counts_span_by_span(
    rows: QuerySet[Any], moment: str, spans: list[Span], aggregates: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    """Each span's counts by a SELECT of its own over its stretch of the time index, the spans'
    SELECTs joined by UNION ALL: one query, and no work a row but the counting. (At most
    MAX_PERIODS + 1 SELECTs: SQLite takes up to 500 in one compound statement.)

    The SELECTs differ only in their range, so each is the same queryset filtered (building 25
    querysets of their own cost the ORM twice the time). Each returns the earliest time it
    counted, which tells its span; a span without rows counts nothing and is left out.
    """
    one = rows.values(first=Min(moment)).annotate(**aggregates).order_by()
    parts = [one.filter(**{f"{moment}__gte": span.start, f"{moment}__lt": span.end}) for span in spans]
    starts = [span.start for span in spans]
    for found in parts[0].union(*parts[1:], all=True):
        first = found.pop("first")
        if first is not None:
            yield {"span": bisect_right(starts, first) - 1, **found}


def _counts_placed(
    rows: QuerySet[Any], moment: str, spans: list[Span], aggregates: dict[str, Any], grouping: dict[str, Any]
) -> QuerySet[Any, dict[str, Any]]:
    """The counts by span (and group) in one pass over the whole range, each row placed in its
    span by comparing its time with the spans' starts."""
    grouping = {"span": _span_index(moment, [span.start for span in spans], 0, len(spans)), **grouping}
    return (
        rows.filter(**{f"{moment}__gte": spans[0].start, f"{moment}__lt": spans[-1].end})
        .annotate(**grouping)
        .values(*grouping)
        .annotate(**aggregates)
        .order_by()
    )


def _trend(
    rows: QuerySet[Any],
    measure: _Measure[T],
    *,
    moment: str,
    paths: _Paths,
    shop: Shop,
    since: date,
    until: date,
    period: Period,
    calendar: Calendar,
    by: Cut | None,
    span_by_span: bool = False,
) -> list[Row[T]]:
    """One aggregate query: the measure's counts by period and group, laid out as a row for
    every period asked for and every group seen in them, zeros where none. `span_by_span`
    counts each period by a SELECT of its own (fast where an index holds all that is counted)."""
    tz = shop.tz
    # The period before the first is counted too, only to compare the first with.
    spans = period_spans(since, until, period=period, calendar=calendar, tz=tz)
    spans.insert(0, _previous_span(spans[0], period=period, calendar=calendar, tz=tz))
    # Cut by product, a row joins once per order line: count each row once.
    counted = "pk" if by == Cut.PRODUCT else measure.counted
    aggregates: dict[str, Any] = {
        name: Count(counted, filter=condition, distinct=by == Cut.PRODUCT) for name, condition in measure.counts.items()
    }
    grouping: dict[str, Any] = {}
    if by is not None:
        grouping["group"] = _cut_expression(by, paths, shop)
        if (label := _label_aggregate(by, paths)) is not None:
            aggregates["label"] = label
    found_rows: Iterable[dict[str, Any]]
    if span_by_span and not grouping:
        found_rows = _counts_span_by_span(rows, moment, spans, aggregates)
    else:
        found_rows = _counts_placed(rows, moment, spans, aggregates, grouping)

    counts: dict[tuple[int, str | None], dict[str, int]] = {}
    labels: dict[str | None, str] = {}
    for found in found_rows:
        index = found.pop("span")
        group = found.pop("group", None)
        key = None if group is None else str(group)
        counted_label = found.pop("label", None)
        labels.setdefault(key, _group_label(by, key, counted_label))
        counts[index, key] = found

    keys = {key for index, key in counts if index > 0} if by is not None else {None}
    groups = sorted(((key, labels.get(key) or _group_label(by, key, None)) for key in keys), key=_group_order(by))
    empty = measure.tally(dict.fromkeys(measure.counts, 0))

    def tally(index: int, key: str | None) -> T:
        found = counts.get((index, key))
        return measure.tally(found) if found is not None else empty

    return [
        Row(span=span, group=key, group_label=label, tally=tally(index, key), previous=tally(index - 1, key))
        for index, span in enumerate(spans)
        if index > 0
        for key, label in groups
    ]
