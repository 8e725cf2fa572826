"""The Pipeline protocol the runner drives; `mode.pipeline` names the class, so the runner never imports one."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Protocol

from hydra.utils import get_class
from omegaconf import DictConfig

from synthgen.config.schema import Settings
from synthgen.core.errors import UserError
from synthgen.models.client import ModelClient
from synthgen.models.pricing import StagePlan
from synthgen.run.stats import RunStats


class Pipeline(Protocol):
    """plan (everything before the first model call) → estimate (dry run) or run (with a model client)."""

    stats_type: ClassVar[type[RunStats]]

    def __init__(self, settings: Settings, out_dir: Path, stats: RunStats) -> None: ...

    def plan(self) -> Any:
        """Load inputs and choose the work units; no model call."""

    def estimate(self, plan: Any) -> list[StagePlan]:
        """The calls `run` would make, with estimated tokens and cost."""

    async def run(self, plan: Any, client: ModelClient) -> None:
        """Generate, check and write every planned unit."""

    @staticmethod
    def merge_shards(runs: list[Path], out: Path, stats: dict[str, Any], config: DictConfig) -> None:
        """Join the outputs of a job's shard run directories (in shard order) into `out`, adjusting `stats`."""


def pipeline_class(path: str) -> type[Pipeline]:
    """The pipeline class `mode.pipeline` names."""
    try:
        cls = get_class(path)
    except Exception as error:  # Hydra wraps ImportError and AttributeError alike
        raise UserError(
            f"mode.pipeline: cannot import {path} ({error.__cause__ or error}) (fix: correct the path)"
        ) from None
    return cls
