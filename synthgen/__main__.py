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


if __name__ == "__main__":
    main()
