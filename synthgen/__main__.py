"""`python -m synthgen`: the Hydra app. Heavy modules are imported only once a job runs."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from synthgen.config.tree import register_resolvers
from synthgen.core.paths import CONF_DIR

register_resolvers()


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def main(cfg: DictConfig) -> None:
    """Compose the config, run one job into Hydra's output directory, exit non-zero on failure.

    A sweep job never raises: Hydra would skip the summary callback, which exits non-zero instead.
    """
    from synthgen.run.runner import run_job

    hydra_config = HydraConfig.get()
    out_dir = Path(hydra_config.runtime.output_dir)
    if hydra_config.mode != RunMode.MULTIRUN:
        code = run_job(cfg, out_dir)
        if code:
            sys.exit(code)
        return
    try:
        run_job(cfg, out_dir)  # a failure is recorded in the job's stats.json
    except Exception:
        logging.getLogger("synthgen").exception("job %s failed", hydra_config.job.num)


QUIET_FLAGS = ("--quiet", "-q")
# `--quiet`: nothing on the console but errors (the job log keeps everything).
QUIET_OVERRIDES = (
    "quiet=true",
    "+hydra.job_logging.handlers.console.level=ERROR",
    "hydra.hydra_logging.root.level=ERROR",
)


def cli() -> None:
    """The `synthgen` command: `main` with `--quiet` turned into the overrides that mean it."""
    if any(flag in sys.argv[1:] for flag in QUIET_FLAGS):
        sys.argv = [sys.argv[0], *(arg for arg in sys.argv[1:] if arg not in QUIET_FLAGS), *QUIET_OVERRIDES]
    main()


if __name__ == "__main__":
    cli()
