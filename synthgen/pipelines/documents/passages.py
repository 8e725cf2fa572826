"""The excerpts' passages, numbered once per call, so a reply cites evidence by number (`"evidence": [3, 7]`)
instead of copying it: cheaper for every model, and exact by construction (the item's evidence is the passages'
own text).

A passage is a line of a chunk, cut at sentence ends when it is long (one paragraph per line is common in
Markdown, and a whole paragraph is a costly quote), or a sentence of a hard-wrapped paragraph. The cut needs no
sentence segmenter: a passage only has to be an exact piece of the text, and a cut in the wrong place merely
makes two shorter passages. Numbers run on across the excerpts of one call, so one number names both the
excerpt and the passage.

Evidence-first generation asks about passages the pipeline picks (`pick`): spread over the chunk, statements a
question can check (a value, a name, an identifier) first; headings, code, tables, link lists and an API's
signature lines never.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from synthgen.core.normalise import normalise
from synthgen.sources.base import Chunk

LONG_LINE = 300  # characters: a longer line is offered sentence by sentence
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")
_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s")  # a Markdown heading: shown, never a passage (it states nothing)
_ITEM = re.compile(r"^\s*([-*+]|\d{1,3}[.)])\s")  # a list item starts: not the wrapped line of the one above
_NOT_PROSE = re.compile(r"^\s*(\||>|!\[|[-*+]\s+\[[^\]]*\]\([^)]*\)\s*$)")  # table, quote, image, link
_CHECKABLE = (
    re.compile(r"\d"),  # a value
    re.compile(r"`[^`]+`|\w+\(\)|\b\w+_\w+\b|\b[a-z]+[A-Z]\w*\b|--\w"),  # an identifier
    re.compile(r"(?<=[a-z,;:] )[A-Z][a-z]+"),  # a name: a capital inside a sentence
)
MIN_WORDS = 5  # a shorter passage states too little to ask about
_TITLE = re.compile(r"^(How|What|Why|When|Where|Which|Who)\b[^?]*$")  # a question word first, no question mark
# A signature line of an API reference ("* Returns: {Timeout} ...", "* `delay` {number} ...", ":param x:"): what
# it states belongs to the heading above it, so a question asked of it alone names the wrong thing
_SIGNATURE = re.compile(r"^([-*+]\s+(Returns?:|`[^`]+`\s*\{[^}]*\}|\{[^}]*\})|:(param|type|returns?|rtype|raises)\b)")


@dataclass(frozen=True)
class Passage:
    """One numbered passage: its number in the call (1-based), the excerpt it is in (1-based), its exact text,
    whether it is prose a question can be asked about (not code, a heading, a table or a link list), and the
    heading it is read under."""

    number: int
    excerpt: int
    chunk_id: str
    text: str
    prose: bool
    heading: str = ""  # the heading it is under (the chunk's section when none is above it in the chunk)


def _lines(chunk: Chunk, min_chars: int) -> list[tuple[list[tuple[str, bool | None]], bool]]:
    """The chunk's lines in order, each as its pieces (long prose lines cut at sentence ends), each piece with
    whether it is prose, or None when it is no passage (a heading, a fence, an HTML comment, fewer than
    `min_chars` characters of words), and whether the line is a heading. The lines of a hard-wrapped paragraph
    or list item are joined first and cut at sentence ends, so a passage is a sentence, not the part of one that
    fit in 80 columns."""
    lines: list[tuple[str, bool | None]] = []  # (text, prose), None: a heading, a fence or a comment
    headings: set[int] = set()  # the positions in `lines` of headings
    in_code = in_comment = False
    for line in chunk.text.splitlines():
        stripped = line.strip()
        if _FENCE.match(line):
            in_code = not in_code
        opens = not in_code and not in_comment and stripped.startswith("<!--")
        if in_comment or opens:  # an HTML comment (Node's docs keep their YAML metadata in them)
            in_comment = not stripped.endswith("-->")
            lines.append((stripped, None))
            continue
        if _FENCE.match(line) or (not in_code and _HEADING.match(line)):
            if not _FENCE.match(line):
                headings.add(len(lines))
            lines.append((stripped, None))
            continue
        prose = not in_code and not _NOT_PROSE.match(line)
        wraps = prose and stripped and lines and lines[-1][1] and lines[-1][0] and not _ITEM.match(line)
        if wraps:  # the next line of the paragraph (or list item) above: the passage stays the exact text
            lines[-1] = (f"{lines[-1][0]}\n{line.rstrip()}", True)
        else:
            lines.append((stripped, prose))
    pieces: list[tuple[list[tuple[str, bool | None]], bool]] = []
    for position, (text, is_prose) in enumerate(lines):
        cut = is_prose and (len(text) > LONG_LINE or "\n" in text)  # a wrapped paragraph: by sentence
        split = _SENTENCE_END.split(text) if cut else [text]
        marked = [
            (piece, is_prose if is_prose is not None and len(normalise(piece)) >= min_chars else None)
            for piece in split
        ]
        pieces.append((marked, position in headings))
    return pieces


def number(chunks: Sequence[Chunk], min_chars: int) -> list[Passage]:
    """The passages of `chunks`, numbered from 1 across them: every piece but headings holding at least
    `min_chars` characters of words, each with the heading above it."""
    found: list[Passage] = []
    for excerpt, chunk in enumerate(chunks, start=1):
        heading = chunk.header[-1] if chunk.header else ""
        for line, is_heading in _lines(chunk, min_chars):
            if is_heading:
                heading = line[0][0].lstrip("#").strip()
            for piece, prose in line:
                if prose is not None:
                    found.append(Passage(len(found) + 1, excerpt, chunk.id, piece, prose, heading))
    return found


def numbered_text(chunks: Sequence[Chunk], min_chars: int) -> list[str]:
    """Each chunk's text as the prompt shows it, one entry per chunk: its lines in order, every passage led by
    its number (`[3] The default is 5.`), the numbers of `number`."""
    shown: list[str] = []
    count = 0
    for chunk in chunks:
        lines = []
        for line, _ in _lines(chunk, min_chars):
            marked = []
            for piece, prose in line:
                if prose is not None:
                    count += 1
                    piece = f"[{count}] {piece}"
                marked.append(piece)
            lines.append(" ".join(marked))
        shown.append("\n".join(lines))
    return shown


def checkable(passage: Passage) -> int:
    """How much a passage states that a question can check: one point per kind of value, identifier or name;
    -1 for what no question should be asked about (code, headings, tables, link lists, a few words, a sentence
    worded as a title, "How the team works.", which a small model copies as its question, and an API's signature
    line, "* Returns: {Timeout} a reference to `timeout`")."""
    text = passage.text
    if not passage.prose or len(text.split()) < MIN_WORDS or _TITLE.match(text) or _SIGNATURE.match(text):
        return -1
    return sum(1 for pattern in _CHECKABLE if pattern.search(passage.text))


def pick(
    passages: Sequence[Passage], count: int, excerpt: int | None = 1, avoid: frozenset[str] = frozenset()
) -> list[Passage]:
    """Up to `count` passages of excerpt `excerpt` (None: of every excerpt) to ask about, in the chunk's order:
    the chunk is cut into `count` stretches and each gives its most checkable passage (earlier wins ties);
    passages whose text is in `avoid` (asked about already) are skipped while others remain."""
    candidates = [p for p in passages if excerpt in (None, p.excerpt) and checkable(p) >= 0]
    fresh = [p for p in candidates if p.text not in avoid]
    pool = fresh if len(fresh) >= count else fresh + [p for p in candidates if p.text in avoid]
    if len(pool) <= count:
        return pool
    chosen: list[Passage] = []
    for stretch in range(min(count, len(pool))):
        start, end = stretch * len(pool) // count, (stretch + 1) * len(pool) // count
        part = pool[start:end] or pool[start : start + 1]
        chosen.append(max(part, key=lambda p: (checkable(p), -p.number)))
    return sorted(set(chosen), key=lambda p: p.number)
