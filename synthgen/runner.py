"""One job: validate the composed config, plan, run the pipeline (or a dry run), always write stats.json."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from synthgen.cache import CallCache
from synthgen.client import ModelClient, check_model_ready
from synthgen.config import to_plain
from synthgen.document_pipeline import DocumentPipeline
from synthgen.errors import UserError
from synthgen.estimate import render_table
from synthgen.facts.pipeline import FactsPipeline
from synthgen.facts.stats import FactStats
from synthgen.outputs import write_json
from synthgen.paths import cache_dir
from synthgen.settings import Settings, validate_settings
from synthgen.stats import RunStats

log = logging.getLogger("synthgen")


def run_job(cfg: DictConfig, out_dir: Path) -> int:
    """Run the configured job into `out_dir`; returns the process exit code (0 on success)."""
    try:
        settings = validate_settings(to_plain(cfg))
        check_model_ready(settings.model)
    except UserError as error:
        return _fail(error)
    facts = settings.mode.kind == "facts"
    stats = (FactStats if facts else RunStats)(model=settings.model.name, mode=settings.mode.kind)
    out_dir.mkdir(parents=True, exist_ok=True)
    cache: CallCache | None = None
    try:
        # Both pipelines do everything that needs no model in plan(), then run(plan, client).
        pipeline: Any = (FactsPipeline if facts else DocumentPipeline)(settings, out_dir, stats)
        plan = pipeline.plan()
        if settings.dry_run:
            return _dry_run(pipeline.estimate(plan), out_dir, stats)
        cache = _open_cache(settings)
        asyncio.run(pipeline.run(plan, ModelClient(settings.model, stats, cache, settings.max_cost_usd)))
        stats.status = "completed"
    except UserError as error:
        stats.status = "failed"
        return _fail(error)
    finally:
        if stats.status == "running":
            stats.status = "interrupted"
        write_json(out_dir / "stats.json", stats.to_dict())
        if cache is not None:
            cache.close()
        _close_local_model()
    summary = stats.to_dict()
    produced = ", ".join(f"{count} {kind}" for kind, count in summary["produced"].items()) or "nothing"
    log.info(
        "wrote %s to %s: %d calls, %d from cache, %d failures, %.1fs",
        produced, out_dir, summary["calls"], summary["cache_hits"], summary["failures"], summary["wall_seconds"],
    )
    return 0


def _open_cache(settings: Settings) -> CallCache | None:
    if settings.cache.mode == "off":
        return None
    path = Path(settings.cache.path).expanduser() if settings.cache.path else cache_dir() / "calls.sqlite"
    return CallCache(path, settings.cache.mode)


def _dry_run(plans: list, out_dir: Path, stats: RunStats) -> int:
    """Print and save the planned calls; no model is called."""
    stats.status = "dry_run"
    table = render_table(plans)
    print(table)
    (out_dir / "plan.txt").write_text(table + "\n", encoding="utf-8")
    return 0


def _fail(error: UserError) -> int:
    print(f"synthgen: error: {error}", file=sys.stderr)
    return error.exit_code


def _close_local_model() -> None:
    if "synthgen.local_model" in sys.modules:
        from synthgen.local_model import close_local_model

        close_local_model()
