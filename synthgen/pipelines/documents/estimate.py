"""Dry run of document modes: the calls a run would make, with estimated tokens and cost."""

from __future__ import annotations

from synthgen.config.schema import ConversationModeSettings, QueriesModeSettings
from synthgen.models.pricing import TOKENS_PER_ANSWER, TOKENS_PER_QUESTION, StagePlan, priced
from synthgen.models.providers.base import LiteLLMModel
from synthgen.pipelines.documents.questions import wanted_count
from synthgen.pipelines.documents.strategies import Sample
from synthgen.pipelines.prompts import render_prompt


def estimate_documents(
    samples: list[Sample], mode: QueriesModeSettings | ConversationModeSettings, model: LiteLLMModel
) -> list[StagePlan]:
    """One question call per (sample, chunk) (top-ups not counted) and, with answers, one call per question."""
    count = wanted_count(mode)
    questions, answers = StagePlan("questions"), StagePlan("answers")
    for sample in samples:
        for chunk in sample.chunks:
            common = {"language": mode.language, "document": chunk.document, "header": chunk.header, "text": chunk.text}
            prompt = render_prompt(mode.prompt, count=count, seed_examples=mode.seed_examples, written=[], **common)
            questions.add(prompt, count * TOKENS_PER_QUESTION)
            if mode.answers:
                prompt = render_prompt(mode.answer_prompt, history=[], question="x" * 80, **common)
                answers.add(prompt, min(model.max_tokens, TOKENS_PER_ANSWER), calls=count)
    return priced([questions, answers] if mode.answers else [questions], model)
