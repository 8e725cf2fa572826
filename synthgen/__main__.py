"""`python -m synthgen`: the Hydra app. Heavy modules are imported only once a job runs."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from synthgen.config.tree import register_resolvers
from synthgen.core.errors import RunInterrupted, RunTerminated
from synthgen.core.paths import CONF_DIR

register_resolvers()


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def main(cfg: DictConfig) -> None:
    """Compose the config, run one job into Hydra's output directory, exit non-zero on failure.

    A sweep job that fails does not stop the sweep (Hydra would skip the summary callback, which exits non-zero
    instead); Ctrl-C does.
    """
    from synthgen.run.preflight import take_prepared
    from synthgen.run.runner import run_job

    hydra_config = HydraConfig.get()
    out_dir = Path(hydra_config.runtime.output_dir)
    if hydra_config.mode != RunMode.MULTIRUN:
        code = run_job(cfg, out_dir, take_prepared(out_dir))
        if code:
            sys.exit(code)
        return
    code = run_job(cfg, out_dir, sweep_job=True)
    if code in (RunInterrupted.exit_code, RunTerminated.exit_code):  # other failures: in the job's stats.json
        sys.exit(code)


QUIET_FLAGS = ("--quiet", "-q")
# `--quiet`: nothing on the console but errors (the job log keeps everything).
QUIET_OVERRIDES = (
    "quiet=true",
    "+hydra.job_logging.handlers.console.level=ERROR",
    "hydra.hydra_logging.root.level=ERROR",
)


class _Terminated(BaseException):
    """SIGTERM arrived outside a run (while composing or checking it): nothing is written yet."""


def _terminated(signum: int, frame: object) -> None:
    raise _Terminated


def cli() -> None:
    """The `synthgen` command: `--quiet` turned into the overrides that mean it, a fast `--help`, then Hydra.

    Ctrl-C or SIGTERM outside a run (which handles them itself) is one line too.
    """
    signal.signal(signal.SIGTERM, _terminated)
    if any(flag in sys.argv[1:] for flag in QUIET_FLAGS):
        sys.argv = [sys.argv[0], *(arg for arg in sys.argv[1:] if arg not in QUIET_FLAGS), *QUIET_OVERRIDES]
    try:
        if "--help" in sys.argv[1:] or "-h" in sys.argv[1:]:
            from synthgen.config.app_help import app_help

            text = app_help(sys.argv[1:])
            if text is not None:
                print(text)
                return
        main()
    except (KeyboardInterrupt, _Terminated) as stopped:
        print(
            "synthgen: interrupted: stopped (to resume, rerun the command into the same hydra.run.dir)", file=sys.stderr
        )
        sys.exit(RunTerminated.exit_code if isinstance(stopped, _Terminated) else RunInterrupted.exit_code)
    except BrokenPipeError:  # e.g. `--help | head`: the reader is gone, so is the rest of the output
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)


if __name__ == "__main__":
    cli()
