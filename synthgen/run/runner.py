"""One job: validate the composed config, plan, run the pipeline `mode.pipeline` names (or a dry run), write stats."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path

from omegaconf import DictConfig

from synthgen.config.schema import Settings, validate_settings
from synthgen.config.tree import to_plain
from synthgen.core.errors import UserError
from synthgen.core.jsonl import write_json
from synthgen.core.paths import cache_dir
from synthgen.core.secrets import redact
from synthgen.models.cache import CallCache
from synthgen.models.client import ModelClient
from synthgen.models.providers.base import as_provider
from synthgen.run.dry_run import write_plan
from synthgen.run.pipeline import pipeline_class

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
    provider = as_provider(settings.model)
    pipeline_type = pipeline_class(settings.mode.pipeline)
    stats = pipeline_type.stats_type(model=settings.model.name, mode=settings.mode.kind)
    out_dir.mkdir(parents=True, exist_ok=True)
    cache: CallCache | None = None
    try:
        pipeline = pipeline_type(settings, out_dir, stats)
        plan = pipeline.plan()
        if settings.dry_run:
            stats.status = "dry_run"
            write_plan(pipeline.estimate(plan), out_dir)
            return
        cache = _open_cache(settings)
        asyncio.run(pipeline.run(plan, ModelClient(provider, stats, cache, settings.max_cost_usd)))
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
        provider.close()
    summary = stats.to_dict()
    produced = ", ".join(f"{count} {kind}" for kind, count in summary["produced"].items()) or "nothing"
    headline = stats.headline()
    log.info(
        "wrote %s to %s: %d calls, %d from cache, %d failures, %.1fs%s",
        produced,
        out_dir,
        summary["calls"],
        summary["cache_hits"],
        summary["failures"],
        summary["wall_seconds"],
        f"; {headline}" if headline else "",
    )


def _open_cache(settings: Settings) -> CallCache | None:
    if settings.cache.mode == "off":
        return None
    path = Path(settings.cache.path).expanduser() if settings.cache.path else cache_dir() / "calls.sqlite"
    return CallCache(path, settings.cache.mode)


def _record_failure(out_dir: Path, error: str, exit_code: int) -> None:
    """Mark stats.json failed with the error; written from scratch if the job stopped before its stats."""
    path = out_dir / "stats.json"
    stats = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(path, {**stats, "status": "failed", "error": error, "exit_code": exit_code})
