"""The report's quality charts: each quality.json breakdown drawn with one colour per run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from synthgen.outputs.export.run_files import Run
from synthgen.outputs.report.figures import bar_chart, histogram


@dataclass(frozen=True)
class Chart:
    """One chart of the report: its title, its inline SVG, or why it is missing (`svg` is then "")."""

    title: str
    svg: str
    note: str = ""


# (quality.json key, title, how to draw it)
CHARTS = (
    ("kept_by_type", "Kept items by question type", "bars"),
    ("kept_by_difficulty", "Kept items by difficulty", "bars"),
    ("rejected_by_stage", "Rejected items by stage", "bars"),
    ("rejected_by_reason", "Rejected items by reason", "horizontal"),
    ("coverage_by_document", "Chunk coverage by document", "coverage"),
    ("question_lengths", "Question length", "lengths"),
    ("similarities", "Question similarity (nearest other question)", "similarities"),
)
# Documents in the coverage chart: past this many only the least covered are drawn (a bar per document of a
# 1,000-file corpus is unreadable, and drawing it took most of a run's report time).
MAX_DOCUMENTS = 20


def quality_charts(runs: list[Run], colours: dict[str, str]) -> list[Chart]:
    """Every chart of CHARTS for the runs that recorded its data; a chart no run recorded says so."""
    charts = []
    for key, title, kind in CHARTS:
        series: dict[str, Any] = {run.name: run.quality[key] for run in runs if _drawable(run.quality.get(key))}
        if not series:
            charts.append(Chart(title, "", f"not recorded (no `{key}` in quality.json)"))
            continue
        if kind == "coverage":
            series, title = _least_covered(series, title)
        if kind == "lengths":
            svg = histogram(series, colours, label="words per question", integers=True)
        elif kind == "similarities":
            svg = histogram(series, colours, label="similarity (0-1)", value_range=(0.0, 1.0))
        else:
            svg = bar_chart(
                series,
                colours,
                label="share of chunks" if kind == "coverage" else "items",
                horizontal=kind in ("horizontal", "coverage"),
                percent=kind == "coverage",
            )
        charts.append(Chart(title, svg))
    return charts


def _least_covered(series: dict[str, Any], title: str) -> tuple[dict[str, Any], str]:
    """The MAX_DOCUMENTS documents with the lowest coverage in any run (all of them when there are no more), and
    the chart's title saying so."""
    lowest: dict[str, float] = {}
    for coverage in series.values():
        for document, share in coverage.items():
            lowest[document] = min(share, lowest.get(document, share))
    if len(lowest) <= MAX_DOCUMENTS:
        return series, title
    shown = sorted(lowest, key=lambda document: (lowest[document], document))[:MAX_DOCUMENTS]
    kept = {
        name: {document: coverage[document] for document in shown if document in coverage}
        for name, coverage in series.items()
    }
    return kept, f"{title} (the {MAX_DOCUMENTS} least covered of {len(lowest)})"


def _drawable(value: Any) -> bool:
    """A non-empty count mapping (category -> number) or list of numbers; anything else is not drawn."""
    numbers = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return bool(numbers) and all(isinstance(n, int | float) and not isinstance(n, bool) for n in numbers)
