"""Stage 2 of document mode: reference answers with their quotes, checked like the questions' quotes."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any

from pydantic import BaseModel, create_model

from synthgen.core.normalise import normalise
from synthgen.models.client import ModelClient
from synthgen.models.structured import text_field
from synthgen.pipelines.budgets import ANSWER_TOKENS
from synthgen.pipelines.documents.evidence import QUOTE_CHARS, Quote, Verdict, check_quotes
from synthgen.pipelines.documents.items import Item
from synthgen.pipelines.documents.plan import DocumentMode
from synthgen.pipelines.documents.questions import draw_of, excerpts
from synthgen.pipelines.documents.quote_choices import offered, quote_type
from synthgen.pipelines.prompts import render_prompt

STAGE = "answers"
ANSWER_CHARS = 1000  # a concise reference answer: a paragraph, or a few steps


class Answer(BaseModel):
    """What an answer call returns: the quotes first, so the answer is written from what was copied."""

    quotes: list[Annotated[str, text_field(QUOTE_CHARS)]]
    answer: str = text_field(ANSWER_CHARS)

    def claimed(self) -> list[Quote]:
        """The quotes with the excerpt each claims to come from."""
        return [Quote(excerpt=1, text=quote) for quote in self.quotes]


class NumberedAnswer(Answer):
    """An answer from several excerpts: each quote names the excerpt it comes from."""

    quotes: list[Quote]  # type: ignore[assignment]

    def claimed(self) -> list[Quote]:
        """The quotes as given."""
        return list(self.quotes)


@lru_cache(maxsize=512)
def answer_schema(numbered: bool, choices: tuple[str, ...] | None) -> type[Answer]:
    """The answer reply schema: quotes are plain strings, or `{excerpt, text}` objects when `numbered`, chosen
    from `choices` when given."""
    base = NumberedAnswer if numbered else Answer
    if not choices:
        return base
    return create_model(base.__name__, __base__=base, quotes=(quote_type(choices, numbered), ...))


async def answer_item(client: ModelClient, item: Item, mode: DocumentMode, history: list[dict[str, Any]]) -> Answer:
    """The reference answer of `item` from its chunks; `history` holds the conversation's earlier turns."""
    kind = mode.types[item.slot.type]
    prompt = render_prompt(
        mode.answer_prompt,
        language=mode.language,
        excerpts=excerpts(item.shown),
        instructions=kind.answer_instructions,
        notes=item.notes,
        history=history,
        question=item.question,
        answerable=kind.answerable,
    )
    choices = offered(client, item.shown, mode.evidence, answerable=kind.answerable)
    schema = answer_schema(len(item.shown) > 1, choices)
    return await client.structured(
        [{"role": "user", "content": prompt}],
        schema,
        stage=STAGE,
        draw=draw_of(item.unit, mode, item.round),
        max_tokens=ANSWER_TOKENS,
    )


def check_answer(item: Item, reply: Answer, mode: DocumentMode) -> Verdict:
    """An answer must say something beyond the question's own words and carry quotes found in the item's chunks
    (none for an unanswerable type)."""
    words = normalise(reply.answer).split()
    if not words:
        return Verdict([], "empty_answer", "the answer is empty")
    if set(words) <= set(normalise(item.question).split()):
        return Verdict([], "answer_repeats_question", f"the answer only repeats words of the question: {reply.answer}")
    verdict = check_quotes(
        reply.claimed(), item.shown, mode.evidence, answerable=mode.types[item.slot.type].answerable, hops=1
    )
    if verdict.reason is None:
        return verdict
    return Verdict(verdict.evidence, f"answer_{verdict.reason}", verdict.detail.replace("quote", "answer quote", 1))
