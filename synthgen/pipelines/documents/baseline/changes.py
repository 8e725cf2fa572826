"""changes.json and chunks.jsonl: what an update run kept, retired and added, per document, from the written files.

Computed from files (the baseline's datasets.jsonl and chunks.jsonl, the run's datasets.jsonl, retired.jsonl and
chunks.jsonl), so a merge of shards computes it the same way.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from synthgen.core.jsonl import read_jsonl, write_json, write_jsonl
from synthgen.outputs.changes import CHANGES, CHUNKS, RETIRED, ChunkRecord, DocumentChanges, RetiredItem, RunChanges
from synthgen.pipelines.documents.baseline.chunks import diff_chunks
from synthgen.pipelines.documents.baseline.decisions import carry_decisions
from synthgen.pipelines.documents.baseline.old_run import FINGERPRINT, read_old_run
from synthgen.run.directory import output_settings
from synthgen.sources.base import Chunk


def write_chunks(run_dir: Path, chunks: Iterable[Chunk]) -> None:
    """chunks.jsonl: the chunks the job generated from, so the run can be the baseline of a later update."""
    rows = [
        ChunkRecord(id=c.id, document=c.document, header_path=list(c.header_path), index=c.index, text=c.text)
        for c in chunks
    ]
    write_jsonl(run_dir / CHUNKS, [row.model_dump() for row in rows])


def merge_update_shards(runs: list[Path], out: Path, config: dict[str, Any], baseline: str | None) -> None:
    """The merged job's chunks.jsonl (every shard writes the whole job's), its saved config (so the merge can be
    the baseline of a later update), and with a baseline the shards' retired items and the job's changes.json."""
    chunks = runs[0] / CHUNKS
    if chunks.is_file():
        shutil.copyfile(chunks, out / CHUNKS)
    (out / FINGERPRINT).parent.mkdir(parents=True, exist_ok=True)
    write_json(out / FINGERPRINT, {"config": json.loads(json.dumps(output_settings(config), default=str))})
    if baseline is not None:
        write_jsonl(out / RETIRED, [row for run in runs for row in read_jsonl(run / RETIRED, missing_ok=True)])
        write_changes(out, Path(baseline).expanduser())


def write_changes(run_dir: Path, baseline: Path) -> RunChanges:
    """Carry the baseline's review decisions on the kept items into the run, compare the run in `run_dir` with
    `baseline` and write changes.json."""
    old = read_old_run(baseline)
    old_ids = {turn.qa_id for turn in old.turns}
    turns = [turn for row in read_jsonl(run_dir / "datasets.jsonl", missing_ok=True) for turn in row["conversation"]]
    retired = [RetiredItem.model_validate(row) for row in read_jsonl(run_dir / RETIRED, missing_ok=True)]
    documents: dict[str, DocumentChanges] = {}

    def entry(name: str) -> DocumentChanges:
        return documents.setdefault(name, DocumentChanges(document=name))

    kept = 0
    for turn in turns:
        document = entry(turn["agentic"]["document"])
        if turn["qa_id"] in old_ids:
            document.kept += 1
            kept += 1
        else:
            document.new += 1
    for item in retired:
        entry(item.document).retired += 1
    new_chunks = [ChunkRecord.model_validate(row) for row in read_jsonl(run_dir / CHUNKS, missing_ok=True)]
    if old.chunks is None:
        for document in documents.values():
            document.chunks_added = document.chunks_changed = document.chunks_moved = None
            document.chunks_unchanged = document.chunks_removed = None
    else:
        diff = diff_chunks(old.chunks, new_chunks)
        for chunk in new_chunks:
            document = entry(chunk.document)
            field = f"chunks_{diff.new[chunk.id].status}"
            setattr(document, field, (getattr(document, field) or 0) + 1)
        for record in diff.removed:
            document = entry(record.document)
            document.chunks_removed = (document.chunks_removed or 0) + 1
    rejected_in_review = carry_decisions(baseline, run_dir, {t["qa_id"] for t in turns} & old_ids)
    changes = RunChanges(
        baseline=str(baseline),
        kept=kept,
        retired=len(retired),
        new=len(turns) - kept,
        kept_rejected_in_review=len(rejected_in_review),
        retired_by_reason=dict(Counter(item.reason for item in retired)),
        documents=[documents[name] for name in sorted(documents)],
    )
    write_json(run_dir / CHANGES, changes.model_dump(mode="json"))
    return changes
