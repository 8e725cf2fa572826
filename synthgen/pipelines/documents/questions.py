"""Stage 1 of document mode: questions (or conversation turns) with their evidence.

Queries: one call per unit and group of alike question types (their excerpts, their prompt files, one line per
question for its type, persona, difficulty and, evidence first, the passages it is about). Conversations: one
call for the turns still to write, continuing the turns kept. The prompt shows the excerpts first, so the calls
on one chunk share their prefix (llama.cpp's KV cache, providers' prompt caches).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any

from pydantic import BaseModel, Field, create_model, model_validator

from synthgen.config.schema import ConversationModeSettings, Difficulty, QueriesModeSettings
from synthgen.models.client import ModelClient
from synthgen.models.structured import text_field
from synthgen.pipelines.budgets import questions_budget
from synthgen.pipelines.documents.citing import Citing, citing, evidence_field
from synthgen.pipelines.documents.evidence import Quote
from synthgen.pipelines.documents.passages import Passage, number, numbered_text, pick
from synthgen.pipelines.documents.plan import DocumentMode, Unit
from synthgen.pipelines.documents.question_types import Slot, call_instructions, instructions
from synthgen.pipelines.prompts import render_prompt
from synthgen.sources.base import Chunk

STAGE = "questions"
QUESTION_CHARS = 300  # a question a user would type (typically 60-150 characters)
FIELD_CHARS = 200  # a question type's own field, e.g. `false_assumption`: a short sentence
_BASE = ("question", "difficulty")


class QuestionReply(BaseModel):
    """The base of every question item schema; a plain string, as some agents reply, is a question citing
    nothing."""

    @model_validator(mode="before")
    @classmethod
    def _plain_text(cls, data: Any) -> Any:
        if not isinstance(data, str):
            return data
        empty: dict[str, Any] = {"evidence": [], "quotes": [], "difficulty": None}
        return {name: data if name == "question" else empty.get(name, "") for name in cls.model_fields}


@dataclass(frozen=True)
class Draft:
    """One question as written for `slot`: the quotes it claims (or was asked about) and the passage numbers
    it cited that do not exist."""

    slot: Slot
    question: str
    difficulty: str | None
    notes: dict[str, str]
    quotes: list[Quote]
    unknown: tuple[int, ...] = ()


@lru_cache(maxsize=512)
def _schema(fields: tuple[tuple[str, str], ...], key: tuple[Any, ...], count: int) -> type[BaseModel]:
    evidence = evidence_field(*key)
    item_fields: dict[str, Any] = {}
    if evidence is not None:  # the evidence first, so the question is written from it
        item_fields[evidence[0]] = (evidence[1], ...)
    item_fields["question"] = (str, text_field(QUESTION_CHARS))
    item_fields["difficulty"] = (Difficulty | None, ...)
    item_fields.update({name: (str, text_field(FIELD_CHARS, description)) for name, description in fields})
    item = create_model("Question", __base__=QuestionReply, **item_fields)
    exactly = Field(json_schema_extra={"minItems": count, "maxItems": count})  # decoding stops at `count`
    return create_model("QuestionList", questions=(Annotated[list[item], exactly], ...))


def reply_schema(fields: tuple[tuple[str, str], ...], cited: Citing, count: int) -> type[BaseModel]:
    """The reply schema `{"questions": [...]}` of `count` items (for constrained decoding; a shorter reply is
    still parsed, and topped up): each its evidence field (if it cites), the question, its difficulty and the
    type's extra fields."""
    return _schema(fields, cited.key(), count)


def excerpts(chunks: Sequence[Chunk], min_chars: int | None = None) -> list[dict[str, Any]]:
    """The prompt's view of the chunks, numbered from 1; with `min_chars`, their text shows the numbered
    passages."""
    texts = numbered_text(chunks, min_chars) if min_chars is not None else [chunk.text for chunk in chunks]
    return [
        {"number": i, "document": chunk.document, "header": chunk.header, "text": text}
        for i, (chunk, text) in enumerate(zip(chunks, texts), start=1)
    ]


def draw_of(unit: Unit, mode: DocumentMode, round_: int) -> int:
    """The call's draw: distinct for every use of a chunk and every top-up round, so no reply is a cached repeat."""
    return unit.draw * (1 + mode.max_top_up_calls) + round_


def evidence_first(client: ModelClient, mode: DocumentMode) -> bool:
    """Whether the pipeline picks the passages to ask about (`mode.generation`; auto: for the models that
    choose their quotes, the embedded ones)."""
    if mode.generation == "auto":
        return client.settings.quote_choices
    return mode.generation == "evidence_first"


