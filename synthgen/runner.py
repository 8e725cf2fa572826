"""One job: validate the composed config, plan, run the pipeline (or a dry run), always write stats.json."""

from __future__ import annotations

import asyncio
import json
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
from synthgen.secrets import redact
from synthgen.settings import Settings, validate_settings
from synthgen.stats import RunStats

log = logging.getLogger("synthgen")


def run_job(cfg: DictConfig, out_dir: Path) -> int:
    """Run the configured job into `out_dir`; returns the process exit code (0 on success).

    A UserError is printed as one `synthgen: error:` line; callers that need the message use `execute_job`.
    Any failure is also recorded in stats.json (`status`, `error`, `exit_code`) for the sweep summary.
    """
    (out_dir / "stats.json").unlink(missing_ok=True)  # stats.json describes this attempt only
    try:
        execute_job(cfg, out_dir)
    except UserError as error:
        message = redact(str(error))  # a provider's error text can quote the key
        print(f"synthgen: error: {message}", file=sys.stderr)
        _record_failure(out_dir, message, error.exit_code)
        return error.exit_code
    except Exception as error:  # a bug: recorded, then raised with its traceback
        _record_failure(out_dir, redact(f"{type(error).__name__}: {error}"), 1)
        raise
    return 0


def execute_job(cfg: DictConfig, out_dir: Path) -> None:
    """Run the configured job into `out_dir`; a user mistake raises UserError (its message and exit_code)."""
    settings = validate_settings(to_plain(cfg))
    check_model_ready(settings.model)
    facts = settings.mode.kind == "facts"
    stats = (FactStats if facts else RunStats)(model=settings.model.name, mode=settings.mode.kind)
    out_dir.mkdir(parents=True, exist_ok=True)
    cache: CallCache | None = None
    try:
        # Both pipelines do everything that needs no model in plan(), then run(plan, client).
        pipeline: Any = (FactsPipeline if facts else DocumentPipeline)(settings, out_dir, stats)
        plan = pipeline.plan()
        if settings.dry_run:
            _dry_run(pipeline.estimate(plan), out_dir, stats)
            return
        cache = _open_cache(settings)
        asyncio.run(pipeline.run(plan, ModelClient(settings.model, stats, cache, settings.max_cost_usd)))
        stats.status = "completed"
    except UserError:
        stats.status = "failed"
        raise
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


def _open_cache(settings: Settings) -> CallCache | None:
    if settings.cache.mode == "off":
        return None
    path = Path(settings.cache.path).expanduser() if settings.cache.path else cache_dir() / "calls.sqlite"
    return CallCache(path, settings.cache.mode)


def _dry_run(plans: list, out_dir: Path, stats: RunStats) -> None:
    """Print and save the planned calls; no model is called."""
    stats.status = "dry_run"
    table = render_table(plans)
    print(table)
    (out_dir / "plan.txt").write_text(table + "\n", encoding="utf-8")


def _record_failure(out_dir: Path, error: str, exit_code: int) -> None:
    """Mark stats.json failed with the error; written from scratch if the job stopped before its stats."""
    path = out_dir / "stats.json"
    stats = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(path, {**stats, "status": "failed", "error": error, "exit_code": exit_code})


def _close_local_model() -> None:
    if "synthgen.local_model" in sys.modules:
        from synthgen.local_model import close_local_model

        close_local_model()
