"""Chunk selection strategies: which chunks form each sample."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

from synthgen.config.schema import RandomStrategySettings, SequentialStrategySettings
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


def select_samples(chunks: list[Chunk], settings: SequentialStrategySettings | RandomStrategySettings) -> list[Sample]:
    """Group chunks into samples: all of them in order, or seeded random draws."""
    if not chunks:
        raise UserError("the sources produced no text chunks (fix: point source= at documents with text)")
    if isinstance(settings, SequentialStrategySettings):
        groups = [tuple(chunks)]
    else:
        groups = _random_groups(chunks, settings)
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


def _random_groups(chunks: list[Chunk], settings: RandomStrategySettings) -> list[tuple[Chunk, ...]]:
    if not settings.with_replacement and settings.chunks_per_sample > len(chunks):
        raise UserError(
            f"strategy.chunks_per_sample={settings.chunks_per_sample} exceeds the {len(chunks)} chunks available "
            f"(fix: set strategy.chunks_per_sample<={len(chunks)} or strategy.with_replacement=true)"
        )
    rng = random.Random(settings.seed)
    draw = rng.choices if settings.with_replacement else rng.sample
    return [tuple(draw(chunks, k=settings.chunks_per_sample)) for _ in range(settings.num_samples)]
