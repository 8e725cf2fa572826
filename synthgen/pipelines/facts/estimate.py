"""Dry run of facts mode: the calls a run would make if nothing were rejected, with estimated tokens and cost."""

from __future__ import annotations

from synthgen.config.schema import FactsModeSettings, FactsValidationSettings, FactTemplate
from synthgen.models.pricing import TOKENS_PER_ANSWER, TOKENS_PER_QUESTION, StagePlan, priced
from synthgen.models.providers.base import LiteLLMModel
from synthgen.pipelines.facts.generation import answer_prompt, question_prompt
from synthgen.pipelines.facts.pairs import Pair
from synthgen.pipelines.facts.probes import PROBE_STAGE
from synthgen.pipelines.prompts import render_prompt


def estimate_facts(
    pairs: list[Pair],
    probes: list[Pair],
    mode: FactsModeSettings,
    checks: FactsValidationSettings,
    template: FactTemplate,
    model: LiteLLMModel,
    judge: LiteLLMModel,
) -> list[StagePlan]:
    """Per item: a question call, an answer call, and one judge call per enabled judge (none rejected);
    a question call per probe."""
    questions, answers, validation = StagePlan("questions"), StagePlan("answers"), StagePlan("validation")
    probe_questions = StagePlan(PROBE_STAGE)
    for pair in probes:
        probe_questions.add(question_prompt(mode, template, pair), TOKENS_PER_QUESTION)
    for pair in pairs:
        asked = question_prompt(mode, template, pair)
        questions.add(asked, TOKENS_PER_QUESTION)
        answered = answer_prompt(mode, template, "x" * 80)
        answers.add(answered, min(model.max_tokens, TOKENS_PER_ANSWER))
        for enabled, instructions in ((checks.judge_questions, asked), (checks.judge_answers, answered)):
            if enabled:
                validation.add(
                    render_prompt(mode.validation_prompt, kind="answer", instructions=instructions, output="x" * 400),
                    TOKENS_PER_QUESTION,
                )
    plans = priced([questions, *([probe_questions] if probes else []), answers], model)
    return plans + priced([validation], judge) if validation.calls else plans
