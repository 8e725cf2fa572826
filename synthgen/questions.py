"""Stage 1 of document mode: questions (or conversation turns) for one chunk, N asked, N delivered."""

from __future__ import annotations

from synthgen.chunking import Chunk
from synthgen.client import ModelClient, StructuredOutputError
from synthgen.normalise import normalise
from synthgen.prompts import render_prompt
from synthgen.records import QuestionList
from synthgen.settings import ConversationModeSettings, QueriesModeSettings

STAGE = "questions"


def wanted_count(mode: QueriesModeSettings | ConversationModeSettings) -> int:
    """How many questions (or turns) each chunk must yield."""
    return mode.num_turns if isinstance(mode, ConversationModeSettings) else mode.num_queries_per_chunk


async def generate_questions(
    client: ModelClient, chunk: Chunk, mode: QueriesModeSettings | ConversationModeSettings, *, sample: int = 0
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
            reply = await client.structured(messages, QuestionList, stage=STAGE, sample=sample)
        except StructuredOutputError:
            if not written:
                raise
            break
        written = merge_unique(written, reply.questions)
    return written[:wanted]


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
