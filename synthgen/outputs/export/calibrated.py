"""`--drop suspect,trivial`: the calibrated subset of a run, without the items a sweep of trials flagged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from synthgen.core.errors import UserError
from synthgen.core.jsonl import read_jsonl, write_jsonl

FLAGS = ("suspect", "trivial")
KEPT_FILES = ("stats.json", "quality.json")


def parse_flags(text: str) -> list[str]:
    """The flags of `--drop`, checked."""
    flags = [flag.strip() for flag in text.split(",") if flag.strip()]
    unknown = [flag for flag in flags if flag not in FLAGS]
    if unknown or not flags:
        raise UserError(
            f"--drop {text!r}: unknown flag {unknown[0] if unknown else '(none)'} (fix: --drop suspect,trivial)"
        )
    return flags


def calibrated_run(run_dir: Path, calibration: Path, flags: list[str], out: Path) -> tuple[Path, int]:
    """Write the run's datasets less the flagged items into the run directory `out`; (out, items dropped)."""
    if not (run_dir / "datasets.jsonl").is_file():
        raise UserError(f"--drop needs a document-mode run directory holding datasets.jsonl, not {run_dir}")
    if not calibration.is_file():
        raise UserError(
            f"--drop: no calibration file {calibration} (fix: run a sweep of trials over this set, e.g. "
            f"-m mode=trial source={run_dir} mode.context=none,reference; pass --calibration SWEEP/calibration.jsonl)"
        )
    flagged = {row["qa_id"] for row in read_jsonl(calibration) if any(row.get(flag) is True for flag in flags)}
    datasets, dropped = [], 0
    for dataset in read_jsonl(run_dir / "datasets.jsonl"):
        kept = [turn for turn in dataset["conversation"] if turn["qa_id"] not in flagged]
        dropped += len(dataset["conversation"]) - len(kept)
        if kept:
            datasets.append({**dataset, "conversation": kept})
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(out / "datasets.jsonl", datasets)
    for name in KEPT_FILES:
        if (run_dir / name).is_file():
            shutil.copyfile(run_dir / name, out / name)
    if (run_dir / ".hydra").is_dir():
        shutil.copytree(run_dir / ".hydra", out / ".hydra", dirs_exist_ok=True)
    (out / "calibration.json").write_text(
        json.dumps({"calibration": str(calibration), "dropped_flags": flags, "dropped_items": dropped}) + "\n",
        encoding="utf-8",
    )
    return out, dropped
