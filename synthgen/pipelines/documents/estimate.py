"""Dry run of document modes: the calls a run would make, with estimated tokens and cost."""

from __future__ import annotations

from synthgen.config.schema import ConversationModeSettings, QueriesModeSettings
from synthgen.models.client import EMBEDDING_BATCH
from synthgen.models.pricing import TOKENS_PER_ANSWER, TOKENS_PER_QUESTION, StagePlan, priced
from synthgen.models.providers.base import LiteLLMModel
from synthgen.pipelines.documents.answers import STAGE as ANSWER_STAGE
from synthgen.pipelines.documents.dedup import EMBEDDING_STAGE
from synthgen.pipelines.documents.judge import STAGE as JUDGE_STAGE
from synthgen.pipelines.documents.plan import DocumentPlan
from synthgen.pipelines.documents.question_types import instructions
from synthgen.pipelines.documents.questions import STAGE as QUESTION_STAGE
from synthgen.pipelines.documents.questions import excerpts
from synthgen.pipelines.prompts import render_prompt

TOKENS_PER_QUOTE = 40  # the quotes and difficulty that come with a question or an answer
TOKENS_PER_VERDICT = 60


def estimate_documents(
    plan: DocumentPlan,
    mode: QueriesModeSettings | ConversationModeSettings,
    model: LiteLLMModel,
    embedding_model: LiteLLMModel | None = None,
) -> list[StagePlan]:
    """First-round calls only (top-ups not counted): one question call per unit and type (per conversation),
    and with answers or the judge one call per question. The quote check makes no call, nor does dedup unless
    it has an `embedding_model`: then the first round's questions in requests of EMBEDDING_BATCH, priced on it."""
    questions, answers, judge = StagePlan(QUESTION_STAGE), StagePlan(ANSWER_STAGE), StagePlan(JUDGE_STAGE)
    per_question = TOKENS_PER_QUESTION + TOKENS_PER_QUOTE
    for unit in plan.units:
        types = [unit.slots[0].type] if unit.conversation else list(dict.fromkeys(slot.type for slot in unit.slots))
        for name in types:
            kind = mode.types[name]
            shown = unit.chunks if unit.conversation else unit.chunks[: kind.chunks]
            count = len(unit.slots) if unit.conversation else sum(slot.type == name for slot in unit.slots)
            text = instructions(kind, mode.language)
            common = {"language": mode.language, "excerpts": excerpts(shown), "seed_examples": mode.seed_examples}
            if isinstance(mode, ConversationModeSettings):
                turns = [{"number": s.number, "difficulty": s.difficulty, "instructions": text} for s in unit.slots]
                prompt = render_prompt(mode.prompt, count=count, persona=None, turns=turns, written=[], **common)
            else:
                slots = [{"number": i, "persona": None, "difficulty": None} for i in range(1, count + 1)]
                prompt = render_prompt(
                    mode.prompt,
                    count=count,
                    instructions=text,
                    slots=slots,
                    written=[],
                    answerable=kind.answerable,
                    fields=kind.fields,
                    **common,
                )
            questions.add(prompt, count * per_question)
            if mode.answers:
                prompt = render_prompt(
                    mode.answer_prompt,
                    excerpts=excerpts(shown),
                    language=mode.language,
                    instructions=kind.answer_instructions,
                    notes={},
                    history=[],
                    question="x" * 80,
                    answerable=kind.answerable,
                )
                answers.add(prompt, min(model.max_tokens, TOKENS_PER_ANSWER + TOKENS_PER_QUOTE), calls=count)
            if mode.judge.enabled:
                judge.add(prompt, TOKENS_PER_VERDICT, calls=count * (2 if mode.judge.closed_book else 1))
    stages = [questions] + ([answers] if mode.answers else []) + ([judge] if mode.judge.enabled else [])
    if embedding_model is None:
        return priced(stages, model)
    count = sum(len(unit.slots) for unit in plan.units)
    calls = -(-count // EMBEDDING_BATCH)
    embeddings = StagePlan(EMBEDDING_STAGE, calls=calls, prompt_tokens=count * TOKENS_PER_QUESTION)
    return priced(stages, model) + priced([embeddings], embedding_model)
