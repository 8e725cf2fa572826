"""`python -m synthgen`: the Hydra app. Heavy modules are imported only once a job runs."""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from synthgen.config import register_resolvers

register_resolvers()


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> None:
    """Compose the config, run one job into Hydra's output directory, exit non-zero on failure."""
    from synthgen.runner import run_job

    code = run_job(cfg, Path(HydraConfig.get().runtime.output_dir))
    if code:
        sys.exit(code)


if __name__ == "__main__":
    main()
