"""The report's charts as vector SVG: crisp in print at any zoom, and text a PDF reader can find.

Right-to-left editions mirror the time axis (the latest month on the left, where a Persian
reader's line ends), as the answer page's 0–10 scale reads from the right.
"""

from collections.abc import Callable, Sequence
from html import escape

from feedback.insights.chart import consecutive_runs, nps_axis
from feedback.insights.tallies import NpsTally

INK = "#1f2328"
MUTED = "#6b7280"
GRID = "#d8dee4"
RED, GREY, GREEN = "#c2410c", "#9ca3af", "#15803d"


# The trend chart's plot area within its width: the month names below it (laid out as HTML,
# see the template) line up with these margins.
TREND_WIDTH, TREND_LEFT, TREND_RIGHT = 640, 34, 10


def trend_chart(
    tallies: Sequence[NpsTally], *, colour: str, rtl: bool, format_number: Callable[[float], str], height: int = 200
) -> str:
    """NPS per month with its 95% margin as a band (a bar for a month alone); months without
    answers leave a gap. Each month sits in the middle of an equal slot. The axis and the runs
    of answered months are the dashboard's (feedback.insights.chart), so both charts read alike."""
    width, left, right, top, bottom = TREND_WIDTH, TREND_LEFT, TREND_RIGHT, 12, 12
    plot_width, plot_height = width - left - right, height - top - bottom
    # (score, lower, upper) of each month with answers, the margin kept within the scale.
    bounds: dict[int, tuple[float, float, float]] = {}
    for index, tally in enumerate(tallies):
        if tally.score is not None and tally.margin_of_error is not None:
            margin = tally.margin_of_error
            bounds[index] = (tally.score, max(tally.score - margin, -100.0), min(tally.score + margin, 100.0))
    low, high, step = nps_axis(
        min((lower for _, lower, _ in bounds.values()), default=0.0),
        max((upper for *_, upper in bounds.values()), default=0.0),
    )

    def x(index: int) -> float:
        position = plot_width * (index + 0.5) / max(len(tallies), 1)
        return left + (plot_width - position if rtl else position)

    def y(value: float) -> float:
        return top + plot_height * (high - value) / (high - low)

    parts = [_svg_open(width, height, "NPS by month")]
    for tick in range(low, high + 1, step):
        parts.append(_line(left, y(tick), width - right, y(tick), GRID if tick else MUTED, 0.6 if tick else 0.9))
        parts.append(_text(left - 4, y(tick) + 3, format_number(tick), anchor="end", size=7, fill=MUTED))
    for run in consecutive_runs(sorted(bounds)):
        if len(run) == 1:  # a month alone: its margin as an error bar
            _, lower, upper = bounds[run[0]]
            parts.append(_line(x(run[0]), y(lower), x(run[0]), y(upper), colour, 1.2))
            for end in (lower, upper):
                parts.append(_line(x(run[0]) - 3, y(end), x(run[0]) + 3, y(end), colour, 1.2))
            continue
        edge = [(x(i), y(bounds[i][2])) for i in run] + [(x(i), y(bounds[i][1])) for i in reversed(run)]
        parts.append(f'<polygon points="{_points(edge)}" fill="{colour}" fill-opacity="0.13" stroke="none"/>')
        line = [(x(i), y(bounds[i][0])) for i in run]
        parts.append(f'<polyline points="{_points(line)}" fill="none" stroke="{colour}" stroke-width="1.8"/>')
    last = len(tallies) - 1
    for index, (score, _, _) in bounds.items():
        parts.append(
            f'<circle cx="{x(index):.1f}" cy="{y(score):.1f}" r="{3 if index == last else 2}" fill="{colour}"/>'
        )
        if index == last:
            parts.append(_text(x(index), y(score) - 6, format_number(score), anchor="middle", size=8))
    parts.append("</svg>")
    return "".join(parts)


def distribution_chart(
    counts: Sequence[int], *, rtl: bool, format_number: Callable[[float], str], width: int = 300
) -> str:
    """How many answered 0, 1, … 10: detractors red, passives grey, promoters green."""
    height, top, bottom = 120, 12, 18
    plot_height = height - top - bottom
    most = max(max(counts, default=0), 1)
    slot = width / len(counts)
    parts = [_svg_open(width, height, "Answers by score")]
    for score, count in enumerate(counts):
        column = len(counts) - 1 - score if rtl else score
        bar = plot_height * count / most
        colour = RED if score <= 6 else GREY if score <= 8 else GREEN
        x = column * slot + slot * 0.15
        parts.append(
            f'<rect x="{x:.1f}" y="{top + plot_height - bar:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{bar:.1f}" fill="{colour}"/>'
        )
        if count:
            parts.append(
                _text(x + slot * 0.35, top + plot_height - bar - 2, format_number(count), anchor="middle", size=6)
            )
        parts.append(_text(x + slot * 0.35, height - 5, format_number(score), anchor="middle", size=7, fill=MUTED))
    parts.append("</svg>")
    return "".join(parts)


def _svg_open(width: int | float, height: int | float, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img"><title>{escape(title)}</title>'
    )


def _line(x1: float, y1: float, x2: float, y2: float, colour: str, width: float) -> str:
    return f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}" stroke-width="{width}"/>'


def _text(x: float, y: float, text: str, *, anchor: str, size: float, fill: str = INK) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" fill="{fill}">{escape(text)}</text>'
    )


def _points(pairs: list[tuple[float, float]]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in pairs)
