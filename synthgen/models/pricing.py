"""Dry-run estimates: planned calls per stage with estimated tokens, priced by the provider."""

from __future__ import annotations

from dataclasses import dataclass

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

    def add(self, prompt: str, completion_tokens: int, calls: int = 1) -> None:
        """Count `calls` calls of this prompt, each expecting `completion_tokens`."""
        self.calls += calls
        self.prompt_tokens += calls * (len(prompt) // CHARS_PER_TOKEN)
        self.completion_tokens += calls * completion_tokens


def priced(plans: list[StagePlan], model: LiteLLMModel) -> list[StagePlan]:
    """The plans with their estimated cost on `model` (None where the model has no known price)."""
    for plan in plans:
        plan.cost_usd = model.price(plan.prompt_tokens, plan.completion_tokens)
    return plans
