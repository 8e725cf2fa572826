"""Chunk selection strategies (which chunks form each dataset) and a shard's block of them."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, replace

from synthgen.config.schema import RandomStrategySettings, SequentialStrategySettings, ShardSettings
from synthgen.core.errors import UserError
from synthgen.core.ids import stable_id
from synthgen.run.shards import shard_block
from synthgen.sources.base import Chunk


@dataclass(frozen=True)
class Sample:
    """The chunks of one dataset; `id` is stable for the same strategy and chunks.

    `draws[i]` numbers the uses of `chunks[i]` across the whole plan (0 for its first use), so a chunk
    used again is a new draw (a distinct sample for the model and the cache), never a copy.
    `first` is the position of `chunks[0]` in the whole sample (non-zero for a shard's part of it), so
    a chunk drawn twice into one sample keeps distinct positions and ids.
    """

    id: str
    index: int
    chunks: tuple[Chunk, ...]
    draws: tuple[int, ...]
    first: int = 0


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
        samples.append(
            Sample(
                id=stable_id(settings.kind, str(i), *(c.id for c in group)), index=i, chunks=group, draws=tuple(draws)
            )
        )
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


def shard_samples(samples: list[Sample], shard: ShardSettings) -> list[Sample]:
    """This shard's block of the (sample, chunk) units, as samples that keep their id and index.

    A sample cut by a block boundary keeps only this shard's chunks, so its dataset is written in parts
    with the same `session_id` that the merge joins in shard order.
    """
    block = shard_block(sum(len(sample.chunks) for sample in samples), shard, "(dataset, chunk) units")
    parts: list[Sample] = []
    start = 0
    for sample in samples:
        low, high = max(block.start - start, 0), min(block.stop - start, len(sample.chunks))
        if low < high:
            parts.append(
                replace(sample, chunks=sample.chunks[low:high], draws=sample.draws[low:high], first=sample.first + low)
            )
        start += len(sample.chunks)
    return parts
