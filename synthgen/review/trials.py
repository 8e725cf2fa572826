"""What trials of the set say about each item, for the page: every assistant's answer and verdict (scores.jsonl of
each trial run) and the panel's flags (calibration.jsonl of a sweep of trials), joined to the items by `qa_id`."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from synthgen.core.errors import UserError
from synthgen.core.jsonl import read_jsonl
from synthgen.pipelines.trial.calibration import CALIBRATION, FLAGS
from synthgen.pipelines.trial.pipeline import SCORES_FILE
from synthgen.pipelines.trial.summary import ScoreRow


@dataclass(frozen=True)
class TrialResult:
    """One assistant's answer to an item and how it was scored."""

    assistant: str
    context: str
    verdict: str
    reason: str
    answer: str


@dataclass
class Trials:
    """Per qa_id: the trial results and the calibration flags (`suspect`, `trivial`)."""

    results: dict[str, list[TrialResult]] = field(default_factory=lambda: defaultdict(list))
    flags: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))


def load_trials(paths: list[Path]) -> Trials:
    """The results of every trial run in `paths` (a trial run directory, or a sweep directory of trial jobs with its
    calibration.jsonl); one UserError line for a path that holds no trial."""
    trials = Trials()
    for path in paths:
        scores = [path / SCORES_FILE] if (path / SCORES_FILE).is_file() else sorted(path.glob(f"*/{SCORES_FILE}"))
        if not scores:
            raise UserError(
                f"--trial {path}: no {SCORES_FILE} there nor in its job directories (fix: pass a mode=trial run "
                "directory or the sweep directory of trials over this set)"
            )
        for file in scores:
            for raw in read_jsonl(file):
                row = ScoreRow.model_validate(raw)
                trials.results[row.qa_id].append(
                    TrialResult(row.assistant, row.context, row.verdict or "not scored", row.reason, row.answer)
                )
        for calibrated in read_jsonl(path / CALIBRATION, missing_ok=True):
            trials.flags[str(calibrated["qa_id"])] += [flag for flag in FLAGS if calibrated.get(flag) is True]
    return trials
