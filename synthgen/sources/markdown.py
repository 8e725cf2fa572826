"""Markdown: split on ATX headers (never inside fenced code), then by size."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from typing import Annotated

from pydantic import Field

from synthgen.sources.files import Document
from synthgen.sources.sizes import Chunk, ChunkSizes, Section, build_chunks

_LINE = re.compile(r"[^\n]*\n|[^\n]+")
_FENCE_OPEN = re.compile(r" {0,3}(`{3,}(?=[^`]*$)|~{3,})")
_FENCE_CLOSE = re.compile(r" {0,3}(`{3,}|~{3,})[ \t]*$")
_HEADER = re.compile(r" {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
# A heading's trailing attribute list (MkDocs/Python-Markdown attr_list, Pandoc header attributes):
# `{ #id }`, `{: .class }`, `{#id .class key=value}`, `{-}`; not part of the title.
_ATTRIBUTE = r"""(?:[#.][^\s{}"'=]+|[^\s{}"'=]+=(?:"[^"]*"|'[^']*'|[^\s{}"']*)|-)"""
_ATTRIBUTE_LIST = re.compile(rf"(?:[ \t]+#+)?[ \t]+\{{:?[ \t]*{_ATTRIBUTE}(?:[ \t]+{_ATTRIBUTE})*[ \t]*\}}$")


class MarkdownLoader(ChunkSizes):
    """`loader=markdown`: one section per header of a configured level, then the size rules."""

    header_levels: list[Annotated[int, Field(ge=1, le=6)]] = Field(default_factory=lambda: [1, 2, 3])

    def split(self, document: Document) -> list[Chunk]:
        """Chunks of a markdown document, each with its header path."""
        return build_chunks(document, markdown_sections(document.text, self.header_levels), self)


def markdown_sections(text: str, header_levels: Collection[int]) -> list[Section]:
    """The non-blank sections of a markdown text; each starts with its header line and carries its header path."""
    sections = []
    stack: list[tuple[int, str]] = []
    start = body_start = 0
    for header_start, header_end, level, title in _headers(text, set(header_levels)):
        sections.append(_section(text, start, body_start, header_start, stack))
        stack = [entry for entry in stack if entry[0] < level] + [(level, title)]
        start, body_start = header_start, header_end
    sections.append(_section(text, start, body_start, len(text), stack))
    return [section for section in sections if section.text.strip()]


def _section(text: str, start: int, body_start: int, end: int, stack: list[tuple[int, str]]) -> Section:
    """The section text[start:end] whose body starts at body_start."""
    return Section(tuple(title for _, title in stack), text[start:end], bool(text[body_start:end].strip()))


def _headers(text: str, levels: set[int]) -> Iterator[tuple[int, int, int, str]]:
    """(start, end, level, title) of each header line of a wanted level outside fenced code; titles carry no
    attribute list."""
    fence = ""
    end = 0
    for line in _LINE.findall(text):
        start, end = end, end + len(line)
        if fence:
            close = _FENCE_CLOSE.match(line)
            if close and close[1][0] == fence[0] and len(close[1]) >= len(fence):
                fence = ""
        elif opening := _FENCE_OPEN.match(line):
            fence = opening[1]
        elif (header := _HEADER.match(line)) and len(header[1]) in levels and header[2]:
            yield start, end, len(header[1]), _ATTRIBUTE_LIST.sub("", header[2])
