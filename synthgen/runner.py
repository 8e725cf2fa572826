"""One job: validate the composed config, run the pipeline, always write stats.json."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

from omegaconf import DictConfig

from synthgen.client import ModelClient, check_model_ready
from synthgen.config import to_plain
from synthgen.document_pipeline import DocumentPipeline
from synthgen.errors import UserError
from synthgen.outputs import write_json
from synthgen.settings import validate_settings
from synthgen.stats import RunStats

log = logging.getLogger("synthgen")


def run_job(cfg: DictConfig, out_dir: Path) -> int:
    """Run the configured job into `out_dir`; returns the process exit code (0 on success)."""
    try:
        settings = validate_settings(to_plain(cfg))
        check_model_ready(settings.model)
    except UserError as error:
        return _fail(error)
    stats = RunStats(model=settings.model.name, mode=settings.mode.kind)
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        pipeline = DocumentPipeline(settings, out_dir, stats)
        samples = pipeline.plan()
        asyncio.run(pipeline.run(samples, ModelClient(settings.model, stats)))
        stats.status = "completed"
    except UserError as error:
        stats.status = "failed"
        return _fail(error)
    finally:
        if stats.status == "running":
            stats.status = "interrupted"
        write_json(out_dir / "stats.json", stats.to_dict())
        _close_local_model()
    summary = stats.to_dict()
    log.info(
        "wrote %d datasets (%d queries) to %s: %d calls, %d failures, %.1fs",
        summary["produced"].get("datasets", 0), summary["produced"].get("queries", 0), out_dir,
        summary["calls"], summary["failures"], summary["wall_seconds"],
    )
    return 0


def _fail(error: UserError) -> int:
    print(f"synthgen: error: {error}", file=sys.stderr)
    return error.exit_code


def _close_local_model() -> None:
    if "synthgen.local_model" in sys.modules:
        from synthgen.local_model import close_local_model

        close_local_model()
