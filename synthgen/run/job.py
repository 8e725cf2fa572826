"""One job in two steps: `prepare_job` checks everything a user can get wrong and writes nothing in the run
directory; `Job.execute` then runs the pipeline `mode.pipeline` names (or a dry run) there and writes stats.json."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from synthgen.config.schema import Settings, validate_settings
from synthgen.config.tree import to_plain
from synthgen.core.errors import RunInterrupted, RunTerminated, UserError
from synthgen.core.jsonl import write_json
from synthgen.core.paths import cache_dir
from synthgen.models.cache import CallCache
from synthgen.models.client import ModelClient
from synthgen.models.providers.base import LiteLLMModel, as_provider
from synthgen.outputs.export.base import ExporterOptions, build_exporter, export_run
from synthgen.outputs.report.page import write_report
from synthgen.run.directory import RunDirectory, fingerprint
from synthgen.run.dry_run import write_plan
from synthgen.run.interrupt import run_interruptibly
from synthgen.run.pipeline import Pipeline, pipeline_class
from synthgen.run.stats import RunStats
from synthgen.run.summary import summary_table
from synthgen.run.units import check_failure_rate

log = logging.getLogger("synthgen")


@dataclass
class Job:
    """A validated, planned job that holds its run directory's lock until `release`."""

    settings: Settings
    provider: LiteLLMModel
    pipeline: Pipeline
    plan: Any
    stats: RunStats
    cache: CallCache | None
    directory: RunDirectory
    fingerprint: dict[str, Any]
    exporters: list[ExporterOptions]

    @property
    def out_dir(self) -> Path:
        """The run directory."""
        return self.directory.path

    def execute(self, *, time_budget: float | None = None) -> None:
        """Run into the run directory and write stats.json; a user mistake (or Ctrl-C) raises UserError.

        Past `time_budget` seconds of model calls the run stops as after Ctrl-C and raises a UserError."""
        self.directory.begin(self.fingerprint, resume=self.settings.resume)
        stats = self.stats
        try:
            if self.settings.dry_run:
                stats.status = "dry_run"
                write_plan(self.pipeline.estimate(self.plan), self.out_dir)
                return
            client = ModelClient(self.provider, stats, self.cache, self.settings.max_cost_usd)

            def stop() -> None:
                stats.status = "interrupted"
                client.stop()

            def abort(code: int) -> None:  # a second Ctrl-C: stats.json says how the run ended
                stats.status = "interrupted"
                error = "stopped at once by a second signal"
                write_json(self.out_dir / "stats.json", {**stats.to_dict(), "error": error, "exit_code": code})

            work = self._run_pipeline(client)
            received = asyncio.run(run_interruptibly(work, stop=stop, abort=abort, deadline=time_budget))
            if received == signal.SIGALRM:
                raise UserError(
                    f"the run passed its time budget of {time_budget:g} s and stopped, {_produced(stats)} written "
                    "(fix: ask for fewer questions per request, or allow more time)"
                )
            if received is not None:
                error = RunTerminated if received == signal.SIGTERM else RunInterrupted
                raise error(
                    f"{_produced(stats)} written to {self.out_dir} (to resume, rerun the same command with "
                    f"hydra.run.dir={self.out_dir}: finished calls replay from the cache)"
                )
            check_failure_rate(stats, self.settings.max_failure_rate, self.out_dir / "failures.jsonl")
            stats.status = "completed"
        except RunInterrupted:
            raise
        except UserError:
            stats.status = "failed"
            raise
        finally:
            if stats.status == "running":
                stats.status = "interrupted"
            write_json(self.out_dir / "stats.json", stats.to_dict())
        export_run(self.out_dir, self.exporters)
        if self.settings.report:
            write_report(self.out_dir)
        summary = stats.to_dict()
        if not self.settings.quiet:
            quality_file = self.out_dir / "quality.json"
            quality = json.loads(quality_file.read_text(encoding="utf-8")) if quality_file.is_file() else None
            print(summary_table(summary, quality))
        headline = stats.headline()
        log.info(
            "wrote %s to %s: %d calls, %d from cache, %d failures, %.1fs%s",
            _produced(stats),
            self.out_dir,
            summary["calls"],
            summary["cache_hits"],
            summary["failures"],
            summary["wall_seconds"],
            f"; {headline}" if headline else "",
        )

    async def _run_pipeline(self, client: ModelClient) -> None:
        """Run the pipeline, then close the client's transports (a batch still running stays for a rerun)."""
        try:
            await self.pipeline.run(self.plan, client)
        finally:
            await client.aclose()

    def release(self) -> None:
        """Close the cache and the provider, and give up the run directory; idempotent."""
        if self.cache is not None:
            self.cache.close()
            self.cache = None
        self.provider.close()
        self.directory.release()


def prepare_job(cfg: DictConfig, out_dir: Path, *, api_key: str | None = None) -> Job:
    """Validate the config, plan the work, open the cache and claim `out_dir`: nothing in it is written yet.

    Raises UserError naming the fix. `api_key` is a key for this job only (the payload handler's), used
    instead of the environment's.
    """
    config = to_plain(cfg)
    settings = validate_settings(config)
    provider = as_provider(settings.model)
    if api_key:
        provider = provider.with_api_key(api_key)
        settings = settings.model_copy(update={"model": provider})
    pipeline_type = pipeline_class(settings.mode.pipeline)
    stats = pipeline_type.stats_type(model=settings.model.name, mode=settings.mode.kind)
    exporters = [build_exporter(options, f"export.{name}") for name, options in settings.export.items()]
    pipeline = pipeline_type(settings, out_dir, stats)
    plan = pipeline.plan()
    cache = None if settings.dry_run else _open_cache(settings)
    directory = RunDirectory(out_dir)
    job = Job(settings, provider, pipeline, plan, stats, cache, directory, fingerprint(config, plan), exporters)
    try:
        directory.claim()
        directory.check(job.fingerprint, resume=settings.resume)
    except BaseException:
        job.release()
        raise
    return job


def _open_cache(settings: Settings) -> CallCache | None:
    if settings.cache.mode == "off":
        return None
    path = Path(settings.cache.path).expanduser() if settings.cache.path else cache_dir() / "calls.sqlite"
    return CallCache(path, settings.cache.mode)


def _produced(stats: RunStats) -> str:
    """What the run produced, e.g. '2 datasets, 6 queries'."""
    return ", ".join(f"{count} {kind}" for kind, count in stats.to_dict()["produced"].items()) or "nothing"
