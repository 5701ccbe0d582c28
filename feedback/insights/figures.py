"""The dashboard's words and numbers: the period tallies added up into the range's, changes
from the period before, and each figure written as text."""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import jdatetime

from feedback.insights.choices import FEW_ANSWERS
from feedback.insights.metrics import Row
from feedback.insights.periods import Calendar, Period, Span
from feedback.insights.tallies import (
    CesTally,
    CsatTally,
    NpsTally,
    ResponseRate,
    ces_changed_significantly,
    csat_changed_significantly,
    nps_changed_significantly,
)

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
