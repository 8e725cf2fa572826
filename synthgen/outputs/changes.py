"""What an update run (`baseline=OLD_RUN`) changed: the records of `retired.jsonl` and `changes.json`.

Written by the documents pipeline, read by the report (and by anyone comparing two versions of a test set).
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from synthgen.core.errors import UserError

CHANGES = "changes.json"
RETIRED = "retired.jsonl"
CHUNKS = "chunks.jsonl"


class ChunkRecord(BaseModel):
    """A row of chunks.jsonl: a chunk a document run generated from, as it was read."""

    id: str
    document: str
    header_path: list[str]
    index: int
    text: str


class Passage(BaseModel):
    """One quote of a retired item: the text it quoted, and the closest stretch of the new documents (null when
    nothing there comes close), with its similarity to the quote (0-1) and the chunk it is in."""

    old: str
    new: str | None
    score: float
    chunk_id: str | None


class RetiredItem(BaseModel):
    """A row of retired.jsonl: an item of the baseline that the new documents no longer support."""

    qa_id: str
    session_id: str
    query: str
    question_type: str
    document: str  # where the item's chunk was, in the baseline
    chunk_id: str
    reason: str  # evidence_removed, evidence_changed, after_retired_turn, chunk_not_planned
    detail: str
    passages: list[Passage] = Field(default_factory=list)


class DocumentChanges(BaseModel):
    """Per document: items kept, retired and new; chunks added, changed, moved (same text, new place or file),
    unchanged and removed. Chunk counts are null when the baseline has no chunks.jsonl."""

    document: str
    kept: int = 0
    retired: int = 0
    new: int = 0
    chunks_added: int | None = 0
    chunks_changed: int | None = 0
    chunks_moved: int | None = 0
    chunks_unchanged: int | None = 0
    chunks_removed: int | None = 0


class RunChanges(BaseModel):
    """changes.json: the update against its baseline, in total and per document."""

    baseline: str
    kept: int
    retired: int
    new: int
    kept_rejected_in_review: int = 0
    retired_by_reason: dict[str, int] = Field(default_factory=dict)
    documents: list[DocumentChanges] = Field(default_factory=list)


def read_changes(run_dir: Path) -> RunChanges | None:
    """The run's changes.json, or None for a run that did not start from a baseline."""
    path = run_dir / CHANGES
    if not path.is_file():
        return None
    try:
        return RunChanges.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, ValidationError) as error:
        raise UserError(f"{path} is not a changes file ({error}) (fix: rerun the update, or delete it)") from None
