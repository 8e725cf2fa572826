"""Model usage per stage: calls, cache hits, retries, tokens, cost, wall time and the slowest call, as the client
counts them."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field


@dataclass
class StageStats:
    """Counters of one pipeline stage."""

    calls: int = 0
    cache_hits: int = 0
    retries: int = 0
    repairs: int = 0
    truncations: int = 0  # replies cut off at max_tokens, drawn again
    loops: int = 0  # replies stopped early because they had started repeating themselves, drawn again
    failures: int = 0
    prompt_tokens: int = 0
    cached_prompt_tokens: int = 0  # of prompt_tokens, those the provider served from its prompt cache
    completion_tokens: int = 0
    cost_usd: float = 0.0
    max_call_seconds: float = 0.0  # the slowest model call (cache hits and waits excluded)
    allowed: int = 0  # calls the adaptive concurrency limit allowed in flight at this stage's last call
    cuts: int = 0  # times a rate limit (429) cut the allowed count
    started: float | None = None
    finished: float | None = None

    def count_call(self, prompt_tokens: int, completion_tokens: int, cost_usd: float, cached_tokens: int = 0) -> None:
        """Count one model call that returned, with its tokens (`cached_tokens` of the prompt's read from the
        provider's prompt cache) and cost."""
        self.calls += 1
        self.prompt_tokens += prompt_tokens
        self.cached_prompt_tokens += cached_tokens
        self.completion_tokens += completion_tokens
        self.cost_usd += cost_usd

    def mark(self) -> None:
        """Note that work of this stage is happening now (first and last activity bound its wall time)."""
        now = time.monotonic()
        self.started = now if self.started is None else self.started
        self.finished = now

    @property
    def wall_seconds(self) -> float:
        return 0.0 if self.started is None or self.finished is None else self.finished - self.started


@dataclass(kw_only=True)
class Usage:
    """The counters of every stage, created on first use."""

    stages: dict[str, StageStats] = field(default_factory=lambda: defaultdict(StageStats))

    @property
    def cost_usd(self) -> float:
        """Spend so far over every stage."""
        return sum(s.cost_usd for s in self.stages.values())

    def stage(self, name: str) -> StageStats:
        """The counters of stage `name`, created on first use."""
        return self.stages[name]
