"""Stage 1 of document mode: questions (or conversation turns) for one chunk, N asked, N delivered."""

from __future__ import annotations

from typing import Any

from synthgen.config.schema import ConversationModeSettings, QueriesModeSettings
from synthgen.core.normalise import normalise
from synthgen.models.client import ModelClient, StructuredOutputError
from synthgen.pipelines.budgets import questions_budget
from synthgen.pipelines.documents.records import QuestionList
from synthgen.pipelines.prompts import render_prompt
from synthgen.sources.base import Chunk

STAGE = "questions"


def wanted_count(mode: QueriesModeSettings | ConversationModeSettings) -> int:
    """How many questions (or turns) each chunk must yield."""
    return mode.num_turns if isinstance(mode, ConversationModeSettings) else mode.num_queries_per_chunk


async def generate_questions(
    client: ModelClient, chunk: Chunk, mode: QueriesModeSettings | ConversationModeSettings, *, draw: int = 0
) -> list[str]:
    """Ask for the missing questions until there are enough (top-up calls), then trim to the count.

    Duplicates are dropped; a failed top-up keeps what earlier calls produced (the caller reports
    any shortfall); a failure of the first call propagates.
    """
    wanted = wanted_count(mode)
    written: list[str] = []
    for _ in range(1 + mode.max_top_up_calls):
        missing = wanted - len(written)
        if missing <= 0:
            break
        prompt = render_prompt(
            mode.prompt,
            count=missing,
            language=mode.language,
            seed_examples=mode.seed_examples,
            written=written,
            document=chunk.document,
            header=chunk.header,
            text=chunk.text,
        )
        try:
            messages = [{"role": "user", "content": prompt}]
            reply = await client.structured(
                messages,
                QuestionList,
                stage=STAGE,
                draw=draw,
                extra_data=agent_context(chunk, mode, missing),
                max_tokens=questions_budget(missing),
            )
        except StructuredOutputError:
            if not written:
                raise
            break
        written = merge_unique(written, reply.questions)
    return written[:wanted]


def agent_context(chunk: Chunk, mode: QueriesModeSettings | ConversationModeSettings, count: int) -> dict[str, Any]:
    """The call's `extra_data` for an Alquimia agent, as Fair-Forge's AlquimiaGenerator sends it:
    the chunk, the count asked (`num_queries`, or `num_turns` with `conversation_mode`) and the
    seed examples. The provider adds `date` when it sends the call, so the cache key stays stable."""
    if isinstance(mode, ConversationModeSettings):
        count_fields: dict[str, Any] = {"num_turns": count, "conversation_mode": True}
    else:
        count_fields = {"num_queries": count}
    return {"context": chunk.text, **count_fields, "seed_examples": list(mode.seed_examples)}


def merge_unique(existing: list[str], new: list[str]) -> list[str]:
    """Append the new, non-empty questions not already present (ignoring case, spacing, punctuation)."""
    seen = {normalise(q) for q in existing}
    merged = list(existing)
    for question in (q.strip() for q in new):
        key = normalise(question)
        if key and key not in seen:
            seen.add(key)
            merged.append(question)
    return merged
