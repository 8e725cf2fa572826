"""The optional LLM judge of document items, and its closed-book check.

The judge sees the item's chunks, the question (and the conversation before it), and the reference answer if
there is one, and returns `{reason, answerable, grounded, self_contained}`. With `closed_book`, the judge model
first answers the question without the chunks; the judge then also says whether that answer is correct, which
flags trivia a model answers without retrieval (`agentic.closed_book_answerable`), without rejecting it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from synthgen.models.client import ModelClient
from synthgen.models.structured import text_field
from synthgen.pipelines.documents.items import Item
from synthgen.pipelines.documents.plan import DocumentMode
from synthgen.pipelines.documents.questions import draw_of, excerpts
from synthgen.pipelines.prompts import render_prompt

STAGE = "judge"
CLOSED_BOOK_STAGE = "closed_book"
REASON_CHARS = 500  # the judge's reasoning: a few sentences


class Judgement(BaseModel):
    """The judge's verdicts on one item (the reason first, so the model reasons before it decides)."""

    reason: str = text_field(REASON_CHARS)
    answerable: bool
    grounded: bool
    self_contained: bool


class ClosedBookJudgement(Judgement):
    """The verdicts plus whether the answer written without the chunks was correct."""

    closed_book_correct: bool


async def judge_item(
    client: ModelClient, item: Item, mode: DocumentMode, history: list[dict[str, Any]]
) -> tuple[Judgement, bool | None]:
    """The judge's verdicts and, with closed_book on an answerable type, whether it answered correctly unaided."""
    kind = mode.types[item.slot.type]
    draw = draw_of(item.unit, mode, item.round)
    closed_book: str | None = None
    if mode.judge.closed_book and kind.answerable:
        prompt = render_prompt(
            mode.judge.closed_book_prompt, language=mode.language, question=item.question, history=history
        )
        closed_book = await client.text([{"role": "user", "content": prompt}], stage=CLOSED_BOOK_STAGE, draw=draw)
    prompt = render_prompt(
        mode.judge.prompt,
        excerpts=excerpts(item.shown),
        history=history,
        question=item.question,
        question_type=item.slot.type,
        expect_answerable=kind.answerable,
        answer=item.answer,
        closed_book_answer=closed_book,
    )
    schema = ClosedBookJudgement if closed_book is not None else Judgement
    verdict = await client.structured([{"role": "user", "content": prompt}], schema, stage=STAGE, draw=draw)
    correct = verdict.closed_book_correct if isinstance(verdict, ClosedBookJudgement) else None
    return verdict, correct


def failed_verdicts(verdict: Judgement, expect_answerable: bool) -> list[str]:
    """The reason codes of the verdicts that reject the item (an unanswerable type must be judged unanswerable)."""
    failed = []
    if verdict.answerable != expect_answerable:
        failed.append("not_answerable" if expect_answerable else "answerable_out_of_scope")
    if not verdict.grounded:
        failed.append("not_grounded")
    if not verdict.self_contained:
        failed.append("not_self_contained")
    return failed
