"""Dry run of document modes: the calls a run would make, with estimated tokens and cost."""

from __future__ import annotations

from typing import Any

from synthgen.config.schema import ConversationModeSettings, QueriesModeSettings
from synthgen.models.client import EMBEDDING_BATCH
from synthgen.models.pricing import TOKENS_PER_ANSWER, TOKENS_PER_QUESTION, StagePlan, priced
from synthgen.models.providers.base import LiteLLMModel
from synthgen.pipelines.documents.answers import STAGE as ANSWER_STAGE
from synthgen.pipelines.documents.dedup import EMBEDDING_STAGE
from synthgen.pipelines.documents.judge import STAGE as JUDGE_STAGE
from synthgen.pipelines.documents.plan import DocumentPlan
from synthgen.pipelines.documents.question_types import call_groups, call_instructions
from synthgen.pipelines.documents.questions import STAGE as QUESTION_STAGE
from synthgen.pipelines.documents.questions import excerpts
from synthgen.pipelines.documents.roundtrip import STAGE as ROUNDTRIP_STAGE
from synthgen.pipelines.documents.roundtrip import together as roundtrip_together
from synthgen.pipelines.prompts import render_prompt

TOKENS_PER_QUOTE = 40  # the quotes and difficulty that come with a question or an answer
TOKENS_PER_CITATION = 10  # passage numbers cited (or chosen by the round trip), as JSON
TOKENS_PER_VERDICT = 60


def estimate_documents(
    plan: DocumentPlan,
    mode: QueriesModeSettings | ConversationModeSettings,
    model: LiteLLMModel,
    embedding_model: LiteLLMModel | None = None,
) -> list[StagePlan]:
    """First-round calls only (top-ups not counted): one question call per unit and group of alike types (per
    conversation); a round trip per question, or per unit and excerpts shown (`mode.roundtrip.together`);
    answers or the judge one call per question. The quote check makes no call, nor does dedup unless it has an
    `embedding_model`: then the first round's questions in requests of EMBEDDING_BATCH, priced on it."""
    questions, answers, judge = StagePlan(QUESTION_STAGE), StagePlan(ANSWER_STAGE), StagePlan(JUDGE_STAGE)
    roundtrip = StagePlan(ROUNDTRIP_STAGE)
    roundtrip_on = mode.roundtrip.enabled and mode.evidence.enabled
    asked_together = roundtrip_together(model, mode)
    numbered = mode.evidence.cite == "number"
    per_question = TOKENS_PER_QUESTION + (TOKENS_PER_CITATION if numbered else TOKENS_PER_QUOTE)
    min_chars = mode.evidence.min_quote_chars if numbered else None
    for unit in plan.units:
        groups = [list(unit.slots)] if unit.conversation else call_groups(unit.slots, mode.types)
        shared: dict[int, int] = {}  # excerpts shown -> the questions whose round trip is asked together
        for group in groups:
            kind = mode.types[group[0].type]
            shown = unit.chunks if unit.conversation else unit.chunks[: kind.chunks]
            count = len(group)
            names = dict.fromkeys(slot.type for slot in group)
            text = call_instructions(list(names), mode.types, mode.language)
            cite = mode.evidence.cite if kind.answerable else "none"
            common = {
                "language": mode.language,
                "excerpts": excerpts(shown, min_chars),
                "seed_examples": mode.seed_examples,
                "cite": cite,
            }
            if isinstance(mode, ConversationModeSettings):
                turns: list[dict[str, Any]] = [
                    {"number": s.number, "difficulty": s.difficulty, "instructions": text, "passages": []}
                    for s in unit.slots
                ]
                prompt = render_prompt(mode.prompt, count=count, persona=None, turns=turns, written=[], **common)
            else:
                slots: list[dict[str, Any]] = [
                    {
                        "number": i,
                        "type": slot.type if len(names) > 1 else None,
                        "persona": None,
                        "difficulty": None,
                        "passages": [],
                        "stated": [],
                    }
                    for i, slot in enumerate(group, 1)
                ]
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
            if roundtrip_on and (unit.conversation or not asked_together):
                prompt = render_prompt(
                    mode.roundtrip.prompt,
                    excerpts=excerpts(shown, mode.evidence.min_quote_chars),
                    history=[],
                    question="x" * 80,
                    questions=[],
                )
                roundtrip.add(prompt, TOKENS_PER_CITATION, calls=count)
            elif roundtrip_on:
                shared[kind.chunks] = shared.get(kind.chunks, 0) + count
            if mode.answers:
                prompt = render_prompt(
                    mode.answer_prompt,
                    excerpts=excerpts(shown, min_chars),
                    cite=cite,
                    evidence=[],
                    written_from=[],
                    language=mode.language,
                    instructions=kind.answer_instructions,
                    notes={},
                    history=[],
                    question="x" * 80,
                    answerable=kind.answerable,
                )
                cited = TOKENS_PER_CITATION if numbered else TOKENS_PER_QUOTE
                answers.add(prompt, min(model.max_tokens, TOKENS_PER_ANSWER + cited), calls=count)
            if mode.judge.enabled:
                judge.add(prompt, TOKENS_PER_VERDICT, calls=count * (2 if mode.judge.closed_book else 1))
        for chunks, count in shared.items():
            prompt = render_prompt(
                mode.roundtrip.prompt,
                excerpts=excerpts(unit.chunks[:chunks], mode.evidence.min_quote_chars),
                history=[],
                question=None,
                questions=["x" * 80] * count,
            )
            roundtrip.add(prompt, TOKENS_PER_CITATION * count)
    stages = [questions] + ([roundtrip] if roundtrip_on else []) + ([answers] if mode.answers else [])
    stages += [judge] if mode.judge.enabled else []
    if embedding_model is None:
        return priced(stages, model)
    count = sum(len(unit.slots) for unit in plan.units)
    calls = -(-count // EMBEDDING_BATCH)
    embeddings = StagePlan(EMBEDDING_STAGE, calls=calls, prompt_tokens=count * TOKENS_PER_QUESTION)
    return priced(stages, model) + priced([embeddings], embedding_model)
