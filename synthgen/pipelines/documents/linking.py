"""Multi-hop partners: for each chunk, the chunks a question may combine with it.

Chunks are linked by the rare terms they share (terms found in at least two chunks but in few of them: names of
functions, settings, products), scored with rapidfuzz's normalised Indel similarity over the sorted term lists,
which for lists of distinct terms is the Dice coefficient of the two term sets. A chunk that shares no rare term
with another is linked to its neighbouring chunk of the same document instead.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

from rapidfuzz import process
from rapidfuzz.distance import Indel

from synthgen.sources.base import Chunk

_TERM = re.compile(r"[^\W\d_][\w.]{3,}")  # a word of 4+ characters (dots kept: `timeout.ref`)
RARE_SHARE = 0.1  # a rare term is found in at most this share of the chunks (and never fewer than 2)


def rare_terms(chunks: Sequence[Chunk]) -> list[list[str]]:
    """Each chunk's rare terms, sorted: terms in at least 2 chunks and at most RARE_SHARE of them."""
    terms = [sorted({term.casefold().strip(".") for term in _TERM.findall(chunk.text)}) for chunk in chunks]
    found_in = Counter(term for chunk_terms in terms for term in chunk_terms)
    most = max(2, math.floor(RARE_SHARE * len(chunks)))
    return [[term for term in chunk_terms if 2 <= found_in[term] <= most] for chunk_terms in terms]


def link_chunks(chunks: Sequence[Chunk], partners: int) -> list[tuple[int, ...]]:
    """For each chunk, the positions of up to `partners` other chunks: best-linked by rare terms, then neighbours."""
    if partners < 1:
        return [() for _ in chunks]
    profiles = rare_terms(chunks)
    links: list[tuple[int, ...]] = []
    for position, chunk in enumerate(chunks):
        chosen: list[int] = []
        if profiles[position]:
            scored = process.extract(
                profiles[position], profiles, scorer=Indel.normalized_similarity, limit=None, score_cutoff=1e-9
            )
            # Best score first; among equals the nearer chunk, then the earlier one.
            for _, _, other in sorted(scored, key=lambda hit: (-hit[1], abs(hit[2] - position), hit[2])):
                if len(chosen) < partners and chunks[other].id != chunk.id and other not in chosen:
                    chosen.append(other)
        for other in _neighbours(chunks, position):
            if len(chosen) < partners and other not in chosen and chunks[other].id != chunk.id:
                chosen.append(other)
        links.append(tuple(chosen))
    return links


def _neighbours(chunks: Sequence[Chunk], position: int) -> list[int]:
    """The chunks next to `position`, nearest first, the following one before the preceding one; the same
    document's first."""
    order = sorted(
        (other for other in range(len(chunks)) if other != position),
        key=lambda other: (
            chunks[other].document != chunks[position].document,
            abs(other - position),
            other < position,
        ),
    )
    return order[:2]
