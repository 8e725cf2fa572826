"""The report's trial section: a trial's accuracies with their intervals, read from its trial.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

GROUPS = (("by_type", "question type"), ("by_difficulty", "difficulty"), ("by_document", "document"))


def trial_rows(run_dir: Path) -> tuple[str, list[list[str]]]:
    """(how the answers were scored, one row per figure: what, group, accuracy, interval, items); ("", []) when the
    run is not a trial."""
    path = run_dir / "trial.json"
    if not path.is_file():
        return "", []
    summary = json.loads(path.read_text(encoding="utf-8"))
    rows = [_row("accuracy", "all items", summary["accuracy"])]
    for key, label in GROUPS:
        rows += [_row(label, name, rate) for name, rate in summary.get(key, {}).items()]
    rows.append(_row("refusal rate", "out_of_scope", summary["refusal_rate_out_of_scope"]))
    rows.append(_row("premise correction", "false_premise", summary["premise_correction_rate_false_premise"]))
    latency = summary.get("latency_seconds", {})
    cost = summary.get("cost_per_item_usd")
    rows.append(
        [
            "latency p50 / p95 (s)",
            f"{latency.get('calls', 0)} live calls",
            f"{latency.get('p50')} / {latency.get('p95')}",
            "",
            "",
        ]
    )
    rows.append(["cost per item (USD)", "", f"{cost:.6f}" if cost is not None else "–", "", ""])
    return str(summary.get("scoring", "")), rows


def _row(what: str, group: str, rate: dict[str, Any]) -> list[str]:
    if rate.get("rate") is None:
        return [what, group, "–", "", "0"]
    return [what, group, f"{rate['rate']:.2f}", f"[{rate['low']:.2f}, {rate['high']:.2f}]", str(rate["total"])]
