"""How a reply gives its evidence (`mode.evidence.cite`): by passage number (`"evidence": [3, 7]`), by copied
quotes (`"quotes": ["..."]`, chosen from the passages with `model.quote_choices`), or not at all (the pipeline
chose the passages, or the item's type quotes nothing). Either way the claim becomes `Quote`s for the one
evidence check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import Field
from rapidfuzz import fuzz

from synthgen.config.schema import EvidenceSettings
from synthgen.core.normalise import normalise
from synthgen.models.client import ModelClient
from synthgen.models.structured import text_field
from synthgen.pipelines.documents.evidence import QUOTE_CHARS, Quote
from synthgen.pipelines.documents.passages import Passage, number
from synthgen.pipelines.documents.quote_choices import offered, quote_type
from synthgen.pipelines.documents.records import Evidence
from synthgen.sources.base import Chunk

MAX_CITED = 3  # passages one question or answer may cite: its evidence is a sentence or a few


@dataclass(frozen=True)
class Citing:
    """What a call's reply cites with: `none`, `number` (one of `passages`), or `text` (quotes, each naming its
    excerpt when `numbered`, chosen from `choices` when given)."""

    kind: Literal["none", "number", "text"]
    passages: tuple[Passage, ...] = ()
    numbered: bool = False
    choices: tuple[str, ...] | None = None

    def field(self) -> tuple[str, Any] | None:
        """The reply's evidence field, its name and type (None when the reply cites nothing)."""
        return evidence_field(self.kind, len(self.passages), self.numbered, self.choices)

    def key(self) -> tuple[Literal["none", "number", "text"], int, bool, tuple[str, ...] | None]:
        """What the reply schema depends on (the passages only by their count)."""
        return self.kind, len(self.passages), self.numbered, self.choices

    def claimed(self, cited: Sequence[Any]) -> tuple[list[Quote], list[int]]:
        """The quotes a reply's evidence field claims, and the passage numbers it cited that do not exist."""
        if self.kind == "number":
            by_number = {p.number: p for p in self.passages}
            known = [by_number[n] for n in dict.fromkeys(cited) if n in by_number]
            return [Quote(excerpt=p.excerpt, text=p.text) for p in known], [n for n in cited if n not in by_number]
        return [q if isinstance(q, Quote) else Quote(excerpt=1, text=q) for q in cited], []


@lru_cache(maxsize=512)
def evidence_field(
    kind: Literal["none", "number", "text"], passages: int, numbered: bool, choices: tuple[str, ...] | None
) -> tuple[str, Any] | None:
    """A reply's evidence field: `evidence`, one to MAX_CITED of the numbers 1..`passages`; `quotes`, copied
    (naming their excerpts when `numbered`; one of `choices` when given); or none."""
    if kind == "number":
        item = Annotated[int, Field(json_schema_extra={"enum": list(range(1, passages + 1))})]
        limits: dict[str, Any] = {"minItems": 1, "maxItems": MAX_CITED}
        return "evidence", Annotated[list[item], Field(json_schema_extra=limits)]
    if kind == "text":
        if choices or numbered:
            return "quotes", quote_type(choices, numbered)
        return "quotes", list[Annotated[str, text_field(QUOTE_CHARS)]]
    return None


def citing(
    client: ModelClient, chunks: Sequence[Chunk], evidence: EvidenceSettings, *, answerable: bool, asked: bool
) -> Citing:
    """How a call over `chunks` cites: not at all when the type quotes nothing or the passages were `asked`
    about (evidence first), else as `mode.evidence.cite` says."""
    if not answerable or asked:
        return Citing("none")
    passages = tuple(number(chunks, evidence.min_quote_chars))
    if evidence.cite == "number" and passages:
        return Citing("number", passages)
    choices = offered(client, chunks, evidence, answerable=answerable)
    return Citing("text", numbered=len(chunks) > 1, choices=choices)


def numbers_of(passages: Sequence[Passage], evidence: Sequence[Evidence], threshold: float = 1.0) -> list[int]:
    """The numbers of the passages that hold `evidence` or are held in it (same chunk; rapidfuzz's partial
    ratio at `threshold`, as the quote check compares: a cited passage is its evidence exactly, a copied quote
    a piece of one or more passages), in order."""
    return [
        p.number
        for p in passages
        if any(
            e.chunk_id == p.chunk_id and fuzz.partial_ratio(normalise(e.quote), normalise(p.text)) >= threshold * 100
            for e in evidence
        )
    ]
