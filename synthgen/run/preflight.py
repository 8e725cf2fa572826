"""Checks before Hydra touches a run directory.

Hydra creates the run directory, rewrites `.hydra/` and opens the job log before the task function runs, so a
job that fails its checks there would already have changed an earlier run's directory. The `Preflight` callback
(`hydra.callbacks.preflight`) prepares a single run's job in `on_run_start`, before any of that: a user mistake
ends the process with its one line and exit code, and the prepared job (holding the directory's lock) is handed
to the task function through `take_prepared`. Sweeps are checked by each job, in the directory Hydra made for it.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from logging.handlers import BufferingHandler
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from synthgen.core.errors import UserError
from synthgen.run.job import Job, prepare_job
from synthgen.run.runner import report

_prepared: dict[Path, tuple[Job, list[logging.LogRecord]]] = {}


class Preflight(Callback):
    """Prepares a single run before Hydra writes anything; refuses a sweep directory that is a file."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Validate, plan and claim the run directory; exit with the error's code on a user mistake."""
        HydraConfig.instance().set_config(config)  # as Hydra does next, for `${hydra:...}` in hydra.run.dir
        out_dir = Path(os.path.abspath(str(OmegaConf.select(config, "hydra.run.dir"))))
        job_config = OmegaConf.masked_copy(config, [str(key) for key in config if key != "hydra"])
        try:
            with _holding_logs() as held:
                job = prepare_job(job_config, out_dir)
        except UserError as error:
            report(error)
            sys.exit(error.exit_code)
        except Exception:  # a bug: the task function prepares again and reports it with its traceback in the log
            return
        _prepared[out_dir] = (job, held)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """A sweep directory that is a file would make Hydra fail with a traceback."""
        sweep_dir = Path(str(OmegaConf.select(config, "hydra.sweep.dir")))
        if sweep_dir.exists() and not sweep_dir.is_dir():
            report(UserError(f"the sweep directory {sweep_dir} is a file (fix: set hydra.sweep.dir to a directory)"))
            sys.exit(UserError.exit_code)


def take_prepared(out_dir: Path) -> Job | None:
    """The job the preflight prepared for `out_dir`, its held log records now written to the job log."""
    job, held = _prepared.pop(out_dir, (None, []))
    for other, _ in _prepared.values():  # prepared for another directory: not this run's
        other.release()
    _prepared.clear()
    for record in held:
        logging.getLogger(record.name).handle(record)
    return job


@contextmanager
def _holding_logs() -> Iterator[list[logging.LogRecord]]:
    """Keep synthgen's log records (in the list yielded) while the job log is not configured yet."""
    logger = logging.getLogger("synthgen")
    holder = BufferingHandler(capacity=sys.maxsize)
    propagate, logger.propagate = logger.propagate, False
    logger.addHandler(holder)
    try:
        yield holder.buffer
    finally:
        logger.removeHandler(holder)
        logger.propagate = propagate