def targets(
    slots: Sequence[Slot], passages: Sequence[Passage], excerpts_each: int, avoid: frozenset[str], each: int = 1
) -> dict[int, tuple[Passage, ...]]:
    """The passages each slot asks about, evidence first: `each` per excerpt it combines (`excerpts_each`; 0 for
    a conversation, whose turns move through all its excerpts), spread over each excerpt, `avoid`ed texts last."""
    if excerpts_each == 0:
        chosen = pick(passages, len(slots), None, avoid)
        return {slot.number: (chosen[i % len(chosen)],) for i, slot in enumerate(slots)} if chosen else {}
    per_excerpt = [pick(passages, len(slots) * each, excerpt, avoid) for excerpt in range(1, excerpts_each + 1)]
    if not all(len(found) >= each for found in per_excerpt):
        return {}
    return {
        slot.number: tuple(found[(i * each + j) % len(found)] for found in per_excerpt for j in range(each))
        for i, slot in enumerate(slots)
    }


def _drafts(
    slots: Sequence[Slot], reply: BaseModel, cited: Citing, asked: dict[int, tuple[Passage, ...]]
) -> list[Draft]:
    drafts = []
    field = cited.field()
    for slot, question in zip(slots, reply.questions):  # type: ignore[attr-defined]
        quotes, unknown = cited.claimed(getattr(question, field[0])) if field else ([], [])
        values = question.model_dump(exclude={field[0]} if field else set())
        quotes += [Quote(excerpt=p.excerpt, text=p.text) for p in asked.get(slot.number, ())]
        notes = {name: str(value) for name, value in values.items() if name not in _BASE}
        drafts.append(Draft(slot, values["question"], values["difficulty"], notes, quotes, tuple(unknown)))
    return drafts


async def ask_queries(
    client: ModelClient,
    unit: Unit,
    slots: Sequence[Slot],
    mode: QueriesModeSettings,
    *,
    written: Sequence[str],
    round_: int,
    avoid: frozenset[str] = frozenset(),
) -> list[Draft]:
    """One call for `slots` (of alike types, `call_groups`): the replies matched to the slots in order, extras
    dropped."""
    kind = mode.types[slots[0].type]
    names = list(dict.fromkeys(slot.type for slot in slots))
    shown = unit.chunks[: kind.chunks]
    first = evidence_first(client, mode) and kind.answerable
    passages = number(shown, mode.evidence.min_quote_chars)
    asked = targets(slots, passages, kind.chunks, avoid, kind.passages) if first else {}
    cited = citing(client, shown, mode.evidence, answerable=kind.answerable, asked=bool(asked))
    numbered = cited.kind == "number" or bool(asked)
    prompt = render_prompt(
        mode.prompt,
        count=len(slots),
        language=mode.language,
        instructions=call_instructions(names, mode.types, mode.language),
        slots=[
            {
                "number": i,
                "type": s.type if len(names) > 1 else None,
                "persona": s.persona,
                "difficulty": s.difficulty,
                "passages": [p.number for p in asked.get(s.number, ())],
                "stated": [" ".join(p.text.split()) for p in asked.get(s.number, ())],  # on its slot's line
            }
            for i, s in enumerate(slots, 1)
        ],
        seed_examples=mode.seed_examples,
        written=[] if asked else list(written),  # evidence first asks about new passages: a list invites copies
        excerpts=excerpts(shown, mode.evidence.min_quote_chars if numbered else None),
        answerable=kind.answerable,
        cite=cited.kind,
        fields=kind.fields,
    )
    reply = await client.structured(
        [{"role": "user", "content": prompt}],
        reply_schema(tuple(kind.fields.items()), cited, len(slots)),
        stage=STAGE,
        draw=draw_of(unit, mode, round_),
        extra_data=agent_context(shown, mode, len(slots)),
        max_tokens=questions_budget(len(slots), cited.kind),
    )
    return _drafts(slots, reply, cited, asked)


async def ask_turns(
    client: ModelClient,
    unit: Unit,
    slots: Sequence[Slot],
    mode: ConversationModeSettings,
    *,
    written: Sequence[str],
    round_: int,
    avoid: frozenset[str] = frozenset(),
) -> list[Draft]:
    """One call for the conversation's next turns (`slots`), continuing the `written` ones."""
    passages = number(unit.chunks, mode.evidence.min_quote_chars)
    asked = targets(slots, passages, 0, avoid) if evidence_first(client, mode) else {}
    cited = citing(client, unit.chunks, mode.evidence, answerable=True, asked=bool(asked))
    turns = [
        {
            "number": s.number,
            "difficulty": s.difficulty,
            "instructions": instructions(mode.types[s.type], mode.language),
            "passages": [p.number for p in asked.get(s.number, ())],
        }
        for s in slots
    ]
    numbered = cited.kind == "number" or bool(asked)
    prompt = render_prompt(
        mode.prompt,
        count=len(slots),
        language=mode.language,
        persona=slots[0].persona,
        turns=turns,
        seed_examples=mode.seed_examples,
        written=list(written),
        excerpts=excerpts(unit.chunks, mode.evidence.min_quote_chars if numbered else None),
        cite=cited.kind,
    )
    reply = await client.structured(
        [{"role": "user", "content": prompt}],
        reply_schema((), cited, len(slots)),
        stage=STAGE,
        draw=draw_of(unit, mode, round_),
        extra_data=agent_context(unit.chunks, mode, len(slots)),
        max_tokens=questions_budget(len(slots), cited.kind),
    )
    return _drafts(slots, reply, cited, asked)


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
