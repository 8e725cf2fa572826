"""Charts as inline SVG text, one series (colour) per run: grouped bars and histograms, written as SVG elements.

The report's charts are simple (bars on a linear axis with round ticks), so they are written directly: drawing
them with matplotlib cost about 1.5 s of CPU per report (its import and a layout pass per chart), more than the
rest of a warm 200-call run. Text stays text (the labels are searchable and scale with the page); nothing in the
SVG has an id, so several charts share one HTML page.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from html import escape

WIDTH, HEIGHT = 560, 280  # pixels of a chart; a horizontal one grows with its bars
FONT = 11  # pixels; label widths are estimated at CHAR_WIDTH of it per character
CHAR_WIDTH = 0.6
MAX_LABEL = 28  # characters of a category label before it is shortened
DEFAULT_BINS, MAX_BINS = 20, 40
ROW = 16  # pixels per bar of a horizontal chart
# matplotlib's tab10 and tab20 palettes.
TAB10 = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
TAB20 = (
    "#1f77b4", "#aec7e8", "#ff7f0e", "#ffbb78", "#2ca02c", "#98df8a", "#d62728", "#ff9896", "#9467bd", "#c5b0d5",
    "#8c564b", "#c49c94", "#e377c2", "#f7b6d2", "#7f7f7f", "#c7c7c7", "#bcbd22", "#dbdb8d", "#17becf", "#9edae5",
)  # fmt: skip


def run_colours(count: int) -> list[str]:
    """`count` distinct hex colours, one per run, the same for the same count."""
    palette = TAB10 if count <= 10 else TAB20
    return [palette[index % len(palette)] for index in range(count)]


def bar_chart(
    series: dict[str, dict[str, float]],
    colours: dict[str, str],
    *,
    label: str,
    horizontal: bool = False,
    percent: bool = False,
) -> str:
    """Bars per category, grouped side by side with one colour per series (run); returns SVG text."""
    categories = list(dict.fromkeys(key for counts in series.values() for key in counts))
    scale = 100 if percent else 1
    values = {name: [counts.get(category, 0) * scale for category in categories] for name, counts in series.items()}
    ticks = _ticks(max((v for row in values.values() for v in row), default=0), integers=not percent)
    unit = f"{label} (%)" if percent else label
    names = [_short(str(category)) for category in categories]
    labels = max((len(name) for name in names), default=0) * FONT * CHAR_WIDTH
    crowded = not horizontal and len(categories) > 4
    if horizontal:
        height = max(HEIGHT, ROW * len(categories) * len(series) + 70)
        plot = _Plot(left=labels + 16, top=10 + _legend_height(series), right=WIDTH - 16, bottom=height - 40)
    else:
        height = HEIGHT
        below = labels * 0.5 + 30 if crowded else 34
        plot = _Plot(left=56, top=10 + _legend_height(series), right=WIDTH - 16, bottom=height - below)
    parts = [*plot.value_axis(ticks, unit, horizontal=horizontal)]
    slot = (plot.bottom - plot.top if horizontal else plot.right - plot.left) / max(1, len(categories))
    width = slot * 0.8 / len(series)
    for number, (name, row) in enumerate(values.items()):
        for index, value in enumerate(row):
            start = index * slot + slot * 0.1 + number * width
            length = value / ticks[-1] * (plot.right - plot.left if horizontal else plot.bottom - plot.top)
            if horizontal:
                box = (plot.left, plot.top + start, length, width * 0.95)
            else:
                box = (plot.left + start, plot.bottom - length, width * 0.95, length)
            parts.append(_rect(*box, f"fill: {colours[name]}", f"{name}: {categories[index]} {value:g}"))
    for index, name in enumerate(names):
        middle = index * slot + slot / 2
        if horizontal:
            parts.append(_text(plot.left - 6, plot.top + middle + FONT / 3, name, anchor="end"))
        elif crowded:
            x, y = plot.left + middle, plot.bottom + FONT + 4
            parts.append(_text(x, y, name, anchor="end", rotate=(-30, x, y)))
        else:
            parts.append(_text(plot.left + middle, plot.bottom + FONT + 6, name, anchor="middle"))
    return _svg(height, parts, series, colours)


def histogram(
    series: dict[str, list[float]],
    colours: dict[str, str],
    *,
    label: str,
    value_range: tuple[float, float] | None = None,
    integers: bool = False,
) -> str:
    """A histogram of each series' values (filled for one series, outlines for several); returns SVG text.

    Whole-number values (`integers`) get one bar per value while there are at most MAX_BINS of them.
    """
    values = [value for items in series.values() for value in items]
    low, high = value_range or (min(values), max(values))
    bins = DEFAULT_BINS
    if integers and high - low + 1 <= MAX_BINS:
        bins, low, high = int(high - low + 1), low - 0.5, high + 0.5
    elif high <= low:
        high = low + 1
    counts = {name: _bin(items, bins, low, high) for name, items in series.items()}
    ticks = _ticks(max((c for row in counts.values() for c in row), default=0), integers=True)
    plot = _Plot(left=56, top=10 + _legend_height(series), right=WIDTH - 16, bottom=HEIGHT - 34)
    parts = [*plot.value_axis(ticks, "items", horizontal=False)]
    step = (plot.right - plot.left) / bins
    for name, row in counts.items():
        heights = [count / ticks[-1] * (plot.bottom - plot.top) for count in row]
        if len(series) == 1:
            for index, bar in enumerate(heights):
                box = (plot.left + index * step, plot.bottom - bar, step, bar)
                parts.append(_rect(*box, f"fill: {colours[name]}; fill-opacity: 0.85", f"{row[index]}"))
        else:  # an outline per series, so they overlap readably
            points = [f"{plot.left:.1f},{plot.bottom:.1f}"]
            for index, bar in enumerate(heights):
                y = plot.bottom - bar
                points += [f"{plot.left + index * step:.1f},{y:.1f}", f"{plot.left + (index + 1) * step:.1f},{y:.1f}"]
            points.append(f"{plot.right:.1f},{plot.bottom:.1f}")
            style = f"fill: none; stroke: {colours[name]}; stroke-width: 1.6"
            parts.append(f'<polyline points="{" ".join(points)}" style="{style}"/>')
    for tick in _ticks(high - low, integers=integers, start=low):
        x = plot.left + (tick - low) / (high - low) * (plot.right - plot.left)
        if plot.left - 0.5 <= x <= plot.right + 0.5:
            parts.append(_line(x, plot.bottom, x, plot.bottom + 4))
            parts.append(_text(x, plot.bottom + FONT + 6, f"{tick:g}", anchor="middle"))
    parts.append(_text((plot.left + plot.right) / 2, HEIGHT - 4, label, anchor="middle"))
    return _svg(HEIGHT, parts, series, colours)


class _Plot:
    """The plotting area of a chart, in pixels from the top left."""

    def __init__(self, *, left: float, top: float, right: float, bottom: float) -> None:
        self.left, self.top, self.right, self.bottom = left, top, right, bottom

    def value_axis(self, ticks: list[float], unit: str, *, horizontal: bool) -> list[str]:
        """Grid lines and labels of the value axis (along x when `horizontal`), the axis lines and the unit."""
        parts = []
        for tick in ticks:
            share = tick / ticks[-1]
            if horizontal:
                x = self.left + share * (self.right - self.left)
                parts.append(_line(x, self.top, x, self.bottom, grid=True))
                parts.append(_text(x, self.bottom + FONT + 6, f"{tick:g}", anchor="middle"))
            else:
                y = self.bottom - share * (self.bottom - self.top)
                parts.append(_line(self.left, y, self.right, y, grid=True))
                parts.append(_text(self.left - 6, y + FONT / 3, f"{tick:g}", anchor="end"))
        parts += [
            _line(self.left, self.top, self.left, self.bottom),
            _line(self.left, self.bottom, self.right, self.bottom),
        ]
        if horizontal:
            parts.append(_text((self.left + self.right) / 2, self.bottom + 2 * FONT + 12, unit, anchor="middle"))
        else:
            middle = (self.top + self.bottom) / 2
            parts.append(_text(14, middle, unit, anchor="middle", rotate=(-90, 14, middle)))
        return parts


def _ticks(span: float, *, integers: bool, start: float = 0.0) -> list[float]:
    """Round tick values from `start` covering `span` (0 to at least 1 when there is nothing): about 5 of them,
    spaced 1, 2 or 5 times a power of ten (whole numbers only, when `integers`)."""
    span = max(span, 1.0 if integers else 1e-9)
    rough = span / 5
    power = 10 ** math.floor(math.log10(rough))
    step = next(factor * power for factor in (1, 2, 5, 10) if factor * power >= rough)
    if integers:
        step = max(1.0, round(step))
    first = math.ceil(start / step - 1e-9) * step
    count = math.ceil((start + span - first) / step - 1e-9)
    return [round(first + index * step, 10) for index in range(count + 1)]


def _bin(values: list[float], bins: int, low: float, high: float) -> list[int]:
    """How many values fall in each of `bins` equal bins from low to high (the last bin includes high)."""
    counts = [0] * bins
    for value in values:
        if low <= value <= high:
            counts[min(bins - 1, int((value - low) / (high - low) * bins))] += 1
    return counts


def _legend_height(series: Mapping[str, object]) -> float:
    return (FONT + 6) * len(series) if len(series) > 1 else 0


def _svg(height: float, parts: list[str], series: Mapping[str, object], colours: dict[str, str]) -> str:
    """The chart's SVG element: its parts, with a legend (one line per series) when there are several."""
    if len(series) > 1:
        for number, name in enumerate(series):
            y = 8 + number * (FONT + 6)
            parts.append(_rect(WIDTH - 150, y, 10, 10, f"fill: {colours[name]}"))
            parts.append(_text(WIDTH - 134, y + 9, _short(name), anchor="start"))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0f}" width="{WIDTH}" '
        f'height="{height:.0f}" font-family="sans-serif" font-size="{FONT}">' + "".join(parts) + "</svg>"
    )


def _rect(x: float, y: float, width: float, height: float, style: str, title: str = "") -> str:
    tip = f"<title>{escape(title)}</title>" if title else ""
    return f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}" style="{style}">{tip}</rect>'


def _line(x1: float, y1: float, x2: float, y2: float, *, grid: bool = False) -> str:
    style = "stroke: #000; stroke-opacity: 0.25" if grid else "stroke: #333"
    return f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" style="{style}"/>'


def _text(x: float, y: float, text: str, *, anchor: str, rotate: tuple[float, float, float] | None = None) -> str:
    turn = f' transform="rotate({rotate[0]:g} {rotate[1]:.1f} {rotate[2]:.1f})"' if rotate else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{turn}>{escape(text)}</text>'


def _short(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"
