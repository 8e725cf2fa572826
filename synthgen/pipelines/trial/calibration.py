"""What a sweep of trials (a panel of assistants, or one assistant over mode.context=none,reference) tells about the
items themselves: calibration.jsonl (per item, who answered it correctly with and without the reference context,
an empirical difficulty, the `suspect` and `trivial` flags) and the assistants compared with their intervals."""

from __future__ import annotations

import json
from collections import defaultdict
from itertools import combinations
from pathlib import Path
from typing import Any

from synthgen.core.jsonl import read_jsonl, write_jsonl
from synthgen.pipelines.trial.pipeline import SCORES_FILE, TRIAL_FILE
from synthgen.pipelines.trial.scoring import CORRECT
from synthgen.pipelines.trial.summary import ScoreRow

CALIBRATION = "calibration.jsonl"
FLAGS = ("suspect", "trivial")


def trial_jobs(jobs: list[Path]) -> list[tuple[Path, dict[str, Any]]]:
    """The job directories that hold a trial's results, with their trial.json."""
    found = []
    for job in jobs:
        if (job / TRIAL_FILE).is_file() and (job / SCORES_FILE).is_file():
            found.append((job, json.loads((job / TRIAL_FILE).read_text(encoding="utf-8"))))
    return found


def empirical_difficulty(rate: float) -> str:
    """easy when two thirds or more of the panel answered correctly, hard under a third, else medium."""
    return "easy" if rate >= 2 / 3 else "medium" if rate >= 1 / 3 else "hard"


def calibrate(trials: list[tuple[Path, dict[str, Any]]]) -> list[dict[str, Any]]:
    """One row per item the panel scored: the share of answers correct per context, the empirical difficulty next
    to the generator's, and the flags: `suspect` (none correct even with the reference context), `trivial` (all
    correct with no context)."""
    outcomes: dict[str, dict[str, list[bool]]] = defaultdict(lambda: {"reference": [], "none": []})
    items: dict[str, ScoreRow] = {}
    for job, summary in trials:
        for raw in read_jsonl(job / SCORES_FILE):
            row = ScoreRow.model_validate(raw)
            if row.verdict is None:
                continue
            items.setdefault(row.qa_id, row)
            outcomes[row.qa_id][summary.get("context") or row.context].append(row.verdict == CORRECT)
    rows = []
    for qa_id, item in items.items():
        with_reference, without = outcomes[qa_id]["reference"], outcomes[qa_id]["none"]
        measured = without or with_reference
        rows.append(
            {
                "qa_id": qa_id,
                "session_id": item.session_id,
                "query": item.query,
                "question_type": item.question_type,
                "difficulty": item.difficulty,
                "answers_with_reference": len(with_reference),
                "correct_with_reference": _share(with_reference),
                "answers_without_context": len(without),
                "correct_without_context": _share(without),
                "empirical_difficulty": empirical_difficulty(sum(measured) / len(measured)),
                "suspect": bool(with_reference) and not any(with_reference),
                "trivial": bool(without) and all(without),
            }
        )
    return rows


def _share(outcomes: list[bool]) -> float | None:
    return round(sum(outcomes) / len(outcomes), 4) if outcomes else None


def write_calibration(sweep_dir: Path, jobs: list[Path]) -> list[str]:
    """calibration.jsonl in the sweep directory, and the lines of summary.md's trial section; [] without trials."""
    trials = trial_jobs(jobs)
    if not trials:
        return []
    rows = calibrate(trials)
    write_jsonl(sweep_dir / CALIBRATION, rows)
    return [*_comparison(trials), "", *_calibration_lines(rows)]


def _comparison(trials: list[tuple[Path, dict[str, Any]]]) -> list[str]:
    """The assistants side by side with their intervals, and which intervals overlap."""
    lines = [
        "## Trial: assistants compared",
        "",
        "| job | assistant | context | scoring | accuracy | 95% interval | items |",
        "|---|---|---|---|--:|---|--:|",
    ]
    named = []
    for job, summary in trials:
        accuracy = summary["accuracy"]
        name = f"{summary.get('assistant')} ({summary.get('context')})"
        named.append((name, accuracy))
        scoring = "judge" if summary.get("judge") else "deterministic"
        if accuracy["rate"] is None:
            lines.append(
                f"| {job.name} | {summary.get('assistant')} | {summary.get('context')} | {scoring} | - | - | 0 |"
            )
            continue
        lines.append(
            f"| {job.name} | {summary.get('assistant')} | {summary.get('context')} | {scoring} | "
            f"{accuracy['rate']:.2f} | [{accuracy['low']:.2f}, {accuracy['high']:.2f}] | {accuracy['total']} |"
        )
    scored = [(name, accuracy) for name, accuracy in named if accuracy["rate"] is not None]
    overlapping = [
        f"{a} and {b}"
        for (a, first), (b, second) in combinations(scored, 2)
        if first["low"] <= second["high"] and second["low"] <= first["high"]
    ]
    lines.append("")
    if overlapping:
        lines.append("Intervals overlap (the difference is not shown at this size): " + "; ".join(overlapping) + ".")
    elif len(scored) > 1:
        lines.append("No two intervals overlap.")
    return lines


def _calibration_lines(rows: list[dict[str, Any]]) -> list[str]:
    labelled = [row for row in rows if row["difficulty"]]
    agree = sum(row["difficulty"] == row["empirical_difficulty"] for row in labelled)
    agreement = f"{agree} of {len(labelled)}" if labelled else "no item has a generator label"
    return [
        f"## Calibration ({CALIBRATION})",
        "",
        f"- items: {len(rows)}; suspect (no assistant correct with the reference context): "
        f"{sum(row['suspect'] for row in rows)}; trivial (every assistant correct without context): "
        f"{sum(row['trivial'] for row in rows)}",
        f"- empirical difficulty agrees with the generator's label: {agreement}",
    ]
