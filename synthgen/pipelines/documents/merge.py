"""Joining the shards of a document job: a dataset cut between shards becomes one again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synthgen.core.errors import UserError
from synthgen.core.jsonl import read_jsonl, write_json, write_jsonl
from synthgen.pipelines.documents.plan import DocumentPlan
from synthgen.pipelines.documents.quality import quality_report
from synthgen.pipelines.documents.records import context_order
from synthgen.run.shards import check_unique


def merge_dataset_shards(runs: list[Path], out: Path, stats: dict[str, Any], plan: DocumentPlan) -> None:
    """Join dataset parts with the same session_id in shard order (the chunks of a shard are one contiguous
    block), rebuild the context of a joined one from the whole job's chunks (a part may rely on a chunk of
    another part), and write every shard's rejected.jsonl rows and the job's quality.json."""
    merged: dict[str, dict[str, Any]] = {}
    cut: set[str] = set()
    parts = 0
    for run in runs:
        for part in read_jsonl(run / "datasets.jsonl", missing_ok=True):
            parts += 1
            if part["session_id"] in merged:
                cut.add(part["session_id"])
            merged.setdefault(part["session_id"], {**part, "conversation": []})["conversation"] += part["conversation"]
    datasets = list(merged.values())
    check_unique([turn["qa_id"] for dataset in datasets for turn in dataset["conversation"]], "qa_id")
    texts = {chunk.id: chunk.text for unit in plan.units for chunk in unit.chunks}
    for dataset in (dataset for dataset in datasets if dataset["session_id"] in cut):
        order = context_order(dataset["conversation"])
        if any(chunk not in texts for chunk in order):
            raise UserError(
                "the shards' chunks are no longer in their source (fix: merge with the source files the shards read)"
            )
        dataset["context"] = "\n\n".join(texts[chunk] for chunk in order)
    write_jsonl(out / "datasets.jsonl", datasets)
    rejected = [row for run in runs for row in read_jsonl(run / "rejected.jsonl", missing_ok=True)]
    write_jsonl(out / "rejected.jsonl", rejected)
    joined = parts - len(datasets)  # each shard counted its part of a cut dataset as one
    stats["requested"]["datasets"] = stats["requested"].get("datasets", 0) - joined
    stats["produced"]["datasets"] = len(datasets)
    stats["shortfall"] = {
        kind: max(0, wanted - stats["produced"].get(kind, 0)) for kind, wanted in stats["requested"].items()
    }
    chunks = [(chunk.id, chunk.document) for chunk in plan.chunks()]
    write_json(out / "quality.json", quality_report(datasets, rejected, chunks, stats["requested"].get("queries", 0)))
