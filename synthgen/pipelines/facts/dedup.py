"""Exact and near-duplicate questions: normalised equality, then a similarity threshold."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from synthgen.core.normalise import normalise


@dataclass(frozen=True)
class Duplicate:
    """Text `index` repeats the earlier kept text `of` (similarity 1.0 when equal once normalised)."""

    index: int
    of: int
    similarity: float


def find_duplicates(texts: Sequence[str], threshold: float) -> list[Duplicate]:
    """The texts that repeat an earlier one, first occurrence kept.

    Equal once normalised is a duplicate; so is a difflib ratio of at least `threshold` between
    normalised texts (threshold 1.0: exact duplicates only).
    """
    duplicates: list[Duplicate] = []
    first_of: dict[str, int] = {}
    kept: list[tuple[int, str]] = []
    matcher = SequenceMatcher(autojunk=False)
    for index, text in enumerate(texts):
        key = normalise(text)
        if key in first_of:
            duplicates.append(Duplicate(index, first_of[key], 1.0))
            continue
        near = _most_similar(matcher, key, kept, threshold) if threshold < 1.0 else None
        if near is not None:
            duplicates.append(Duplicate(index, *near))
            continue
        first_of[key] = index
        kept.append((index, key))
    return duplicates


def _most_similar(
    matcher: SequenceMatcher[str], key: str, kept: list[tuple[int, str]], threshold: float
) -> tuple[int, float] | None:
    """The first kept text at least `threshold` similar to `key`, with its ratio."""
    matcher.set_seq2(key)
    for index, other in kept:
        matcher.set_seq1(other)
        if matcher.real_quick_ratio() >= threshold and matcher.quick_ratio() >= threshold:
            ratio = matcher.ratio()
            if ratio >= threshold:
                return index, round(ratio, 3)
    return None
