"""Quotes chosen from the excerpts instead of copied (`model.quote_choices`): the reply schema lists the excerpts'
passages as an enum, so a model whose decoding follows the schema (the embedded model's grammar, strict JSON
schema servers) can only quote the source word for word. A small model asked to copy tends to paraphrase, and
a paraphrase fails the quote check; choosing keeps the check meaningful (the quote must still be found, and be
the right one for the question) while making exact copies possible.

The passages are those of `passages.number`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import Field, create_model

from synthgen.config.schema import EvidenceSettings
from synthgen.models.client import ModelClient
from synthgen.pipelines.documents.evidence import Quote
from synthgen.pipelines.documents.passages import number
from synthgen.sources.base import Chunk


def passages(chunks: Sequence[Chunk], min_chars: int) -> tuple[str, ...]:
    """The pieces of `chunks` a quote may be (`passages.number`), each once, in order, exact but for quote
    marks, backslashes and line breaks."""
    return tuple(dict.fromkeys(_grammar_safe(passage.text) for passage in number(chunks, min_chars)))


def _grammar_safe(passage: str) -> str:
    """`passage` on one line, with double quotes as single quotes and backslashes as slashes: llama-cpp-python
    0.3's schema to grammar conversion does not escape these inside an enum value, and its grammar then fails to
    load. The quote check compares words (punctuation and whitespace aside), so such a quote is still found at
    1.0."""
    return " ".join(passage.split()).replace('"', "'").replace("\\", "/")


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
