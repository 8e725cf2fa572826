"""Sharding: shard `index` of `count` runs one contiguous block of a job's planned work units.

Blocks are contiguous so that a dataset split between shards is split into consecutive parts, which
`synthgen.merge_shards` joins back in shard order; block sizes differ by at most one unit.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TypeVar

from synthgen.errors import UserError
from synthgen.settings import ShardSettings
from synthgen.strategies import Sample

Unit = TypeVar("Unit")


def shard_block(total: int, shard: ShardSettings, what: str) -> range:
    """The positions of shard `shard.index` among `total` units of `what`; an empty shard is an error."""
    block = range(total * shard.index // shard.count, total * (shard.index + 1) // shard.count)
    if not block:
        raise UserError(
            f"shard.index={shard.index} of shard.count={shard.count} has no work: the job has only {total} {what} "
            f"(fix: set shard.count<={total})"
        )
    return block


def shard_units(units: list[Unit], shard: ShardSettings, what: str) -> list[Unit]:
    """This shard's block of `units`."""
    block = shard_block(len(units), shard, what)
    return units[block.start : block.stop]


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
