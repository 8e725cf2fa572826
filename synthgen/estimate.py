"""Dry run: the calls a run would make, with estimated tokens and cost per stage, and no model call."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from synthgen.client import import_litellm
from synthgen.facts.generation import answer_prompt, question_prompt
from synthgen.facts.pairs import Pair
from synthgen.facts.template import FactTemplate
from synthgen.prompts import render_prompt
from synthgen.questions import wanted_count
from synthgen.settings import (
    ConversationModeSettings,
    FactsModeSettings,
    FactsValidationSettings,
    ModelSettings,
    QueriesModeSettings,
)
from synthgen.strategies import Sample

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


def estimate_documents(
    samples: list[Sample], mode: QueriesModeSettings | ConversationModeSettings, model: ModelSettings
) -> list[StagePlan]:
    """One question call per (sample, chunk) (top-ups not counted) and, with answers, one call per question."""
    count = wanted_count(mode)
    questions, answers = StagePlan("questions"), StagePlan("answers")
    for sample in samples:
        for chunk in sample.chunks:
            common = {"language": mode.language, "document": chunk.document, "header": chunk.header,
                      "text": chunk.text}
            prompt = render_prompt(mode.prompt, count=count, seed_examples=mode.seed_examples, written=[], **common)
            questions.add(prompt, count * TOKENS_PER_QUESTION)
            if mode.answers:
                prompt = render_prompt(mode.answer_prompt, history=[], question="x" * 80, **common)
                answers.add(prompt, min(model.max_tokens, TOKENS_PER_ANSWER), calls=count)
    return _priced([questions, answers] if mode.answers else [questions], model)


def estimate_facts(
    pairs: list[Pair],
    mode: FactsModeSettings,
    checks: FactsValidationSettings,
    template: FactTemplate,
    model: ModelSettings,
    judge: ModelSettings,
) -> list[StagePlan]:
    """Per item: a question call, an answer call, and one judge call per enabled judge (none rejected)."""
    questions, answers, validation = StagePlan("questions"), StagePlan("answers"), StagePlan("validation")
    for pair in pairs:
        asked = question_prompt(mode, template, pair)
        questions.add(asked, TOKENS_PER_QUESTION)
        answered = answer_prompt(mode, template, "x" * 80)
        answers.add(answered, min(model.max_tokens, TOKENS_PER_ANSWER))
        for enabled, instructions in ((checks.judge_questions, asked), (checks.judge_answers, answered)):
            if enabled:
                validation.add(render_prompt(mode.validation_prompt, kind="answer", instructions=instructions,
                                             output="x" * 400), TOKENS_PER_QUESTION)
    plans = _priced([questions, answers], model)
    return plans + _priced([validation], judge) if validation.calls else plans


def _priced(plans: list[StagePlan], model: ModelSettings) -> list[StagePlan]:
    for plan in plans:
        plan.cost_usd = price(model, plan.prompt_tokens, plan.completion_tokens)
    return plans


def price(model: ModelSettings, prompt_tokens: int, completion_tokens: int) -> float | None:
    """litellm's price for the tokens; 0 for the embedded model, None when the model has no known price."""
    if model.local is not None:
        return 0.0
    litellm = import_litellm()
    try:
        prompt_cost, completion_cost = litellm.cost_per_token(
            model=model.model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
        )
    except Exception:  # litellm raises for models missing from its price map
        return None
    return float(prompt_cost + completion_cost)


def render_table(plans: list[StagePlan]) -> str:
    """A plain-text table of the plan with a total row."""
    rows = [asdict(p) for p in plans]
    known = [p.cost_usd for p in plans]
    total_cost = None if any(c is None for c in known) else sum(c for c in known if c is not None)
    rows.append({"stage": "total", "calls": sum(p.calls for p in plans),
                 "prompt_tokens": sum(p.prompt_tokens for p in plans),
                 "completion_tokens": sum(p.completion_tokens for p in plans), "cost_usd": total_cost})
    lines = [f"{'stage':<12}{'calls':>8}{'prompt tok':>14}{'completion tok':>16}{'est. cost':>12}"]
    for row in rows:
        cost = "unknown" if row["cost_usd"] is None else f"${row['cost_usd']:.4f}"
        lines.append(f"{row['stage']:<12}{row['calls']:>8}{row['prompt_tokens']:>14}"
                     f"{row['completion_tokens']:>16}{cost:>12}")
    return "\n".join(lines)
