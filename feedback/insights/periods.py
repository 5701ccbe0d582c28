"""Periods: whole days, weeks or months in the shop's time zone, Gregorian or Jalali, worked out
as aware datetimes (zoneinfo) the database compares times with. Gregorian weeks start on Monday
(ISO), Jalali weeks on Saturday."""

import enum
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

import jdatetime
from django.db.models import Case, Value, When
from django.db.models.expressions import Expression

from surveys.errors import DomainError

# One request's limit, so a year of days fits but ten years of them do not.
MAX_PERIODS = 400


class TooManyPeriods(DomainError):
    status_code = 422


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


def previous_span(span: Span, *, period: Period, calendar: Calendar, tz: tzinfo) -> Span:
    day = span.first_day - timedelta(days=1)
    return period_spans(day, day, period=period, calendar=calendar, tz=tz)[0]


def span_index(moment: str, starts: list[datetime], low: int, high: int) -> Expression:
    """Which of the spans starting at `starts[low:high]` a row's `moment` falls in, by binary
    search: CASE WHEN moment < starts[middle] THEN (the lower half) ELSE (the upper half) END."""
    if high - low == 1:
        return Value(low)
    middle = (low + high) // 2
    return Case(
        When(**{f"{moment}__lt": starts[middle]}, then=span_index(moment, starts, low, middle)),
        default=span_index(moment, starts, middle, high),
    )
