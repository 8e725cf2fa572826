"""The judge of a trial: it reads an answer next to the item's reference answer and evidence and gives a verdict
(`correct`, `partial`, `incorrect`, `refused`), a one-sentence reason and a score, aware of the question's type."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from synthgen.models.client import ModelClient
from synthgen.pipelines.prompts import render_prompt

STAGE = "judge"


class Verdict(BaseModel):
    """The judge's reply (the reason first, so the model reasons before it decides)."""

    reason: str = Field(max_length=400)
    verdict: Literal["correct", "partial", "incorrect", "refused"]
    refused: bool
    score: float = Field(ge=0.0, le=1.0)


async def judge_answer(
    client: ModelClient,
    prompt: str,
    *,
    question: str,
    question_type: str | None,
    reference: str,
    evidence: list[str],
    answer: str,
    history: list[dict[str, Any]],
) -> Verdict:
    """The verdict on one answer; `history` is the conversation before the question (the assistant's answers)."""
    text = render_prompt(
        prompt,
        question=question,
        question_type=question_type or "unknown",
        reference=reference,
        evidence=evidence,
        answer=answer,
        history=history,
    )
    return await client.structured([{"role": "user", "content": text}], Verdict, stage=STAGE)
