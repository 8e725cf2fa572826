"""The LLM compliance judge and the model it runs on."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from synthgen.config.schema import FactsValidationSettings
from synthgen.models.client import ModelClient
from synthgen.models.providers.base import LiteLLMModel
from synthgen.models.structured import text_field
from synthgen.pipelines.budgets import VERDICT_TOKENS
from synthgen.pipelines.judges import judge_provider
from synthgen.pipelines.prompts import render_prompt

STAGE = "validation"
REASON_CHARS = 500  # the judge's reasoning: a few sentences


class Verdict(BaseModel):
    """The judge's decision on one question or answer (the reason comes first, so the model reasons
    before it decides)."""

    reason: str = text_field(REASON_CHARS)
    complied: bool


async def judge(
    client: ModelClient,
    prompt: str,
    *,
    kind: Literal["question", "answer"],
    instructions: str,
    output: str,
    draw: int,
) -> Verdict:
    """Did `output` comply with `instructions` (no refusal, no pushback on the fact, no acknowledgement)?"""
    text = render_prompt(prompt, kind=kind, instructions=instructions, output=output)
    return await client.structured(
        [{"role": "user", "content": text}], Verdict, stage=STAGE, draw=draw, max_tokens=VERDICT_TOKENS
    )


def judge_model(generation: LiteLLMModel, validation: FactsValidationSettings) -> LiteLLMModel:
    """The judge's model: the generation model or the named `model` group option, at the judge temperature."""
    return judge_provider(generation, validation.model, validation.temperature, "mode.validation.model")
