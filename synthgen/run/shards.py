"""Sharding: shard `index` of `count` runs one contiguous block of a job's planned work units.

Blocks are contiguous so that a dataset split between shards is split into consecutive parts, which
`synthgen.merge_shards` joins back in shard order; block sizes differ by at most one unit.
"""

from __future__ import annotations

from typing import TypeVar

from synthgen.config.schema import ShardSettings
from synthgen.core.errors import UserError

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


def check_unique(ids: list[str], name: str) -> None:
    """Raise a UserError if the merged shards repeat an id."""
    if len(set(ids)) != len(ids):
        raise UserError(f"the merged shards repeat a {name} (fix: merge the shards of one job, each once)")
