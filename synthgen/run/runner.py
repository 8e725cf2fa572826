"""Running one job for the CLI (`run_job`: exit codes, one error line) or for a caller (`execute_job`: raises)."""

from __future__ import annotations

import json
import logging
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from omegaconf import DictConfig

from synthgen.core.errors import CRASH_EXIT_CODE, RunInterrupted, UserError
from synthgen.core.jsonl import write_json
from synthgen.core.secrets import hidden, redact
from synthgen.run.job import Job, prepare_job

log = logging.getLogger("synthgen")


def run_job(cfg: DictConfig, out_dir: Path, job: Job | None = None, *, sweep_job: bool = False) -> int:
    """Run the configured job into `out_dir` (`job`: already prepared by the preflight); returns the exit code.

    A UserError is one `synthgen: <label>:` line on stderr, also written to the job log and to stats.json
    (`status`, `error`, `exit_code`, for the sweep summary). A single run that failed its checks leaves its run
    directory as it was (no stats.json is written); a sweep job records the failure for the summary. A bug exits
    with CRASH_EXIT_CODE: one line on stderr, the traceback in the job log.
    """
    record = sweep_job  # a sweep job's directory is Hydra's, already rewritten: every failure is recorded there
    try:
        job = job or prepare_job(cfg, out_dir)
        record = True  # the directory is claimed: its stats.json describes this attempt
        try:
            job.execute()
        finally:
            job.release()
    except UserError as error:
        message = report(error)
        _log_to_files(logging.ERROR, message)
        if record:
            status = "interrupted" if isinstance(error, RunInterrupted) else "failed"
            _record_failure(out_dir, message, error.exit_code, status)
        return error.exit_code
    except Exception as error:  # a bug: one line here, the traceback in the job log
        crash = redact(f"{type(error).__name__}: {error}")
        logs = _log_files()
        if logs:
            _log_to_files(logging.CRITICAL, redact(traceback.format_exc()))
        else:
            traceback.print_exc()
        where = f": the traceback is in {logs[0]}" if logs else ""
        print(f"synthgen: internal error: {crash} (this is a bug in synthgen or a plugin{where})", file=sys.stderr)
        if record:
            _record_failure(out_dir, crash, CRASH_EXIT_CODE, "failed")
        return CRASH_EXIT_CODE
    return 0


def execute_job(
    cfg: DictConfig,
    out_dir: Path,
    *,
    api_key: str | None = None,
    check: Callable[[Job], None] | None = None,
    time_budget: float | None = None,
) -> None:
    """Run the configured job into `out_dir`; a user mistake raises UserError (its message and exit_code).

    `api_key` is a key for this job only, used instead of the environment's and redacted like it. `check` sees
    the planned job before it runs (a caller's own limits: it raises UserError to refuse it); past `time_budget`
    seconds of model calls the run stops with a UserError.
    """
    with hidden(api_key):
        job = prepare_job(cfg, out_dir, api_key=api_key)
        try:
            if check is not None:
                check(job)
            job.execute(time_budget=time_budget)
        finally:
            job.release()


def report(error: UserError) -> str:
    """Print the one line of a user mistake on stderr; returns the message (secrets redacted)."""
    message = redact(str(error))  # a provider's error text can quote the key
    print(f"synthgen: {error.label}: {message}", file=sys.stderr)
    return message


def _log_files() -> list[str]:
    """The files the job log writes to (Hydra's `<job>.log` handler)."""
    return [h.baseFilename for h in logging.getLogger().handlers if isinstance(h, logging.FileHandler)]


def _log_to_files(level: int, message: str) -> None:
    """Write `message` to the job log files only: the terminal already shows it once, on stderr."""
    record = log.makeRecord(log.name, level, __file__, 0, message, (), None)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)


def _record_failure(out_dir: Path, error: str, exit_code: int, status: str) -> None:
    """Add the status, error and exit code to stats.json; written from scratch if the job stopped before its stats."""
    path = out_dir / "stats.json"
    stats = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    write_json(path, {**stats, "status": status, "error": error, "exit_code": exit_code})
