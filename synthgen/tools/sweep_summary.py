"""The multirun summary: a Hydra callback that tabulates every job of a sweep into summary.md and summary.csv
(and, for a sweep of trials, compares the assistants and writes calibration.jsonl).

Jobs may run in other processes or on other machines (joblib, Ray, SLURM launchers), so the table is built
from the job directories on disk: each job's `.hydra/overrides.yaml`, `.hydra/hydra.yaml`, `stats.json` and
`quality.json`.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from synthgen.core.errors import UserError
from synthgen.outputs.report.page import write_sweep_report

COLUMNS = (
    "job",
    "overrides",
    "status",
    "error",
    "requested",
    "produced",
    "duplicates_removed",
    "rejected",
    "kept",
    "coverage",
    "distinct_2",
    "similarity_mean",
    "calls",
    "cache_hits",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "wall_seconds",
)
TOTALS = ("calls", "cache_hits", "prompt_tokens", "completion_tokens", "cost_usd", "wall_seconds")
QUALITY = ("coverage", "distinct_2", "similarity_mean")  # from the job's quality.json, when it wrote one
SUCCEEDED = ("completed", "dry_run")


class SweepSummary(Callback):
    """After a multirun, writes summary.md and summary.csv in the sweep directory; exits non-zero if a job failed.

    Single runs are untouched. Job directories left in the sweep directory by an earlier sweep are not listed.
    """

    def __init__(self) -> None:
        self._before: dict[Path, int] = {}

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Note the job directories that already exist, so only this sweep's jobs are summarised."""
        self._before = _job_files(Path(config.hydra.sweep.dir))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """Write the summary of this sweep's jobs; raise SystemExit with a failed job's exit code if any failed."""
        sweep_dir = Path(config.hydra.sweep.dir)
        jobs = [job for job, mtime in _job_files(sweep_dir).items() if self._before.get(job) != mtime]
        job_dirs = [path.parent.parent for path in jobs]
        rows = summary_rows(job_dirs)
        write_summary(sweep_dir, rows)
        from synthgen.pipelines.trial.calibration import write_calibration  # only a sweep's end needs it

        trial_lines = write_calibration(sweep_dir, job_dirs)  # a sweep of trials: calibration.jsonl
        if trial_lines:
            with (sweep_dir / "summary.md").open("a", encoding="utf-8") as summary:
                summary.write("\n" + "\n".join(trial_lines) + "\n")
        if config.get("report", True):
            _write_report(sweep_dir)
        failed = [row for row in rows if row["status"] not in SUCCEEDED]
        print(f"synthgen: sweep of {len(rows)} jobs, {len(failed)} failed: {sweep_dir / 'summary.md'}", file=sys.stderr)
        if failed:
            raise SystemExit(failed[0]["exit_code"] or 1)


def _write_report(sweep_dir: Path) -> None:
    """report.html comparing the jobs; a sweep with nothing to show gets a note instead."""
    try:
        write_sweep_report(sweep_dir)
    except UserError as error:
        print(f"synthgen: note: no sweep report.html: {error}", file=sys.stderr)


def summary_rows(jobs: list[Path]) -> list[dict[str, Any]]:
    """One row per job directory, in job number order; `overrides` shows what differs between the jobs."""
    rows = sorted((job_row(job) for job in jobs), key=lambda row: row["job"])
    shared = set.intersection(*(set(row["overrides"]) for row in rows)) if len(rows) > 1 else set()
    for row in rows:
        row["overrides"] = " ".join(item for item in row["overrides"] if item not in shared)
    return rows


def job_row(job: Path) -> dict[str, Any]:
    """The summary row of one job directory (`overrides` as a list; `exit_code` beside the columns)."""
    hydra = OmegaConf.load(job / ".hydra" / "hydra.yaml")
    row: dict[str, Any] = dict.fromkeys(COLUMNS, "")
    row["job"] = hydra.hydra.job.num
    row["overrides"] = list(OmegaConf.load(job / ".hydra" / "overrides.yaml"))
    stats_path = job / "stats.json"
    if not stats_path.is_file():
        return {
            **row,
            "status": "missing",
            "exit_code": None,
            "error": f"no stats.json in {job}: the job was killed before it finished (see its log)",
        }
    stats = json.loads(stats_path.read_text(encoding="utf-8"))
    row.update({key: stats.get(key, "") for key in ("status", "error", *TOTALS)})
    row.update(stats.get("counts", {}))
    quality_path = job / "quality.json"
    if quality_path.is_file():
        quality = json.loads(quality_path.read_text(encoding="utf-8"))
        row.update({key: quality[key] for key in QUALITY if key in quality})
    return {**row, "exit_code": stats.get("exit_code")}


def write_summary(sweep_dir: Path, rows: list[dict[str, Any]]) -> None:
    """summary.csv (every column, raw values) and summary.md (a table) in `sweep_dir`."""
    with (sweep_dir / "summary.csv").open("w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    failed = sum(row["status"] not in SUCCEEDED for row in rows)
    lines = [
        f"# Sweep summary: {len(rows)} jobs, {failed} failed",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join("---" if column in ("overrides", "status", "error") else "--:" for column in COLUMNS) + "|",
        *("| " + " | ".join(_cell(column, row[column]) for column in COLUMNS) + " |" for row in rows),
    ]
    (sweep_dir / "summary.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _cell(column: str, value: Any) -> str:
    if column in ("cost_usd", "wall_seconds") and isinstance(value, (int, float)):
        value = f"{value:.4f}" if column == "cost_usd" else f"{value:.1f}"
    elif column in QUALITY and isinstance(value, (int, float)):
        value = f"{value:.2f}"
    return str(value).replace("\n", " ").replace("|", "\\|")


def _job_files(sweep_dir: Path) -> dict[Path, int]:
    """Every job's overrides.yaml under `sweep_dir` with its modification time (Hydra rewrites it per job)."""
    return {path: path.stat().st_mtime_ns for path in sweep_dir.glob("**/.hydra/overrides.yaml")}
