"""The headline figures of a run (counts, cost, quality), formatted for the dataset card and the report."""

from __future__ import annotations

from typing import Any

from synthgen.outputs.export.run_files import Run

# (key in quality.json, label, format): share = percentage, float = 3 decimals, int = thousands separators.
QUALITY_FIGURES = (
    ("kept", "kept items", "int"),
    ("requested", "requested items", "int"),
    ("coverage", "chunk coverage", "share"),
    ("chunks_covered", "chunks covered", "int"),
    ("chunks", "chunks", "int"),
    ("duplicates_removed", "duplicates removed", "int"),
    ("distinct_1", "distinct-1 (unique words)", "float"),
    ("distinct_2", "distinct-2 (unique word pairs)", "float"),
    ("similarity_mean", "question similarity, mean", "float"),
    ("similarity_max", "question similarity, max", "float"),
    ("question_length_mean", "question length, mean words", "float"),
)
COST_FIGURES = (
    ("status", "status", "text"),
    ("calls", "model calls", "int"),
    ("cache_hits", "cache hits", "int"),
    ("prompt_tokens", "prompt tokens", "int"),
    ("completion_tokens", "completion tokens", "int"),
    ("cost_usd", "cost (USD)", "usd"),
    ("wall_seconds", "wall time (s)", "float"),
)


def quality_figures(run: Run) -> dict[str, str]:
    """The run's quality.json headline figures as label -> text, in a fixed order; absent ones are left out."""
    return _figures(run.quality, QUALITY_FIGURES)


def cost_figures(run: Run) -> dict[str, str]:
    """The run's stats.json counts and cost as label -> text, in a fixed order; absent ones are left out."""
    return _figures(run.stats, COST_FIGURES)


def question_count(run: Run) -> int:
    """The questions of a document run plus the items of a facts run."""
    return sum(len(session["conversation"]) for session in run.sessions) + len(run.facts)


def answered_count(run: Run) -> int:
    """The questions with a ground-truth answer plus the facts items (each has its answer)."""
    answered = sum(1 for s in run.sessions for batch in s["conversation"] if batch.get("ground_truth_assistant"))
    return answered + len(run.facts)


def format_value(value: Any, kind: str) -> str:
    """`value` as text of the given kind (int, float, share, usd, text)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or kind == "text":
        return str(value)
    if kind == "int":
        return f"{value:,.0f}"
    if kind == "share":
        return f"{value:.1%}"
    if kind == "usd":
        return f"${value:,.4f}"
    return f"{value:,.3f}"


def _figures(source: dict[str, Any], figures: tuple[tuple[str, str, str], ...]) -> dict[str, str]:
    return {label: format_value(source[key], kind) for key, label, kind in figures if source.get(key) is not None}
