"""The size rules every bundled splitter shares: merge small sections, split large ones with overlap."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import replace
from itertools import pairwise

from pydantic import Field, model_validator

from synthgen.sources.base import Chunk, Loader, Section
from synthgen.sources.files import Document

# Where a too-long text may be cut, best first; a cut falls at the end of a match, so separators stay
# with the text before them. Past the last level comes a hard cut by characters.
_BOUNDARIES = (
    re.compile(r"\n[ \t]*\n\s*"),  # paragraphs (blank lines)
    re.compile(r"[.!?][\"')\]]*\s+"),  # sentences
    re.compile(r"\n"),  # lines (e.g. list items without full stops)
    re.compile(r"\s+"),  # words
)
_WORD_START = re.compile(r"(?<!\S)\S")
_LEADING_BLANK_LINES = re.compile(r"\A\s*\n")


class ChunkSizes(Loader):
    """A loader that splits by size: the rules every bundled splitter shares."""

    max_chunk_size: int = Field(2000, gt=0)
    min_chunk_size: int = Field(200, ge=0)
    overlap: int = Field(100, ge=0)

    @model_validator(mode="after")
    def _sizes_agree(self) -> ChunkSizes:
        if self.overlap >= self.max_chunk_size:
            raise ValueError(f"overlap ({self.overlap}) must be smaller than max_chunk_size ({self.max_chunk_size})")
        if self.min_chunk_size > self.max_chunk_size:
            raise ValueError(
                f"min_chunk_size ({self.min_chunk_size}) must not exceed max_chunk_size ({self.max_chunk_size})"
            )
        return self


def build_chunks(document: Document, sections: Sequence[Section], sizes: ChunkSizes) -> list[Chunk]:
    """Merge small sections, split large ones, and number the non-blank results as chunks. Headings with no text
    under them (what is left once they merged into their neighbours: a document of headings only) are dropped
    and counted on the loader: there is nothing to ask about them."""
    merged = merge_small(sections, sizes)
    with_body = [section for section in merged if section.has_body]
    sizes.count_without_body(len(merged) - len(with_body))
    parts = [
        (section.header_path, part)
        for section in with_body
        for part in split_to_size(section.text, sizes.max_chunk_size, sizes.overlap)
        if part
    ]
    return [_chunk(document, index, path, text) for index, (path, text) in enumerate(parts)]


def merge_small(sections: Sequence[Section], sizes: ChunkSizes) -> list[Section]:
    """Merge each small section into the next one, else into the previous one.

    A section is merged when it is shorter than min_chunk_size and the merged text stays within
    max_chunk_size, or, whatever the sizes, when it is a header with no body (its header line then
    starts the neighbour's text, which is split by size later).
    """
    merged: list[Section] = []
    pending: Section | None = None
    for section in sections:
        if pending is not None and _absorbed(pending, pending.text + section.text, sizes):
            pending = _join(pending, section)
            continue
        if pending is not None:
            _keep(merged, pending, sizes)
        pending = section
    if pending is not None:
        _keep(merged, pending, sizes)
    return merged


def _keep(merged: list[Section], section: Section, sizes: ChunkSizes) -> None:
    """Append a section, or merge it into the previous one if it is small."""
    if merged and _absorbed(section, merged[-1].text + section.text, sizes):
        merged[-1] = _join(merged[-1], section)
    else:
        merged.append(section)


def _absorbed(small: Section, merged_text: str, sizes: ChunkSizes) -> bool:
    """Whether `small` should disappear into the neighbour whose merged text is given."""
    if not small.has_body:
        return True
    return _size(small.text) < sizes.min_chunk_size and _size(merged_text) <= sizes.max_chunk_size


def _join(first: Section, second: Section) -> Section:
    """Two adjacent sections as one, under the first one's header path.

    A header with no body followed by its own subsection takes the subsection's (longer) path.
    """
    child = not first.has_body and second.header_path[: len(first.header_path)] == first.header_path
    return Section(
        second.header_path if child else first.header_path,
        first.text + second.text,
        first.has_body or second.has_body,
    )


def split_to_size(text: str, max_size: int, overlap: int) -> list[str]:
    """Cut text into parts of at most max_size characters, consecutive parts sharing up to `overlap`.

    Cuts fall between paragraphs, else sentences, lines, words, and only as a last resort inside a
    word. Each part after the first starts with the tail of the previous one (from a word start
    where there is one). Parts are contiguous slices of the text, so no character is lost.
    """
    text = _clean(text)
    if len(text) <= max_size:
        return [text]
    # Units of at most max_size - overlap always fit after an overlap, so every part takes >= 1 unit.
    ends = _unit_ends(text, 0, len(text), max_size - overlap, 0)
    parts = []
    start = i = 0
    while i < len(ends):
        end = ends[i]
        i += 1
        while i < len(ends) and ends[i] - start <= max_size:
            end = ends[i]
            i += 1
        parts.append(_clean(text[start:end]))
        start = _tail_start(text, max(start, end - overlap), end)
    return parts


def _unit_ends(text: str, start: int, end: int, limit: int, level: int) -> list[int]:
    """End offsets of consecutive units that cover text[start:end], each at most `limit` long."""
    if end - start <= limit:
        return [end]
    if level == len(_BOUNDARIES):
        return [*range(start + limit, end, limit), end]
    cuts = [m.end() for m in _BOUNDARIES[level].finditer(text, start, end) if m.end() < end] + [end]
    ends = []
    for piece_start, piece_end in pairwise([start, *cuts]):
        ends += _unit_ends(text, piece_start, piece_end, limit, level + 1)
    return ends


def _tail_start(text: str, low: int, end: int) -> int:
    """Where the overlap before `end` starts: the first word start at or after `low`.

    Inside one long word the cut stays at `low`; a tail of only whitespace is dropped.
    """
    word = _WORD_START.search(text, low, end)
    if word:
        return word.start()
    return low if text[low:end].strip() else end


def _clean(text: str) -> str:
    """Text without leading blank lines and trailing whitespace (indentation of the first line kept)."""
    return _LEADING_BLANK_LINES.sub("", text).rstrip()


def _size(text: str) -> int:
    """The length a text will have as a chunk."""
    return len(_clean(text))


def _chunk(document: Document, index: int, header_path: tuple[str, ...], text: str) -> Chunk:
    """A chunk with an id stable across runs and unique per document name and position."""
    chunk = Chunk("", document.name, header_path, text, index)
    digest = hashlib.sha256(f"{chunk.document}\0{index}\0{chunk.header}".encode()).hexdigest()
    return replace(chunk, id=digest[:16])
