"""The NPS trend's geometry, drawn as an inline SVG by the dashboard and shared with the
monthly report's charts (reports/charts.py): its axis and runs of answered periods."""

import math
from dataclasses import dataclass

from django.utils.translation import gettext as _

from feedback.insights.figures import PeriodLine, axis_label, signed, whole
from feedback.insights.metrics import Row
from feedback.insights.periods import Calendar, Period
from feedback.insights.tallies import NpsTally

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
    lowest, highest = min(bound[1] for bound in bounds.values()), max(bound[2] for bound in bounds.values())
    low, high, tick_step = nps_axis(lowest, highest)

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
            lower, upper = bounds[run[0]][1:]
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
        title = _("%(period)s: NPS %(score)s %(margin)s from %(answers)s answers") % {
            "period": line.name,
            "score": line.nps.score,
            "margin": line.nps.margin,
            "answers": line.nps.responses,
        }
        if line.change is not None:
            title += _("; ") + line.change.words
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
        if len(run) == 1:
            title = _("No answers: %(period)s") % {"period": first}
        else:
            title = _("No answers: %(first)s to %(last)s") % {"first": first, "last": last}
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
