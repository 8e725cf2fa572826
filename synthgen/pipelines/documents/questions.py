"""Stage 1 of document mode: questions (or conversation turns) with their supporting quotes.

Queries: one call per unit and question type (the type's excerpts, its prompt file, one line per question for
its persona and difficulty). Conversations: one call for the turns still to write, continuing the turns kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Annotated, Any

from pydantic import BaseModel, create_model, model_validator

from synthgen.config.schema import ConversationModeSettings, Difficulty, QueriesModeSettings
from synthgen.models.client import ModelClient
from synthgen.models.structured import text_field
from synthgen.pipelines.budgets import questions_budget
from synthgen.pipelines.documents.evidence import QUOTE_CHARS, Quote
from synthgen.pipelines.documents.plan import DocumentMode, Unit
from synthgen.pipelines.documents.question_types import Slot, instructions
from synthgen.pipelines.documents.quote_choices import offered, quote_type
from synthgen.pipelines.prompts import render_prompt
from synthgen.sources.base import Chunk

STAGE = "questions"
QUESTION_CHARS = 300  # a question a user would type (typically 60-150 characters)
FIELD_CHARS = 300  # a question type's own field, e.g. `false_assumption`: a sentence


class Question(BaseModel):
    """One question as the generator returns it, from one excerpt: the quotes first, so the question is
    written from what was copied (a plain string, as some agents reply, is a question without quotes)."""

    quotes: list[Annotated[str, text_field(QUOTE_CHARS)]]
    question: str = text_field(QUESTION_CHARS)
    difficulty: Difficulty | None

    @model_validator(mode="before")
    @classmethod
    def _plain_text(cls, data: Any) -> Any:
        if not isinstance(data, str):
            return data
        extra = {name: "" for name in cls.model_fields if name not in Question.model_fields}
        return {"question": data, "quotes": [], "difficulty": None, **extra}

    def claimed(self) -> list[Quote]:
        """The quotes with the excerpt each claims to come from."""
        return [Quote(excerpt=1, text=quote) for quote in self.quotes]

    def notes(self) -> dict[str, str]:
        """The type's own fields (e.g. `false_assumption`)."""
        return {name: str(getattr(self, name)) for name in type(self).model_fields if name not in Question.model_fields}


class NumberedQuestion(Question):
    """A question over several excerpts: each quote names the excerpt it comes from."""

    quotes: list[Quote]  # type: ignore[assignment]

    def claimed(self) -> list[Quote]:
        """The quotes as given."""
        return list(self.quotes)


@lru_cache(maxsize=512)
def reply_schema(
    fields: tuple[tuple[str, str], ...], numbered: bool, choices: tuple[str, ...] | None = None
) -> type[BaseModel]:
    """The reply schema `{"questions": [...]}` whose items carry the type's extra fields; quotes are plain
    strings, or `{excerpt, text}` objects when `numbered` (a question over several excerpts), chosen from
    `choices` when given."""
    extra: dict[str, Any] = {name: (str, text_field(FIELD_CHARS, description)) for name, description in fields}
    if choices:
        extra["quotes"] = (quote_type(choices, numbered), ...)
    base = NumberedQuestion if numbered else Question
    item = create_model(base.__name__, __base__=base, **extra) if extra else base
    return create_model("QuestionList", questions=(list[item], ...))  # type: ignore[valid-type]


def excerpts(chunks: Sequence[Chunk]) -> list[dict[str, Any]]:
    """The prompt's view of the chunks: numbered from 1."""
    return [
        {"number": number, "document": chunk.document, "header": chunk.header, "text": chunk.text}
        for number, chunk in enumerate(chunks, start=1)
    ]


def draw_of(unit: Unit, mode: DocumentMode, round_: int) -> int:
    """The call's draw: distinct for every use of a chunk and every top-up round, so no reply is a cached repeat."""
    return unit.draw * (1 + mode.max_top_up_calls) + round_


async def ask_queries(
    client: ModelClient,
    unit: Unit,
    slots: Sequence[Slot],
    mode: QueriesModeSettings,
    *,
    written: Sequence[str],
    round_: int,
) -> list[tuple[Slot, Question]]:
    """One call for `slots` (all of one type): the replies matched to the slots in order, extras dropped."""
    kind = mode.types[slots[0].type]
    shown = unit.chunks[: kind.chunks]
    prompt = render_prompt(
        mode.prompt,
        count=len(slots),
        language=mode.language,
        instructions=instructions(kind, mode.language),
        slots=[{"number": i, "persona": s.persona, "difficulty": s.difficulty} for i, s in enumerate(slots, 1)],
        seed_examples=mode.seed_examples,
        written=list(written),
        excerpts=excerpts(shown),
        answerable=kind.answerable,
        fields=kind.fields,
    )
    choices = offered(client, shown, mode.evidence, answerable=kind.answerable)
    schema = reply_schema(tuple(kind.fields.items()), len(shown) > 1, choices)
    reply = await client.structured(
        [{"role": "user", "content": prompt}],
        schema,
        stage=STAGE,
        draw=draw_of(unit, mode, round_),
        extra_data=agent_context(shown, mode, len(slots)),
        max_tokens=questions_budget(len(slots)),
    )
    return list(zip(slots, reply.questions))  # type: ignore[attr-defined]


async def ask_turns(
    client: ModelClient,
    unit: Unit,
    slots: Sequence[Slot],
    mode: ConversationModeSettings,
    *,
    written: Sequence[str],
    round_: int,
) -> list[tuple[Slot, Question]]:
    """One call for the conversation's next turns (`slots`), continuing the `written` ones."""
    turns = [
        {
            "number": s.number,
            "difficulty": s.difficulty,
            "instructions": instructions(mode.types[s.type], mode.language),
        }
        for s in slots
    ]
    prompt = render_prompt(
        mode.prompt,
        count=len(slots),
        language=mode.language,
        persona=slots[0].persona,
        turns=turns,
        seed_examples=mode.seed_examples,
        written=list(written),
        excerpts=excerpts(unit.chunks),
    )
    reply = await client.structured(
        [{"role": "user", "content": prompt}],
        reply_schema((), len(unit.chunks) > 1, offered(client, unit.chunks, mode.evidence, answerable=True)),
        stage=STAGE,
        draw=draw_of(unit, mode, round_),
        extra_data=agent_context(unit.chunks, mode, len(slots)),
        max_tokens=questions_budget(len(slots)),
    )
    return list(zip(slots, reply.questions))  # type: ignore[attr-defined]


def agent_context(chunks: Sequence[Chunk], mode: DocumentMode, count: int) -> dict[str, Any]:
    """The call's `extra_data` for an Alquimia agent, as Fair-Forge's AlquimiaGenerator sends it:
    the chunk text, the count asked (`num_queries`, or `num_turns` with `conversation_mode`) and the
    seed examples. The provider adds `date` when it sends the call, so the cache key stays stable."""
    if isinstance(mode, ConversationModeSettings):
        count_fields: dict[str, Any] = {"num_turns": count, "conversation_mode": True}
    else:
        count_fields = {"num_queries": count}
    context = "\n\n".join(chunk.text for chunk in chunks)
    return {"context": context, **count_fields, "seed_examples": list(mode.seed_examples)}
