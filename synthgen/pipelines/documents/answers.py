"""Stage 2 of document mode: ground-truth answers from the chunk."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from synthgen.config.schema import ConversationModeSettings, QueriesModeSettings
from synthgen.core.errors import BudgetExhausted, UserError
from synthgen.models.client import ModelClient
from synthgen.pipelines.budgets import ANSWER_TOKENS
from synthgen.pipelines.prompts import render_prompt
from synthgen.sources.base import Chunk

STAGE = "answers"


@dataclass(frozen=True)
class Answered:
    """A question with its answer, or the error that prevented the answer."""

    question: str
    answer: str | None
    error: Exception | None = None


async def answer_questions(
    client: ModelClient,
    chunk: Chunk,
    mode: QueriesModeSettings | ConversationModeSettings,
    questions: list[str],
    *,
    draw: int = 0,
) -> list[Answered]:
    """Independent questions are answered concurrently; conversation turns in order, each seeing the
    earlier turns, stopping at the first failure (later turns would build on a missing answer)."""
    if isinstance(mode, QueriesModeSettings):
        return list(await asyncio.gather(*(_answer(client, chunk, mode, q, [], draw) for q in questions)))
    answered: list[Answered] = []
    for question in questions:
        history = [{"query": a.question, "answer": a.answer} for a in answered]
        result = await _answer(client, chunk, mode, question, history, draw)
        answered.append(result)
        if result.error is not None:
            break
    return answered


async def _answer(
    client: ModelClient,
    chunk: Chunk,
    mode: QueriesModeSettings | ConversationModeSettings,
    question: str,
    history: list[dict[str, str | None]],
    draw: int,
) -> Answered:
    prompt = render_prompt(
        mode.answer_prompt,
        language=mode.language,
        document=chunk.document,
        header=chunk.header,
        text=chunk.text,
        history=history,
        question=question,
    )
    try:
        answer = await client.text(
            [{"role": "user", "content": prompt}], stage=STAGE, draw=draw, max_tokens=ANSWER_TOKENS
        )
    except (UserError, BudgetExhausted):
        raise
    except Exception as error:  # one unanswered question is recorded, the run goes on
        return Answered(question, None, error)
    if not answer:
        return Answered(question, None, ValueError("the model returned an empty answer"))
    return Answered(question, answer)
