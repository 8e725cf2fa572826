"""Joining the shards of a facts job: every shard's rows in order, less near-duplicates across shards.

Probes come from shard 0 only; the merge checks them again against every shard's kept questions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synthgen.core.errors import UserError
from synthgen.core.jsonl import read_jsonl, write_jsonl
from synthgen.pipelines.dedup import find_duplicates
from synthgen.pipelines.facts.probes import PROBE_DEDUP_STAGE, probe_duplicates
from synthgen.run.shards import check_unique

FACTS_FILES = ("ft.jsonl", "text.jsonl", "records.jsonl")


def merge_fact_shards(runs: list[Path], threshold: float, out: Path, stats: dict[str, Any]) -> None:
    """Every shard's kept rows in shard order, less questions that near-duplicate one of an earlier shard."""
    ft: list[dict[str, Any]] = []
    text: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    for run in runs:
        rows = [read_jsonl(run / name) for name in FACTS_FILES]
        if len({len(column) for column in rows}) > 1:
            raise UserError(f"{run}: ft.jsonl, text.jsonl and records.jsonl differ in length (fix: rerun that shard)")
        for column, new in zip((ft, text, records), rows):
            column += new
        rejected += read_jsonl(run / "rejected.jsonl", missing_ok=True)
    duplicates = {item.index: item for item in find_duplicates([record["question"] for record in records], threshold)}
    for index, duplicate in sorted(duplicates.items()):
        original = records[duplicate.of]
        rejected.append(
            {
                **records[index],
                "stage": "dedup",
                "reason": (
                    f"duplicate of item {original['id']} of another shard (similarity {duplicate.similarity}): "
                    f"{original['question']}"
                ),
            }
        )
    keep = [index for index in range(len(records)) if index not in duplicates]
    check_unique([records[index]["id"] for index in keep], "id")
    for name, column in zip(FACTS_FILES, (ft, text, records)):
        write_jsonl(out / name, [column[index] for index in keep])
    if any((run / "dpo.jsonl").is_file() for run in runs):
        write_jsonl(out / "dpo.jsonl", [row for run in runs for row in read_jsonl(run / "dpo.jsonl", missing_ok=True)])
    if "probes" in stats:  # shard 0 wrote them, checked against its own questions: now against every shard's
        rejected += _merge_probes(runs, [records[index]["question"] for index in keep], threshold, out, stats)
    write_jsonl(out / "rejected.jsonl", rejected)
    stats["duplicates_removed"] += len(duplicates)
    stats["kept"] = stats["produced"]["items"] = len(keep)
    stats["shortfall"]["items"] = stats["requested"]["items"] - len(keep)


def _merge_probes(
    runs: list[Path], training: list[str], threshold: float, out: Path, stats: dict[str, Any]
) -> list[dict[str, Any]]:
    """Write probe.jsonl less the probes that repeat another shard's question; returns their rejected rows."""
    probes = [row for run in runs for row in read_jsonl(run / "probe.jsonl", missing_ok=True)]
    duplicates = probe_duplicates(training, [probe["question"] for probe in probes], threshold)
    dropped = {duplicate.index for duplicate in duplicates}
    write_jsonl(out / "probe.jsonl", [probe for index, probe in enumerate(probes) if index not in dropped])
    stats["probes"]["duplicates_removed"] += len(dropped)
    stats["probes"]["kept"] = stats["produced"]["probes"] = len(probes) - len(dropped)
    stats["shortfall"]["probes"] = stats["requested"]["probes"] - stats["probes"]["kept"]
    return [
        {**probes[duplicate.index], "stage": PROBE_DEDUP_STAGE, "reason": duplicate.reason} for duplicate in duplicates
    ]
