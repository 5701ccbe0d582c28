"""The dashboard's words and numbers: the period tallies added up into the range's, changes
from the period before, and each figure written as text."""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

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
from surveys import localise

# --- Words and numbers, in the page's language (surveys.localise) ------------------------------


def language() -> str:
    return get_language() or "en"


def whole(value: float) -> int:
    """Rounded half up, the way a reader rounds (Python's round() goes to even)."""
    return math.floor(value + 0.5)


def signed(value: float) -> str:
    """An NPS or a change as a reader writes it: +34, −12, 0 (the sign says the direction)."""
    return localise.format_signed(whole(value), language())


def percent(value: float | None) -> str:
    return "—" if value is None else localise.format_percent(whole(value), language())


def share(part: int, of: int) -> str:
    return percent(100.0 * part / of if of else None)


def count(number: int) -> str:
    return localise.format_number(number, language())


def one_decimal(value: float) -> str:
    return localise.format_number(value, language(), places=1)


def duration(value: timedelta | None) -> str:
    """A mean time, as precise as it is worth: 40 min, 5.5 h, 3.2 days."""
    return "—" if value is None else localise.format_mean_duration(value, language())


def calendar_date(day: date, calendar: Calendar) -> tuple[str, str, str]:
    """Day, month name and year of a day in the calendar: ("4", "Azar", "1405"), ("25", "Nov",
    "2026"), in Persian ("۴", "آذر", "۱۴۰۵")."""
    return localise.calendar_parts(day, language(), jalali=calendar == Calendar.JALALI)


def day_name(day: date, calendar: Calendar) -> str:
    number, month, year = calendar_date(day, calendar)
    return f"{number} {month} {year}"


def period_name(span: Span, *, period: Period, calendar: Calendar) -> str:
    """A period in a sentence: "Nov 2026", "Azar 1405", "3 Nov 2026", "week of 8 Aban 1405"."""
    day, month, year = calendar_date(span.first_day, calendar)
    if period == Period.MONTH:
        return f"{month} {year}"
    if period == Period.WEEK:
        return _("week of %(day)s") % {"day": f"{day} {month} {year}"}
    return f"{day} {month} {year}"


def axis_label(span: Span, *, period: Period, calendar: Calendar) -> tuple[str, str]:
    """A period under the chart: the month (or day) and, on a second line, its year."""
    day, month, year = calendar_date(span.first_day, calendar)
    return (month if period == Period.MONTH else f"{day} {month}"), year


def as_of(moment: datetime, *, tz: tzinfo, calendar: Calendar) -> str:
    """When the numbers were counted, in the page's calendar: "4 Azar 1405, 14:30"."""
    local = moment.astimezone(tz)
    clock = localise.localise_digits(f"{local:%H:%M}", language())
    return f"{day_name(local.date(), calendar)}{'، ' if language() == 'fa' else ', '}{clock}"


def _moved(direction: str, amount: str) -> str:
    """A change said once, by a word and a number without a sign: "up 5 points"."""
    if direction == "up":
        return _("up %(amount)s") % {"amount": amount}
    if direction == "down":
        return _("down %(amount)s") % {"amount": amount}
    return _("about the same")


def _verdict(significant: bool) -> str:
    return _("a significant change") if significant else _("within chance, not a significant change")


def points(number: int) -> str:
    return ngettext("%(count)s point", "%(count)s points", number) % {"count": count(number)}


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
            return _("No significant change")
        if self.direction == "up":
            return _("Significant rise")
        return _("Significant fall") if self.direction == "down" else _("Significant change")

    @property
    def words(self) -> str:
        return _("%(moved)s: %(verdict)s") % {
            "moved": _moved(self.direction, points(self.points)),
            "verdict": _verdict(self.significant),
        }


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
            return _("Nothing to compare")
        return Change(direction=self.direction, points=0, significant=self.significant).badge

    @property
    def words(self) -> str:
        if self.significant is None:
            return _("%(period)s had too few answers to compare with") % {"period": self.previous_period}
        return _("%(moved)s: %(verdict)s") % {
            "moved": _moved(self.direction, self.amount),
            "verdict": _verdict(self.significant),
        }


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
    moved = whole(row.tally.score or 0) - whole(row.previous.score or 0)
    return ScoreChange(
        period=names[index],
        so_far=row.span.end > now,
        value=percent(row.tally.score),
        previous_period=names[index - 1] if index else lead_name,
        previous_value=percent(row.previous.score),
        direction=_direction(moved),
        amount=points(abs(moved)),
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
    # The difference of the one-decimal means shown, so the reader's subtraction agrees.
    difference = (
        round(row.tally.score or 0, 1) - round(row.previous.score, 1) if row.previous.score is not None else 0.0
    )
    return ScoreChange(
        period=names[index],
        so_far=row.span.end > now,
        value=shown,
        previous_period=names[index - 1] if index else lead_name,
        previous_value=previous,
        direction=_direction(round(difference, 1)),
        amount=one_decimal(abs(difference)),
        significant=ces_changed_significantly(row.tally, row.previous),
    )


def mean_text(value: float | None) -> str:
    """A CES mean as the card shows it: one decimal."""
    return "—" if value is None else one_decimal(value)


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
        return "" if margin is None else f"±{count(whole(margin))}"

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
