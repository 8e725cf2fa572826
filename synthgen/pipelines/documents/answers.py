"""Stage 2 of document mode: reference answers with their quotes, checked like the questions' quotes."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, create_model

from synthgen.core.normalise import normalise
from synthgen.models.client import ModelClient
from synthgen.models.structured import text_field
from synthgen.pipelines.budgets import ANSWER_TOKENS
from synthgen.pipelines.documents.citing import citing, evidence_field, numbers_of
from synthgen.pipelines.documents.evidence import Quote, Verdict, check_quotes
from synthgen.pipelines.documents.items import Item
from synthgen.pipelines.documents.passages import number
from synthgen.pipelines.documents.plan import DocumentMode
from synthgen.pipelines.documents.questions import draw_of, excerpts
from synthgen.pipelines.documents.wording import check_numbers
from synthgen.pipelines.prompts import render_prompt

STAGE = "answers"
ANSWER_CHARS = 1000  # a concise reference answer: a paragraph, or a few steps


@dataclass(frozen=True)
class Answer:
    """A reference answer as written: its text, the quotes it claims, and passage numbers it cited that do not
    exist."""

    answer: str
    quotes: list[Quote]
    unknown: tuple[int, ...] = ()


@lru_cache(maxsize=512)
def answer_schema(key: tuple[Any, ...]) -> type[BaseModel]:
    """The answer reply schema: the evidence field of `key` (`citing.evidence_field`), if any, then the answer."""
    evidence = evidence_field(*key)
    fields: dict[str, Any] = {evidence[0]: (evidence[1], ...)} if evidence else {}
    return create_model("Answer", **fields, answer=(str, text_field(ANSWER_CHARS)))


async def answer_item(client: ModelClient, item: Item, mode: DocumentMode, history: list[dict[str, Any]]) -> Answer:
    """The reference answer of `item` from its chunks; `history` holds the conversation's earlier turns."""
    kind = mode.types[item.slot.type]
    cited = citing(client, item.shown, mode.evidence, answerable=kind.answerable, asked=False)
    prompt = render_prompt(
        mode.answer_prompt,
        language=mode.language,
        excerpts=excerpts(item.shown, mode.evidence.min_quote_chars if cited.kind == "number" else None),
        instructions=kind.answer_instructions,
        notes=item.notes,
        history=history,
        question=item.question,
        answerable=kind.answerable,
        cite=cited.kind,
        evidence=numbers_of(cited.passages, item.evidence) if cited.kind == "number" else [],
        written_from=[" ".join(e.quote.split()) for e in item.evidence] if cited.kind == "text" else [],
    )
    reply = await client.structured(
        [{"role": "user", "content": prompt}],
        answer_schema(cited.key()),
        stage=STAGE,
        draw=draw_of(item.unit, mode, item.round),
        max_tokens=ANSWER_TOKENS,
    )
    field = cited.field()
    quotes, unknown = cited.claimed(getattr(reply, field[0])) if field else ([], [])
    return Answer(reply.answer, quotes, tuple(unknown))  # type: ignore[attr-defined]


def check_answer(item: Item, reply: Answer, mode: DocumentMode) -> Verdict:
    """An answer must say something beyond the question's own words, carry quotes found in the item's chunks
    (none for an unanswerable type), at least one of them from the question's own evidence (an answer drawn
    from another passage answers another question), and give no number that neither they, the question's
    evidence nor the question hold."""
    words = normalise(reply.answer).split()
    if not words:
        return Verdict([], "empty_answer", "the answer is empty")
    if set(words) <= set(normalise(item.question).split()):
        return Verdict([], "answer_repeats_question", f"the answer only repeats words of the question: {reply.answer}")
    verdict = check_quotes(
        reply.quotes,
        item.shown,
        mode.evidence,
        answerable=mode.types[item.slot.type].answerable,
        hops=1,
        unknown=reply.unknown,
    )
    if verdict.reason is not None:
        return Verdict(verdict.evidence, f"answer_{verdict.reason}", verdict.detail.replace("quote", "answer quote", 1))
    passages = number(item.shown, mode.evidence.min_quote_chars)
    own = set(numbers_of(passages, item.evidence, mode.evidence.threshold))
    cited = own & set(numbers_of(passages, verdict.evidence, mode.evidence.threshold))
    if mode.evidence.enabled and verdict.evidence and own and not cited:
        return Verdict(
            verdict.evidence,
            "answer_off_evidence",
            f"the answer cites none of its question's evidence: {item.evidence[0].quote}",
        )
    sources = [item.question] + [e.quote for e in verdict.evidence + item.evidence]
    stray = check_numbers(reply.answer, sources)
    return verdict if stray is None else Verdict(verdict.evidence, *stray)
