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
back before the first row, so even the first row has something to compare with."""

from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, TypeVar

from django.db.models import Count, Min, Q, QuerySet

from feedback.insights.cuts import (
    FROM_ANSWERS,
    FROM_INVITATIONS,
    Cut,
    Paths,
    cut_expression,
    group_label,
    group_order,
    label_aggregate,
)
from feedback.insights.periods import Calendar, Period, Span, period_spans, previous_span, span_index
from feedback.insights.tallies import CesTally, CsatTally, NpsTally, ResponseRate
from feedback.models import Answer
from surveys.models import Invitation, Question, Shop

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
        paths=FROM_INVITATIONS,
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
        paths=FROM_ANSWERS,
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
    grouping = {"span": span_index(moment, [span.start for span in spans], 0, len(spans)), **grouping}
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
    paths: Paths,
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
    spans.insert(0, previous_span(spans[0], period=period, calendar=calendar, tz=tz))
    # Cut by product, a row joins once per order line: count each row once.
    counted = "pk" if by == Cut.PRODUCT else measure.counted
    aggregates: dict[str, Any] = {
        name: Count(counted, filter=condition, distinct=by == Cut.PRODUCT) for name, condition in measure.counts.items()
    }
    grouping: dict[str, Any] = {}
    if by is not None:
        grouping["group"] = cut_expression(by, paths, shop)
        if (label := label_aggregate(by, paths)) is not None:
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
        labels.setdefault(key, group_label(by, key, counted_label))
        counts[index, key] = found

    keys = {key for index, key in counts if index > 0} if by is not None else {None}
    groups = sorted(((key, labels.get(key) or group_label(by, key, None)) for key in keys), key=group_order(by))
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
