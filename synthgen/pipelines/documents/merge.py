"""Joining the shards of a document job: a dataset cut between shards becomes one again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synthgen.core.jsonl import read_jsonl, write_jsonl
from synthgen.run.shards import check_unique


def merge_dataset_shards(runs: list[Path], out: Path, stats: dict[str, Any]) -> None:
    """Join dataset parts with the same session_id in shard order; the chunks of a shard are one contiguous block."""
    merged: dict[str, dict[str, Any]] = {}
    parts = 0
    for run in runs:
        for part in read_jsonl(run / "datasets.jsonl", missing_ok=True):
            parts += 1
            whole = merged.setdefault(part["session_id"], {**part, "conversation": []})
            if whole["conversation"]:
                whole["context"] += "\n\n" + part["context"]  # as the pipeline joins the chunks of a dataset
            whole["conversation"] += part["conversation"]
    datasets = list(merged.values())
    check_unique([turn["qa_id"] for dataset in datasets for turn in dataset["conversation"]], "qa_id")
    write_jsonl(out / "datasets.jsonl", datasets)
    joined = parts - len(datasets)  # each shard counted its part of a cut dataset as one
    stats["requested"]["datasets"] = stats["requested"].get("datasets", 0) - joined
    stats["produced"]["datasets"] = len(datasets)
    stats["shortfall"] = {
        kind: max(0, wanted - stats["produced"].get(kind, 0)) for kind, wanted in stats["requested"].items()
    }
