"""Charts as inline SVG text, one series (colour) per run, drawn with matplotlib's object API.

matplotlib is imported on first use (it is slow to import). Figures are made with `matplotlib.figure.Figure`
and saved through the SVG canvas: no pyplot, no GUI backend and no global backend switch, so it works on a
headless machine and leaves a host process's matplotlib settings alone. Text stays text in the SVG
(`svg.fonttype: none`) and ids are salted per chart, so several charts share one HTML page.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

WIDTH, HEIGHT = 5.6, 2.8  # inches
METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.DOTALL)  # the generator's RDF record, not needed inline
MAX_LABEL = 28  # characters of a category label before it is shortened
DEFAULT_BINS, MAX_BINS = 20, 40


def run_colours(count: int) -> list[str]:
    """`count` distinct hex colours, one per run, the same for the same count."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    palette = colormaps["tab10" if count <= 10 else "tab20"]
    return [to_hex(palette(index % palette.N)) for index in range(count)]


def bar_chart(
    series: dict[str, dict[str, float]],
    colours: dict[str, str],
    *,
    label: str,
    chart_id: str,
    horizontal: bool = False,
    percent: bool = False,
) -> str:
    """Bars per category, grouped side by side with one colour per series (run); returns SVG text."""
    from matplotlib.ticker import MaxNLocator

    categories = list(dict.fromkeys(key for counts in series.values() for key in counts))
    ticks = [_short(str(category)) for category in categories]
    unit = f"{label} (%)" if percent else label
    width = 0.8 / len(series)
    height = max(HEIGHT, 0.22 * len(categories) * len(series) + 0.9) if horizontal else HEIGHT
    with _chart(chart_id, height) as (figure, axes):
        for number, (name, counts) in enumerate(series.items()):
            positions = [index + (number - (len(series) - 1) / 2) * width for index in range(len(categories))]
            values = [counts.get(category, 0) * (100 if percent else 1) for category in categories]
            (axes.barh if horizontal else axes.bar)(positions, values, width * 0.95, color=colours[name], label=name)
        count_axis = axes.xaxis if horizontal else axes.yaxis
        if not percent:
            count_axis.set_major_locator(MaxNLocator(integer=True))
        if horizontal:
            axes.set_yticks(range(len(categories)), ticks)
            axes.invert_yaxis()
            axes.set_xlabel(unit)
        else:
            crowded = len(categories) > 4
            axes.set_xticks(
                range(len(categories)), ticks, rotation=30 if crowded else 0, ha="right" if crowded else "center"
            )
            axes.set_ylabel(unit)
        return _svg(figure, axes, legend=len(series) > 1)


def histogram(
    series: dict[str, list[float]],
    colours: dict[str, str],
    *,
    label: str,
    chart_id: str,
    value_range: tuple[float, float] | None = None,
    integers: bool = False,
) -> str:
    """A histogram of each series' values (filled for one series, outlines for several); returns SVG text.

    Whole-number values (`integers`) get one bar per value while there are at most MAX_BINS of them.
    """
    from matplotlib.ticker import MaxNLocator

    values = [value for items in series.values() for value in items]
    low, high = value_range or (min(values), max(values))
    bins = DEFAULT_BINS
    if integers and high - low + 1 <= MAX_BINS:
        bins, low, high = int(high - low + 1), low - 0.5, high + 0.5
    elif high <= low:
        high = low + 1
    with _chart(chart_id, HEIGHT) as (figure, axes):
        for name, items in series.items():
            if len(series) > 1:
                axes.hist(
                    items, bins=bins, range=(low, high), color=colours[name], label=name, histtype="step", linewidth=1.6
                )
            else:
                axes.hist(items, bins=bins, range=(low, high), color=colours[name], label=name, alpha=0.85)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel(label)
        axes.set_ylabel("items")
        return _svg(figure, axes, legend=len(series) > 1)


@contextmanager
def _chart(chart_id: str, height: float) -> Iterator[tuple[Figure, Axes]]:
    """A figure with one axes, drawn under the report's style; ids in its SVG are salted with `chart_id`."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": chart_id, "font.size": 9}):
        figure = Figure(figsize=(WIDTH, height), layout="constrained")
        axes = figure.add_subplot()
        axes.spines[["top", "right"]].set_visible(False)
        axes.grid(alpha=0.25)
        axes.set_axisbelow(True)
        yield figure, axes


def _svg(figure: Figure, axes: Axes, *, legend: bool) -> str:
    if legend:
        axes.legend(fontsize="small", frameon=False)
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return METADATA.sub("", text[text.index("<svg") :], count=1)


def _short(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"
