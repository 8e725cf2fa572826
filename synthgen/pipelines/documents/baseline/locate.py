"""Finding a baseline quote anywhere in the new documents, with the generation's quote check.

A quote and a chunk are compared as pipelines/documents/evidence.py compares them (normalised, rapidfuzz's
partial ratio, 0-1). An exact normalised substring is found without scoring; otherwise every chunk is scored
in one `process.extractOne` call (rapidfuzz's C loop), the preferred chunk winning ties.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from synthgen.core.normalise import normalise
from synthgen.sources.base import Chunk


@dataclass(frozen=True)
class Found:
    """Where a quote is closest in the new chunks: the chunk, the similarity (0-1), and the stretch of the chunk's
    text that matches (for showing the old and new text of a passage side by side)."""

    chunk: Chunk
    score: float

    def passage(self, quote: str) -> str:
        """The stretch of the chunk's text that best matches `quote`."""
        text = self.chunk.text
        aligned = fuzz.partial_ratio_alignment(quote.lower(), text.lower())
        if aligned is None:
            return text
        start, end = aligned.dest_start, aligned.dest_end
        word = start
        while word > 0 and not text[word - 1].isspace():
            word -= 1
        first = quote.split()[0].lower() if quote.split() else ""
        if first.startswith(text[word:start].lower()):  # the quote's first word, cut: widened to all of it
            start = word
        else:  # the tail of a word the quote does not start with: dropped
            while start < end and not text[start].isspace():
                start += 1
        while end < len(text) and not text[end].isspace():  # the whole of the last word
            end += 1
        return " ".join(text[start:end].split())


class ChunkIndex:
    """The new chunks, normalised once, searched by quote."""

    def __init__(self, chunks: Sequence[Chunk]) -> None:
        self.chunks = list(chunks)
        self._texts = [normalise(chunk.text) for chunk in self.chunks]
        self._position = {chunk.id: i for i, chunk in enumerate(self.chunks)}

    def find(self, quote: str, prefer: Sequence[str] = ()) -> Found | None:
        """The chunk that holds `quote` best (the chunks `prefer` names first, in order), or None for no chunk or
        an empty quote."""
        key = normalise(quote)
        if not key or not self.chunks:
            return None
        order = [self._position[chunk] for chunk in prefer if chunk in self._position]
        for i in order:
            if key in self._texts[i]:
                return Found(self.chunks[i], 1.0)
        for i, text in enumerate(self._texts):
            if key in text:
                return Found(self.chunks[i], 1.0)
        best = process.extractOne(key, self._texts, scorer=fuzz.partial_ratio)
        assert best is not None
        _, score, index = best
        for i in order:  # a preferred chunk scoring as high wins the tie
            if fuzz.partial_ratio(key, self._texts[i]) >= score:
                index = i
                break
        return Found(self.chunks[index], round(score / 100, 3))
