"""Multi-hop partners: for each chunk, the chunks a question may combine with it.

Chunks are linked by the rare terms they share (terms found in at least two chunks but in few of them: names of
functions, settings, products), scored by the Dice coefficient of the two term sets. The candidates come from an
inverted index (rare term → chunks), built once: as a rare term is in at most RARE_MOST chunks, each chunk is
compared with a bounded number of others, so linking grows linearly with the chunks. A chunk that shares no rare
term with another is linked to its neighbouring chunk of the same document instead.
"""

from __future__ import annotations

import bisect
import heapq
import math
import re
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from itertools import chain, count

from synthgen.sources.base import Chunk

_TERM = re.compile(r"[^\W\d_][\w.]{3,}")  # a word of 4+ characters (dots kept: `timeout.ref`)
RARE_SHARE = 0.1  # a rare term is found in at most this share of the chunks (and never fewer than 2)
RARE_MOST = 50  # ... and in at most this many chunks, whatever the corpus size


def _terms(chunk: Chunk) -> set[str]:
    """The chunk's distinct terms, case-folded (the text at once: one call instead of one per word)."""
    return {term.strip(".") for term in _TERM.findall(chunk.text.casefold())}


def rare_terms(chunks: Sequence[Chunk]) -> list[list[str]]:
    """Each chunk's rare terms, sorted: terms in at least 2 chunks and at most RARE_SHARE (and RARE_MOST) of them.

    Each text is read once; a chunk's terms are held as numbers into one vocabulary, so only the rare ones are
    ever held as text per chunk."""
    vocabulary: defaultdict[str, int] = defaultdict(count().__next__)  # a new term gets the next number
    numbered = [array("l", map(vocabulary.__getitem__, _terms(chunk))) for chunk in chunks]
    found_in = Counter(chain.from_iterable(numbered))
    most = min(RARE_MOST, max(2, math.floor(RARE_SHARE * len(chunks))))
    rare = {number for number, count in found_in.items() if 2 <= count <= most}
    names = list(vocabulary)
    return [sorted(names[number] for number in numbers if number in rare) for numbers in numbered]


def link_chunks(chunks: Sequence[Chunk], partners: int) -> list[tuple[int, ...]]:
    """For each chunk, the positions of up to `partners` other chunks: best-linked by rare terms, then neighbours."""
    if partners < 1:
        return [() for _ in chunks]
    profiles = rare_terms(chunks)
    postings: dict[str, list[int]] = {}
    for position, terms in enumerate(profiles):
        for term in terms:
            postings.setdefault(term, []).append(position)
    by_document: dict[str, list[int]] = {}
    for position, chunk in enumerate(chunks):
        by_document.setdefault(chunk.document, []).append(position)
    links: list[tuple[int, ...]] = []
    for position, chunk in enumerate(chunks):
        chosen: list[int] = []
        terms = profiles[position]
        if terms:
            shared = Counter(chain.from_iterable(postings[term] for term in terms))
            size = len(terms)
            # Best score first; among equals the nearer chunk, then the earlier one (never the chunk itself, nor
            # a copy of it drawn with replacement).
            chosen = heapq.nsmallest(
                partners,
                (other for other in shared if chunks[other].id != chunk.id),
                key=lambda other: (-2 * shared[other] / (size + len(profiles[other])), abs(other - position), other),
            )
        for other in _neighbours(chunks, by_document[chunk.document], position):
            if len(chosen) < partners and other not in chosen and chunks[other].id != chunk.id:
                chosen.append(other)
        links.append(tuple(chosen))
    return links


def _neighbours(chunks: Sequence[Chunk], same: list[int], position: int) -> list[int]:
    """The two chunks next to `position`, nearest first, the following one before the preceding one; the same
    document's first (`same`: the sorted positions of its document's chunks)."""
    at = bisect.bisect_left(same, position)
    nearby = [*same[max(0, at - 2) : at], *same[at + 1 : at + 3]]
    order = sorted(nearby, key=lambda other: (abs(other - position), other < position))[:2]
    if len(order) < 2:
        order += [other for _, other in zip(range(2 - len(order)), _others(chunks, position))]
    return order


def _others(chunks: Sequence[Chunk], position: int) -> Iterator[int]:
    """Chunks of other documents outward from `position`, nearest first, the following one before the preceding
    one (reached only for a document of at most two chunks, so the scan skips at most two)."""
    document = chunks[position].document
    for distance in range(1, len(chunks)):
        for other in (position + distance, position - distance):
            if 0 <= other < len(chunks) and chunks[other].document != document:
                yield other
