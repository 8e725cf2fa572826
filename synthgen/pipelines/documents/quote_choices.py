"""Quotes chosen from the excerpts instead of copied (`model.quote_choices`): the reply schema lists the excerpts'
passages as an enum, so a model whose decoding follows the schema (the embedded model's grammar, strict JSON
schema servers) can only quote the source word for word. A small model asked to copy tends to paraphrase, and
a paraphrase fails the quote check; choosing keeps the check meaningful (the quote must still be found, and be
the right one for the question) while making exact copies possible.

A passage is a line of a chunk, cut at sentence ends when it is long (one paragraph per line is common in
Markdown, and a whole paragraph is a costly quote). The cut needs no sentence segmenter: a passage only has to
be an exact piece of the text, and a cut in the wrong place merely makes two shorter passages.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import Field, create_model

from synthgen.config.schema import EvidenceSettings
from synthgen.core.normalise import normalise
from synthgen.models.client import ModelClient
from synthgen.pipelines.documents.evidence import Quote
from synthgen.sources.base import Chunk

LONG_LINE = 300  # characters: a longer line is offered sentence by sentence
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")


def passages(chunks: Sequence[Chunk], min_chars: int) -> tuple[str, ...]:
    """The pieces of `chunks` a quote may be: their lines (long ones cut at sentence ends) that hold at least
    `min_chars` characters of words, each once, in order, exact but for quote marks and backslashes."""
    found: dict[str, None] = {}
    for chunk in chunks:
        for line in chunk.text.splitlines():
            line = line.strip()
            pieces = _SENTENCE_END.split(line) if len(line) > LONG_LINE else [line]
            found.update((_grammar_safe(piece), None) for piece in pieces if len(normalise(piece)) >= min_chars)
    return tuple(found)


def _grammar_safe(passage: str) -> str:
    """`passage` with double quotes as single quotes and backslashes as slashes: llama-cpp-python 0.3's schema
    to grammar conversion does not escape either inside an enum value, and its grammar then fails to load. The
    quote check compares words (punctuation aside), so such a quote is still found at 1.0."""
    return passage.replace('"', "'").replace("\\", "/")


def offered(
    client: ModelClient, chunks: Sequence[Chunk], evidence: EvidenceSettings, *, answerable: bool
) -> tuple[str, ...] | None:
    """The passages a call's quotes are chosen from, or None to let the model copy freely (the model does not
    choose quotes, the item's type quotes nothing, or no passage is long enough)."""
    if not (client.settings.quote_choices and answerable):
        return None
    return passages(chunks, evidence.min_quote_chars) or None


def quote_type(choices: tuple[str, ...] | None, numbered: bool) -> Any:
    """The type of a reply's `quotes`: free strings (or `Quote` objects when `numbered`), or, with `choices`,
    each one of them. With choices the schema also asks for at least one quote (for constrained decoding only: a
    reply without any is still parsed, and rejected by the quote check as `no_quote`)."""
    if not choices:
        return list[Quote] if numbered else list[str]
    text: Any = Literal.__getitem__(choices)
    item = create_model("Quote", __base__=Quote, text=(text, ...)) if numbered else text
    return Annotated[list[item], Field(json_schema_extra={"minItems": 1})]  # type: ignore[valid-type]
