"""Update runs (`baseline=OLD_RUN`): a test set that follows its documents.

The baseline's items whose quotes still hold are kept (their ids, answers and review decisions with them) and
fill their slots in the new plan, so only the slots left are generated; the others are retired with a reason.
Everything is decided before the first model call, over the whole job, so every shard decides alike.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from synthgen.config.schema import ModelSettings
from synthgen.core.ids import stable_id
from synthgen.outputs.changes import RetiredItem
from synthgen.pipelines.documents.baseline.carry import CarriedItem, Carrier
from synthgen.pipelines.documents.baseline.chunks import diff_chunks
from synthgen.pipelines.documents.baseline.locate import ChunkIndex
from synthgen.pipelines.documents.baseline.old_run import read_old_run
from synthgen.pipelines.documents.baseline.validate import check_compatible
from synthgen.pipelines.documents.plan import DocumentMode, Unit
from synthgen.sources.base import Chunk

__all__ = ["CarriedItem", "UpdatePlan", "plan_update"]


@dataclass(frozen=True)
class UpdatePlan:
    """The baseline directory, the whole job's units (their keys salted with the baseline, so a new item never
    takes the id of an item of the baseline), the kept items per unit key (each in the slot it fills), and the
    retired items."""

    baseline: Path
    units: list[Unit]
    kept: dict[str, tuple[CarriedItem, ...]]
    retired: tuple[RetiredItem, ...]


def plan_update(
    baseline: str, mode: DocumentMode, model: ModelSettings, units: list[Unit], chunks: list[Chunk]
) -> UpdatePlan:
    """Read and check the baseline, then keep or retire each of its items against the whole job's `units` and
    `chunks` (no model call)."""
    old = read_old_run(Path(baseline).expanduser())
    check_compatible(baseline, old.config, mode, model)
    salt = stable_id("baseline", *(turn.qa_id for turn in old.turns))  # what the baseline holds, not where it is
    units = [dataclasses.replace(unit, key=stable_id(unit.key, salt)) for unit in units]
    diff = diff_chunks(old.chunks, chunks) if old.chunks is not None else None
    carrier = Carrier(ChunkIndex(chunks), diff, mode.evidence)
    outcome = carrier.carry(old.datasets(), units, conversation=mode.kind == "conversation")
    kept = {key: tuple(items) for key, items in outcome.kept.items()}
    return UpdatePlan(old.path, units, kept, tuple(outcome.retired))
