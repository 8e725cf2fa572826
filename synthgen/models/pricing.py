"""Dry-run estimates: planned calls per stage with estimated tokens, priced by the provider."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from synthgen.models.batch import batch_price
from synthgen.models.providers.base import LiteLLMModel

CHARS_PER_TOKEN = 4  # a rough rule for English text; real counts come from the provider
TOKENS_PER_QUESTION = 30
TOKENS_PER_ANSWER = 150


@dataclass
class StagePlan:
    """Planned calls of one stage and their estimated size and price."""

    stage: str
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = 0.0
    pricing: Literal["regular", "batch_price", "half_regular_estimate"] = "regular"

    def add(self, prompt: str, completion_tokens: int, calls: int = 1) -> None:
        """Count `calls` calls of this prompt, each expecting `completion_tokens`."""
        self.calls += calls
        self.prompt_tokens += calls * (len(prompt) // CHARS_PER_TOKEN)
        self.completion_tokens += calls * completion_tokens


def priced(plans: list[StagePlan], model: LiteLLMModel) -> list[StagePlan]:
    """The plans with their estimated cost on `model` (None where the model has no known price); with
    model.batch=true at litellm's batch prices, else at half the regular price (marked as such)."""
    for plan in plans:
        if not model.batch:
            plan.cost_usd = model.price(plan.prompt_tokens, plan.completion_tokens)
            continue
        price = batch_price(model.model, plan.prompt_tokens, plan.completion_tokens)
        if price.source == "unpriced":
            plan.cost_usd = None
        else:
            plan.cost_usd, plan.pricing = price.cost_usd, price.source
    return plans
