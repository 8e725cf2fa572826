"""Stages 1 and 2: a question variation per pair, then an answer that weaves in the fact."""

from __future__ import annotations

from pydantic import BaseModel

from synthgen.config.schema import FactsModeSettings, FactTemplate
from synthgen.models.client import ModelClient
from synthgen.models.structured import text_field
from synthgen.pipelines.budgets import MESSAGE_TOKENS
from synthgen.pipelines.facts.pairs import Pair
from synthgen.pipelines.prompts import render_prompt

QUESTION_STAGE = "questions"
ANSWER_STAGE = "answers"
MESSAGE_CHARS = 600  # one user message with some background (at 1,200 llama.cpp refused the grammar)


class QuestionVariation(BaseModel):
    """What a question-variation call returns."""

    question: str = text_field(MESSAGE_CHARS)


def question_prompt(mode: FactsModeSettings, template: FactTemplate, pair: Pair) -> str:
    """The prompt asking for one user question from a seed question and a requirement."""
    return render_prompt(
        mode.question_prompt,
        seed_question=pair.seed_question,
        requirement=pair.requirement,
        variation=pair.draw + 1,
        given_fact=template.given_fact,
    )


def answer_prompt(mode: FactsModeSettings, template: FactTemplate, question: str) -> str:
    """The prompt asking for the answer to `question` from the given fact."""
    return render_prompt(
        mode.answer_prompt,
        question=question,
        given_fact=template.given_fact,
        specific_information=template.specific_information_to_always_include,
    )


async def vary_question(client: ModelClient, prompt: str, draw: int, stage: str = QUESTION_STAGE) -> str:
    """One user question (a training item's, or a probe's with `stage`); an empty one is an error."""
    reply = await client.structured(
        [{"role": "user", "content": prompt}], QuestionVariation, stage=stage, draw=draw, max_tokens=MESSAGE_TOKENS
    )
    return _non_empty(reply.question, "question")


async def answer(client: ModelClient, prompt: str, draw: int) -> str:
    """The answer text; an empty one is an error."""
    reply = await client.text([{"role": "user", "content": prompt}], stage=ANSWER_STAGE, draw=draw)
    return _non_empty(reply, "answer")


def _non_empty(text: str, what: str) -> str:
    if not text.strip():
        raise ValueError(f"the model returned an empty {what}")
    return text.strip()
