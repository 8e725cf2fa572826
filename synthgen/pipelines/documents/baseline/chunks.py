"""Pairing the baseline's chunks with the new documents' chunks: unchanged, moved, changed, added, removed.

Chunk ids name a document, a position and a header path, so they say nothing about the text: chunks are
paired by their text. Same text in the same document: unchanged (wherever it now is in the file); same text in
another document: moved (a renamed file, a section moved across files); else the same document and header
path, or (failing that) a text at least CHANGED_SIMILARITY similar: changed. What is left is added (new) or
removed (old).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from rapidfuzz import fuzz, process

from synthgen.core.normalise import normalise
from synthgen.outputs.changes import ChunkRecord
from synthgen.sources.base import Chunk

CHANGED_SIMILARITY = 0.6  # rapidfuzz ratio of the normalised texts at which an edited chunk is still the same one
Status = Literal["unchanged", "moved", "changed", "added"]


@dataclass(frozen=True)
class Paired:
    """A new chunk's status and the baseline chunk it continues (None when added)."""

    status: Status
    old: ChunkRecord | None


@dataclass
class ChunkDiff:
    """Every new chunk's pairing (by chunk id), the baseline chunks left unpaired, and the reverse map."""

    new: dict[str, Paired] = field(default_factory=dict)
    removed: list[ChunkRecord] = field(default_factory=list)
    successor: dict[str, tuple[str, Status]] = field(default_factory=dict)  # old chunk id -> new chunk id, status


def diff_chunks(old: Sequence[ChunkRecord], new: Sequence[Chunk | ChunkRecord]) -> ChunkDiff:
    """Pair `old` with `new` as the module says; each chunk is paired at most once, in document order."""
    diff = ChunkDiff()
    taken: set[str] = set()
    keys: tuple[tuple[Status, Callable[[ChunkRecord | Chunk], Hashable]], ...] = (
        ("unchanged", lambda chunk: (chunk.text, chunk.document)),
        ("moved", lambda chunk: chunk.text),
        ("changed", lambda chunk: (chunk.document, tuple(chunk.header_path))),
    )
    for status, key in keys:
        index: dict[Hashable, list[ChunkRecord]] = {}
        for record in old:
            if record.id not in taken:
                index.setdefault(key(record), []).append(record)
        for chunk in new:
            candidates = index.get(key(chunk), []) if chunk.id not in diff.new else []
            match = next((record for record in candidates if record.id not in taken), None)
            if match is not None:
                _pair(diff, taken, chunk, status, match)
    left = [record for record in old if record.id not in taken]
    texts = [normalise(record.text) for record in left]
    for chunk in new:
        if chunk.id in diff.new:
            continue
        open_ = [i for i, record in enumerate(left) if record.id not in taken]
        best = process.extractOne(
            normalise(chunk.text), [texts[i] for i in open_], scorer=fuzz.ratio, score_cutoff=CHANGED_SIMILARITY * 100
        )
        if best is None:
            diff.new[chunk.id] = Paired("added", None)
        else:
            _pair(diff, taken, chunk, "changed", left[open_[best[2]]])
    diff.removed = [record for record in old if record.id not in taken]
    return diff


def _pair(diff: ChunkDiff, taken: set[str], chunk: Chunk | ChunkRecord, status: Status, record: ChunkRecord) -> None:
    diff.new[chunk.id] = Paired(status, record)
    diff.successor[record.id] = (chunk.id, status)
    taken.add(record.id)
