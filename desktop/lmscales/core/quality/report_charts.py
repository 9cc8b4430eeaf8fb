"""The report's inline SVG charts: per task, box-and-strip plots of a figure per side (every run a dot, outliers
ringed, never dropped), and for the whole run the quality-against-cost chart; and `answer_block`, one side's answer
as every report shows it. No script, no font, nothing fetched; every label that came from outside is escaped.

The quality-against-cost chart's cost is money per 100 items. When no side of any task cost money (two sides on
this computer, a free tier) that axis would put every point on zero, so `cost_axis` takes energy instead, or CPU
time where energy is not known on both sides, and the chart's title and the report's caption say which."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape

import numpy as np

from lmscales.core.quality.results import SIDES, EvalResult, SideInfo, TaskFigures, TaskResult
from lmscales.core.quality.stats import SeriesSummary

COLOURS = {"small": "#c2561a", "large": "#2563a8"}
TASK_TITLES = {"translate": "Translation", "summarize": "Summarization", "chat": "Chat"}


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _num(value: float, digits: int = 3) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


# -- SVG helpers -------------------------------------------------------------------------------------------------

def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        high = low + 1.0
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while True:
        if value >= low - step * 1e-9:
            ticks.append(round(value, 10))
        if value >= high - step * 1e-9:
            return ticks
        value += step


def _log_ticks(low: float, high: float) -> list[float]:
    ticks = []
    for exponent in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1):
        for mantissa in (1, 2, 5):
            value = mantissa * 10.0 ** exponent
            if low <= value <= high:
                ticks.append(value)
    return ticks


class _Scale:
    """Maps data values to pixels on [left, right], linear or logarithmic."""

    def __init__(self, values: Iterable[float], left: float, right: float, log: bool | None = None) -> None:
        data = [v for v in values if math.isfinite(v)]
        low, high = (min(data), max(data)) if data else (0.0, 1.0)
        positive = low > 0
        self.log = bool(positive and high / low >= 20) if log is None else (log and positive)
        if self.log:
            self.low, self.high = 10 ** math.floor(math.log10(low)), 10 ** math.ceil(math.log10(high))
            self.ticks = _log_ticks(self.low, self.high)
        else:
            span = high - low
            low_edge = 0.0 if low >= 0 and (low < span or low == high == 0) else low - span * 0.1
            ticks = _nice_ticks(low_edge, high + (span * 0.05 if span else abs(high) * 0.1 or 1.0))
            self.low, self.high, self.ticks = ticks[0], ticks[-1], ticks
        self.left, self.right = left, right

    def __call__(self, value: float) -> float:
        if self.log:
            fraction = (math.log10(value) - math.log10(self.low)) / (math.log10(self.high) - math.log10(self.low))
        else:
            fraction = (value - self.low) / ((self.high - self.low) or 1.0)
        return self.left + fraction * (self.right - self.left)


def _jitter(index: int) -> float:
    """Deterministic spread in [-1, 1] so the same data always draws the same picture."""
    return ((index * 0.6180339887) % 1.0) * 2.0 - 1.0


def distribution_svg(title: str, unit: str, samples: Mapping[str, Sequence[float]],
                     summaries: Mapping[str, SeriesSummary], sides: Mapping[str, SideInfo]) -> str:
    """A horizontal box plot with every run drawn as a dot, one row per side."""
    rows = [side for side in SIDES if samples.get(side)]
    width, label_width, row_height, top = 520, 70, 50, 34
    height = top + row_height * max(len(rows), 1) + 44
    scale = _Scale([v for side in rows for v in samples[side]], label_width + 10, width - 18)
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'xmlns="http://www.w3.org/2000/svg" aria-label="{_e(title)}">',
             f'<title>{_e(title)}</title>',
             f'<text x="8" y="20" class="chart-title">{_e(title)}</text>']
    axis_y = top + row_height * max(len(rows), 1) + 4
    for tick in scale.ticks:
        x = scale(tick)
        parts.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{axis_y}" class="grid"/>')
        parts.append(f'<text x="{x:.1f}" y="{axis_y + 16}" class="tick" text-anchor="middle">{_e(_num(tick))}</text>')
    parts.append(f'<text x="{(label_width + width) / 2:.0f}" y="{axis_y + 34}" class="axis-label" '
                 f'text-anchor="middle">{_e(unit)}{" (log scale)" if scale.log else ""}</text>')
    for row, side in enumerate(rows):
        values = np.asarray(samples[side], dtype=float)
        summary = summaries[side]
        centre = top + row_height * row + row_height / 2
        colour = COLOURS[side]
        q1, median, q3 = (float(v) for v in np.percentile(values, [25, 50, 75]))
        iqr = q3 - q1
        inside = values[(values >= q1 - 1.5 * iqr) & (values <= q3 + 1.5 * iqr)]
        whisker_low, whisker_high = float(inside.min()), float(inside.max())
        label = sides[side].label if side in sides else side
        parts.append(f'<text x="8" y="{centre + 4:.1f}" class="row-label" fill="{colour}">{_e(side)}'
                     f"<title>{_e(label)}</title></text>")
        parts.append(f'<line x1="{scale(whisker_low):.1f}" y1="{centre:.1f}" x2="{scale(whisker_high):.1f}" '
                     f'y2="{centre:.1f}" stroke="{colour}" class="whisker"/>')
        for end in (whisker_low, whisker_high):
            parts.append(f'<line x1="{scale(end):.1f}" y1="{centre - 7:.1f}" x2="{scale(end):.1f}" '
                         f'y2="{centre + 7:.1f}" stroke="{colour}" class="whisker"/>')
        parts.append(f'<rect x="{scale(q1):.1f}" y="{centre - 13:.1f}" width="{max(scale(q3) - scale(q1), 1.5):.1f}" '
                     f'height="26" fill="{colour}" class="box"><title>{_e(side)}: median {_num(median)}, '
                     f'interquartile range {_num(q1)}–{_num(q3)} {_e(unit)}</title></rect>')
        parts.append(f'<line x1="{scale(median):.1f}" y1="{centre - 13:.1f}" x2="{scale(median):.1f}" '
                     f'y2="{centre + 13:.1f}" stroke="{colour}" class="median"/>')
        for index, value in enumerate(values):
            y = centre + _jitter(index) * 9
            outlier = index in summary.outliers
            parts.append(f'<circle cx="{scale(float(value)):.1f}" cy="{y:.1f}" r="{3.6 if outlier else 2.4}" '
                         f'class="{"dot outlier" if outlier else "dot"}" fill="{colour}">'
                         f'<title>{_num(float(value))} {_e(unit)}{" (outlier: modified z > 3.5)" if outlier else ""}'
                         f'</title></circle>')
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True)
class CostAxis:
    """What the quality-against-cost chart puts on its x axis."""

    field: str  # the SideCost field: cost_per_100, energy_wh_per_100 or cpu_seconds_per_100
    title: str  # the chart's title
    label: str  # the x axis's label, with its unit
    caption: str  # what the report says under the chart


def _scored_costs(result: EvalResult, figures: Sequence[tuple[TaskResult, TaskFigures]], field: str
                  ) -> list[tuple[float | None, float | None]]:
    """(small, large) values of `field` for each task with a main score."""
    pairs = []
    for task, fig in figures:
        if fig.primary is None:
            continue
        costs = [task.costs.get(side) for side in SIDES]
        pairs.append(tuple(getattr(cost, field) if cost is not None else None for cost in costs))
    return pairs  # type: ignore[return-value]


def cost_axis(result: EvalResult, figures: Sequence[tuple[TaskResult, TaskFigures]]) -> CostAxis:
    """Money where any side of any task cost some; else energy where both sides of a task have it and it is not
    all zero; else CPU time likewise; else money (the chart then shows what it can)."""
    currency = next((task.costs["large"].currency for task, _ in figures if "large" in task.costs), "USD")
    money = CostAxis("cost_per_100", "Quality against cost", f"money per 100 items ({currency})",
                     "Each task's main score for each side against what 100 items cost in money. A side on this "
                     "computer costs no money, but CPU time and energy (see each task's table).")
    if any(value for pair in _scored_costs(result, figures, "cost_per_100") for value in pair):
        return money
    fallbacks = (
        CostAxis("energy_wh_per_100", "Quality against energy (no side cost money)", "energy per 100 items (Wh)",
                 "Neither side cost any money, so this chart puts each task's main score for each side against the "
                 "energy 100 items used (measured or estimated; see each task's table for where each figure comes "
                 "from)."),
        CostAxis("cpu_seconds_per_100", "Quality against CPU time (no side cost money; energy not known for both)",
                 "CPU time per 100 items (CPU-s)",
                 "Neither side cost any money and energy is not known for both sides, so this chart puts each task's "
                 "main score for each side against the CPU time 100 items took on this computer."),
    )
    for axis in fallbacks:
        pairs = _scored_costs(result, figures, axis.field)
        if any(small is not None and large is not None and (small or large) for small, large in pairs):
            return axis
    return money


def quality_cost_svg(result: EvalResult, figures: Sequence[tuple[TaskResult, TaskFigures]]) -> str:
    """Each task's main score (y) against its cost per 100 items (x; see `cost_axis`), small and large joined by a
    line."""
    axis = cost_axis(result, figures)
    points: list[tuple[str, str, float, float, str]] = []  # task, side, cost, score, score name
    for task, fig in figures:
        if fig.primary is None:
            continue
        for side in SIDES:
            cost = task.costs.get(side)
            value = getattr(cost, axis.field) if cost is not None else None
            if value is None:
                continue
            score = fig.primary.mean_small if side == "small" else fig.primary.mean_large
            points.append((task.task, side, value, score, fig.primary.name))
    width, height, left, right, top, bottom = 780, 340, 64, 520, 40, 282
    title = axis.title
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'xmlns="http://www.w3.org/2000/svg" aria-label="{_e(title)}">', f"<title>{_e(title)}</title>",
             f'<text x="8" y="20" class="chart-title">{_e(title)}</text>']
    if not points:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" class="tick">No cost or score to '
                     "plot.</text></svg>")
        return "".join(parts)
    x_scale = _Scale([p[2] for p in points], left, right, log=False)
    y_ticks = [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]

    def y_of(score: float) -> float:
        return bottom - (score / 100.0) * (bottom - top)

    for tick in y_ticks:
        parts.append(f'<line x1="{left}" y1="{y_of(tick):.1f}" x2="{right}" y2="{y_of(tick):.1f}" class="grid"/>')
        parts.append(f'<text x="{left - 8}" y="{y_of(tick) + 4:.1f}" class="tick" text-anchor="end">{tick:.0f}</text>')
    for tick in x_scale.ticks:
        x = x_scale(tick)
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" class="grid"/>')
        parts.append(f'<text x="{x:.1f}" y="{bottom + 16}" class="tick" text-anchor="middle">{_e(_num(tick))}</text>')
    parts.append(f'<text x="{(left + right) / 2:.0f}" y="{bottom + 38}" class="axis-label" text-anchor="middle">'
                 f"{_e(axis.label)}</text>")
    parts.append(f'<text x="16" y="{(top + bottom) / 2:.0f}" class="axis-label" text-anchor="middle" '
                 f'transform="rotate(-90 16 {(top + bottom) / 2:.0f})">main score (0–100)</text>')
    for task_name in dict.fromkeys(p[0] for p in points):
        pair = [p for p in points if p[0] == task_name]
        if len(pair) == 2:
            (_, _, x1, y1, _), (_, _, x2, y2, _) = pair
            parts.append(f'<line x1="{x_scale(x1):.1f}" y1="{y_of(y1):.1f}" x2="{x_scale(x2):.1f}" '
                         f'y2="{y_of(y2):.1f}" class="pair-line"/>')
    label_y: dict[tuple[str, str], float] = {}
    for side in SIDES:  # labels of one side stacked at least 16 px apart so they never overlap
        placed = sorted((y_of(p[3]), p[0]) for p in points if p[1] == side)
        previous = -math.inf
        for y, task_name in placed:
            y = max(y, previous + 16)
            label_y[(task_name, side)] = y
            previous = y
    for task_name, side, money, score, score_name in points:
        x, y = x_scale(money), y_of(score)
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="{COLOURS[side]}" class="point">'
                     f"<title>{_e(side)} · {_e(task_name)}: {_e(score_name)} {score:.1f}, {_num(money)} "
                     f"({_e(axis.label)})</title></circle>")
        text_y = label_y[(task_name, side)]
        parts.append(f'<line x1="{x + 7:.1f}" y1="{y:.1f}" x2="{right + 14:.1f}" y2="{text_y:.1f}" class="leader" '
                     f'stroke="{COLOURS[side]}"/>' if side == "large" else
                     f'<line x1="{x + 7:.1f}" y1="{y:.1f}" x2="{x + 22:.1f}" y2="{text_y:.1f}" class="leader" '
                     f'stroke="{COLOURS[side]}"/>')
        label_x = right + 18 if side == "large" else x + 26
        parts.append(f'<text x="{label_x:.1f}" y="{text_y + 4:.1f}" class="point-label">'
                     f"{_e(side)} · {_e(task_name)} ({_e(score_name)} {score:.0f})</text>")
    parts.append("</svg>")
    return "".join(parts)


# -- HTML pieces ------------------------------------------------------------------------------------------------

def answer_block(side: str, label: str, output: str, scores: Mapping[str, float] | None = None,
                 notes: Sequence[str] = (), badge: str = "", problem: str = "") -> str:
    """One side's answer as the report shows it: the side and its label (and a `badge`, e.g. "recorded"), score
    chips, the answer as escaped text (or the `problem` that left it without one), failed checks' notes."""
    chips = "".join(f'<span class="chip">{_e(name)} {value:.0f}</span>' for name, value in (scores or {}).items())
    items = "".join(f'<li>{_e(note)}</li>' for note in notes)
    notes_html = f'<ul class="notes">{items}</ul>' if items else ""
    badge_html = f' <span class="badge">{_e(badge)}</span>' if badge else ""
    problem_html = f'<p class="problem">{_e(problem)}</p>' if problem else ""
    body = f'<pre class="answer">{_e(output)}</pre>' if output.strip() else '<p class="na">(empty answer)</p>'
    return (f'<div class="answer-cell {_e(side)}"><div class="answer-head"><b>{_e(side)}</b> · {_e(label)}'
            f"{badge_html}</div><div>{chips}</div>{problem_html}{body}{notes_html}</div>")
