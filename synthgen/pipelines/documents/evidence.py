"""The deterministic evidence check: every quote an item claims must be in the chunks it was written from.

A quote and a chunk are compared after casefolding and collapsing whitespace and punctuation (so markup such
as backticks and line breaks does not count), with rapidfuzz's partial ratio: the similarity of the quote to
its best-matching stretch of the chunk, 0-1. It costs no model call.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel
from rapidfuzz import fuzz

from synthgen.config.schema import EvidenceSettings
from synthgen.core.normalise import normalise
from synthgen.models.structured import text_field
from synthgen.pipelines.documents.records import Evidence
from synthgen.pipelines.documents.wording import check_wording
from synthgen.sources.base import Chunk

QUOTE_CHARS = 600  # a copied quote: a sentence or two (a passage offered as a choice is at most LONG_LINE=300)
# The prompts' word for the source, or a pointer at it: a question using one leans on what it was written from.
_EXCERPT = re.compile(r"\b(?:excerpts?|(?:this|the above) (?:document|page|section|text|passage|guide))\b")


class Quote(BaseModel):
    """A quote as the model gives it: the excerpt number it claims (1-based) and the text."""

    excerpt: int
    text: str = text_field(QUOTE_CHARS)


@dataclass(frozen=True)
class Verdict:
    """The located quotes and, if the check failed, its reason code and a readable detail."""

    evidence: list[Evidence]
    reason: str | None = None
    detail: str = ""


def locate(quote: Quote, chunks: Sequence[Chunk]) -> Evidence:
    """The quote's best match among `chunks`: the claimed excerpt wins ties."""
    key = normalise(quote.text)
    claimed = quote.excerpt - 1
    order = sorted(range(len(chunks)), key=lambda i: i != claimed)
    best, score = order[0], -1.0
    for i in order:
        found = fuzz.partial_ratio(key, normalise(chunks[i].text)) / 100 if key else 0.0
        if found > score:
            best, score = i, found
    return Evidence(quote=quote.text, chunk_id=chunks[best].id, score=round(score, 3))


def check_question(
    question: str,
    quotes: Sequence[Quote],
    chunks: Sequence[Chunk],
    settings: EvidenceSettings,
    *,
    answerable: bool,
    hops: int,
    unknown: Sequence[int] = (),
    language: str = "english",
    pattern: str | None = None,
) -> Verdict:
    """A question must say something other than a heading of its chunks, make sense without the excerpt the
    model was shown (no mention of "the excerpt", unless the source itself uses the word), be worded as a
    question (`wording.check_wording`) of its type (contain its type's `pattern`), and its quotes must check
    out."""
    verdict = check_quotes(quotes, chunks, settings, answerable=answerable, hops=hops, unknown=unknown)
    key = normalise(question)
    if not key:
        return Verdict(verdict.evidence, "empty_question", "the question is empty")
    if any(key == normalise(part) for chunk in chunks for part in chunk.header_path):
        return Verdict(verdict.evidence, "heading_as_question", "the question only repeats a section heading")
    if _EXCERPT.search(key) and not any(_EXCERPT.search(normalise(chunk.text)) for chunk in chunks):
        return Verdict(verdict.evidence, "mentions_excerpt", "the question refers to the excerpt it was written from")
    if pattern is not None and not re.search(pattern, question, re.IGNORECASE):
        return Verdict(verdict.evidence, "off_type", f"the question does not read as its type (no match for {pattern})")
    worded = check_wording(question, [quote.text for quote in quotes], language)
    if verdict.reason is None and worded is not None:
        return Verdict(verdict.evidence, *worded)
    return verdict


def check_quotes(
    quotes: Sequence[Quote],
    chunks: Sequence[Chunk],
    settings: EvidenceSettings,
    *,
    answerable: bool,
    hops: int,
    unknown: Sequence[int] = (),
) -> Verdict:
    """Locate every quote in `chunks` and judge them: an answerable item needs quotes, each at least
    `min_quote_chars` long and found at `threshold`, from at least `hops` different chunks, and cites no
    passage number that does not exist (`unknown`); an unanswerable one claims none. With the check disabled
    the quotes are located and scored but nothing is rejected."""
    evidence = [locate(quote, chunks) for quote in quotes]
    if not settings.enabled:
        return Verdict(evidence)
    if unknown:
        return Verdict(evidence, "unknown_passage", f"cites passages that do not exist: {list(unknown)}")
    if not answerable:
        if evidence:
            return Verdict(evidence, "quote_claimed", "the item should not be answerable, yet it quotes the source")
        return Verdict(evidence)
    if not evidence:
        return Verdict(evidence, "no_quote", "no supporting quote was given")
    for item in evidence:
        if len(normalise(item.quote)) < settings.min_quote_chars:
            return Verdict(evidence, "quote_too_short", f"quote shorter than {settings.min_quote_chars}: {item.quote}")
        if item.score < settings.threshold:
            return Verdict(evidence, "quote_not_found", f"quote not in the source (score {item.score}): {item.quote}")
    if len({item.chunk_id for item in evidence}) < hops:
        return Verdict(evidence, "single_chunk_evidence", f"quotes come from fewer than {hops} chunks")
    return Verdict(evidence)
