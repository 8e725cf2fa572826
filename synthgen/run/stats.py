"""Run accounting for stats.json: counts requested vs produced, failures, and the model usage per stage."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from synthgen.models.usage import Usage


@dataclass(frozen=True)
class Cause:
    """What made units fail, as one line, and the fix when the error knows it."""

    message: str
    fix: str | None = None


@dataclass(kw_only=True)
class RunStats(Usage):
    """Everything stats.json reports; counts live in `requested` / `produced` by item kind."""

    model: str
    mode: str
    requested: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    produced: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    shortfalls: list[dict[str, Any]] = field(default_factory=list)
    units: int = 0  # work units this attempt ran (chunks in document modes, items in facts mode)
    failures: int = 0
    failure_causes: Counter[Cause] = field(default_factory=Counter)
    skipped: int = 0
    status: str = "running"
    started: float = field(default_factory=time.monotonic)

    def counts(self) -> dict[str, int]:
        """The comparable counts of a run (a sweep summary's columns): items requested, produced and kept."""
        kept = "answers" if "answers" in self.requested else "queries"  # with answers, keep the answered queries
        return {
            "requested": self.requested.get("queries", 0),
            "produced": self.produced.get("queries", 0),
            "kept": self.produced.get(kept, 0),
        }

    def per_kept_item(self) -> dict[str, float] | None:
        """Input, cached-input and output tokens and cost of the run divided by its kept items (None: none kept),
        so runs of different models compare by what a kept item costs."""
        kept = self.counts()["kept"]
        if not kept:
            return None
        stages = self.stages.values()
        return {
            "prompt_tokens": round(sum(s.prompt_tokens for s in stages) / kept, 1),
            "cached_prompt_tokens": round(sum(s.cached_prompt_tokens for s in stages) / kept, 1),
            "completion_tokens": round(sum(s.completion_tokens for s in stages) / kept, 1),
            "cost_usd": round(self.cost_usd / kept, 6),
        }

    def headline(self) -> str:
        """What the final log line adds after the counts (a pipeline's quality figures); "" for nothing."""
        return ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary with totals over all stages."""
        stages = {
            name: {
                **{k: v for k, v in asdict(s).items() if k not in ("started", "finished")},
                "wall_seconds": round(s.wall_seconds, 3),
            }
            for name, s in self.stages.items()
        }
        return {
            "status": self.status,
            "model": self.model,
            "mode": self.mode,
            "requested": dict(self.requested),
            "produced": dict(self.produced),
            "shortfall": {k: max(0, v - self.produced.get(k, 0)) for k, v in self.requested.items()},
            "shortfalls": self.shortfalls,
            "units": self.units,
            "failures": self.failures,
            "skipped": self.skipped,
            "calls": sum(s.calls for s in self.stages.values()),
            "cache_hits": sum(s.cache_hits for s in self.stages.values()),
            "prompt_tokens": sum(s.prompt_tokens for s in self.stages.values()),
            "cached_prompt_tokens": sum(s.cached_prompt_tokens for s in self.stages.values()),
            "completion_tokens": sum(s.completion_tokens for s in self.stages.values()),
            "cost_usd": round(self.cost_usd, 6),
            "per_kept_item": self.per_kept_item(),
            "wall_seconds": round(time.monotonic() - self.started, 3),
            "stages": stages,
            "counts": self.counts(),
        }
