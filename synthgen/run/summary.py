"""The short table printed at the end of a run: the main numbers of stats.json and quality.json."""

from __future__ import annotations

from typing import Any

_QUALITY = (("coverage", "chunk coverage", "{:.0%}"), ("distinct_2", "distinct-2", "{:.2f}"),
            ("similarity_mean", "mean similarity", "{:.2f}"))  # fmt: skip


def summary_table(stats: dict[str, Any], quality: dict[str, Any] | None) -> str:
    """Two aligned columns: what was asked and kept, what was dropped, what it cost, and the quality figures."""
    counts = stats.get("counts", {})
    rows: list[tuple[str, str]] = [("status", str(stats["status"]))]
    rows += [(name.replace("_", " "), str(value)) for name, value in counts.items()]
    rows += [
        ("failures", str(stats["failures"])),
        ("calls (from cache)", f"{stats['calls']} ({stats['cache_hits']})"),
        ("cost (USD)", f"{stats['cost_usd']:.4f}"),
        ("wall seconds", f"{stats['wall_seconds']:.1f}"),
    ]
    if quality:
        rows += [(label, form.format(quality[key])) for key, label, form in _QUALITY if quality.get(key) is not None]
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"  {label:<{width}}  {value}" for label, value in rows)
