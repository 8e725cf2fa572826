"""Run accounting: calls, tokens, cost and wall time per stage, counts requested vs produced."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class StageStats:
    """Counters of one pipeline stage."""

    calls: int = 0
    cache_hits: int = 0
    retries: int = 0
    repairs: int = 0
    failures: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    started: float | None = None
    finished: float | None = None

    def mark(self) -> None:
        """Note that work of this stage is happening now (first and last activity bound its wall time)."""
        now = time.monotonic()
        self.started = now if self.started is None else self.started
        self.finished = now

    @property
    def wall_seconds(self) -> float:
        return 0.0 if self.started is None or self.finished is None else self.finished - self.started


@dataclass
class RunStats:
    """Everything stats.json reports; counts live in `requested` / `produced` by item kind."""

    model: str
    mode: str
    requested: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    produced: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    stages: dict[str, StageStats] = field(default_factory=lambda: defaultdict(StageStats))
    shortfalls: list[dict[str, Any]] = field(default_factory=list)
    failures: int = 0
    resumed: int = 0
    skipped: int = 0
    status: str = "running"
    started: float = field(default_factory=time.monotonic)

    @property
    def cost_usd(self) -> float:
        """Spend so far over every stage."""
        return sum(s.cost_usd for s in self.stages.values())

    def stage(self, name: str) -> StageStats:
        """The counters of stage `name`, created on first use."""
        return self.stages[name]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary with totals over all stages."""
        stages = {
            name: {**{k: v for k, v in asdict(s).items() if k not in ("started", "finished")},
                   "wall_seconds": round(s.wall_seconds, 3)}
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
            "failures": self.failures,
            "resumed": self.resumed,
            "skipped": self.skipped,
            "calls": sum(s.calls for s in self.stages.values()),
            "cache_hits": sum(s.cache_hits for s in self.stages.values()),
            "prompt_tokens": sum(s.prompt_tokens for s in self.stages.values()),
            "completion_tokens": sum(s.completion_tokens for s in self.stages.values()),
            "cost_usd": round(self.cost_usd, 6),
            "wall_seconds": round(time.monotonic() - self.started, 3),
            "stages": stages,
        }
