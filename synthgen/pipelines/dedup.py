"""Exact and near-duplicate texts, shared by every pipeline: normalised equality, then rapidfuzz's ratio; and
near-duplicate embedding vectors by cosine similarity (numpy).

rapidfuzz (a maintained C++ library) computes the same normalised Indel similarity as difflib's ratio,
exactly rather than heuristically and far faster, so a whole run's questions can be compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Indel

from synthgen.core.normalise import normalise

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Duplicate:
    """Text `index` repeats the earlier kept text `of` (similarity 1.0 when equal once normalised)."""

    index: int
    of: int
    similarity: float


class KeptTexts:
    """The texts kept so far, each under the number `add` gave it; `match` finds one a new text repeats.

    Equal once normalised is a repeat; so is a similarity (0-1) of at least `threshold` (1.0: exact repeats
    only): rapidfuzz's normalised Indel similarity of the normalised texts, over their characters
    (`fuzz.ratio`), or with `by_words` over their words, so that two questions differing in one name
    (`timeout.ref()`, `timeout.unref()`) stay apart while reworded repeats do not.
    """

    def __init__(self, threshold: float, *, by_words: bool = False) -> None:
        self.threshold = threshold
        self.by_words = by_words
        self._first: dict[str, int] = {}
        self._keys: list[Any] = []
        self._numbers: list[int] = []

    def match(self, text: str) -> tuple[int, float] | None:
        """(number of the kept text that `text` repeats, similarity), or None for a new text."""
        key = normalise(text)
        if key in self._first:
            return self._first[key], 1.0
        if self.threshold >= 1.0 or not self._keys:
            return None
        if self.by_words:
            best = process.extractOne(
                key.split(), self._keys, scorer=Indel.normalized_similarity, score_cutoff=self.threshold
            )
            return None if best is None else (self._numbers[best[2]], round(best[1], 3))
        best = process.extractOne(key, self._keys, scorer=fuzz.ratio, score_cutoff=self.threshold * 100)
        return None if best is None else (self._numbers[best[2]], round(best[1] / 100, 3))

    def add(self, text: str, number: int) -> None:
        """Keep `text` under `number`."""
        key = normalise(text)
        self._first.setdefault(key, number)
        self._keys.append(key.split() if self.by_words else key)
        self._numbers.append(number)


class KeptVectors:
    """The vectors kept so far, each under the number `add` gave it; `match` finds the kept vector whose cosine
    similarity with a new one is highest, if it is at least `threshold`.

    Rows are stored unit-length in a float32 matrix that doubles when full, so a match is one matrix-vector
    product over the kept vectors.
    """

    def __init__(self, threshold: float) -> None:
        import numpy as np  # here: only a run that embeds its questions needs it, and it takes a moment to import

        self.threshold = threshold
        self._rows = np.zeros((0, 0), dtype=np.float32)
        self._numbers: list[int] = []

    def match(self, vector: Sequence[float]) -> tuple[int, float] | None:
        """(number of the most similar kept vector, cosine similarity) if at least `threshold`, else None."""
        if not self._numbers:
            return None
        similarities = self._rows[: len(self._numbers)] @ _unit(vector)
        best = int(similarities.argmax())
        similarity = float(similarities[best])
        return (self._numbers[best], round(similarity, 3)) if similarity >= self.threshold else None

    def add(self, vector: Sequence[float], number: int) -> None:
        """Keep `vector` under `number`."""
        import numpy as np

        row = _unit(vector)
        size = len(self._numbers)
        if size == len(self._rows):
            grown = np.zeros((max(16, 2 * size), row.size), dtype=np.float32)
            if size:
                grown[:size] = self._rows
            self._rows = grown
        self._rows[size] = row
        self._numbers.append(number)


def _unit(vector: Sequence[float]) -> np.ndarray:
    """`vector` scaled to length 1 (a zero vector stays zero: similar to nothing)."""
    import numpy as np

    array = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(array))
    return array / norm if norm > 0 else array


def find_duplicates(texts: Sequence[str], threshold: float) -> list[Duplicate]:
    """The texts that repeat an earlier one, first occurrence kept (see KeptTexts for what repeats)."""
    kept = KeptTexts(threshold)
    duplicates: list[Duplicate] = []
    for index, text in enumerate(texts):
        repeated = kept.match(text)
        if repeated is None:
            kept.add(text, index)
        else:
            duplicates.append(Duplicate(index, *repeated))
    return duplicates
