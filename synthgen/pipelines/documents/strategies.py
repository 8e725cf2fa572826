"""Chunk selection strategies: which chunks form each sample. A `strategy` option names its class with
`_target_`: a `Strategy` subclass whose fields are its settings."""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass
from typing import ClassVar, Literal

from pydantic import Field

from synthgen.config.schema import MAX_CHUNKS_PER_SAMPLE, MAX_SAMPLES, StrategySettings
from synthgen.config.targets import require_class
from synthgen.core.errors import UserError
from synthgen.core.ids import stable_id
from synthgen.sources.base import Chunk


@dataclass(frozen=True)
class Sample:
    """The chunks of one dataset (queries) or of its conversations, by id; `id` is stable for the same strategy and
    chunks.

    `draws[i]` numbers the uses of `chunk_ids[i]` across the whole plan (0 for its first use), so a chunk
    used again is a new draw (a distinct sample for the model and the cache), never a copy.
    """

    id: str
    index: int
    chunk_ids: tuple[str, ...]
    draws: tuple[int, ...]


def select_samples(chunks: list[Chunk], settings: StrategySettings) -> list[Sample]:
    """Group chunks into samples as the strategy says, numbering each chunk's draws across them."""
    if not chunks:
        raise UserError("the sources produced no text chunks (fix: point source= at documents with text)")
    groups = as_strategy(settings).groups(chunks)
    uses: Counter[str] = Counter()
    samples = []
    for i, group in enumerate(groups):
        draws = []
        for chunk in group:
            draws.append(uses[chunk.id])
            uses[chunk.id] += 1
        ids = tuple(chunk.id for chunk in group)
        samples.append(Sample(id=stable_id(settings.kind, str(i), *ids), index=i, chunk_ids=ids, draws=tuple(draws)))
    return samples


def as_strategy(settings: StrategySettings) -> Strategy:
    """The validated `strategy` option as a Strategy, or a UserError naming the fix."""
    return require_class(settings, Strategy, "strategy")  # type: ignore[type-abstract]


class Strategy(StrategySettings, ABC):
    """Groups a job's chunks into samples; its fields are the option's settings."""

    # Its samples keep the chunks in document order: a conversation per chunk, not one across a sample.
    in_order: ClassVar[bool] = False

    @abstractmethod
    def groups(self, chunks: list[Chunk]) -> list[tuple[Chunk, ...]]:
        """The chunks of each sample (`chunks` is never empty); a chunk may be in several."""


class SequentialStrategy(Strategy):
    """All chunks, in order, in one dataset."""

    in_order: ClassVar[bool] = True
    kind: Literal["sequential"] = "sequential"

    def groups(self, chunks: list[Chunk]) -> list[tuple[Chunk, ...]]:
        """One sample of every chunk."""
        return [tuple(chunks)]


class RandomStrategy(Strategy):
    """num_samples datasets of chunks_per_sample chunks drawn with a seed."""

    kind: Literal["random"] = "random"
    num_samples: int = Field(5, ge=1, le=MAX_SAMPLES)
    chunks_per_sample: int = Field(3, ge=1, le=MAX_CHUNKS_PER_SAMPLE)
    seed: int = 42
    with_replacement: bool = False

    def groups(self, chunks: list[Chunk]) -> list[tuple[Chunk, ...]]:
        """num_samples seeded draws of chunks_per_sample chunks."""
        if not self.with_replacement and self.chunks_per_sample > len(chunks):
            raise UserError(
                f"strategy.chunks_per_sample={self.chunks_per_sample} exceeds the {len(chunks)} chunks available "
                f"(fix: set strategy.chunks_per_sample<={len(chunks)} or strategy.with_replacement=true)"
            )
        rng = random.Random(self.seed)
        draw = rng.choices if self.with_replacement else rng.sample
        return [tuple(draw(chunks, k=self.chunks_per_sample)) for _ in range(self.num_samples)]
