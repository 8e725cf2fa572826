"""The round trip (`mode.roundtrip`): a second, short call answers each question by choosing the passage numbers
that answer it, or none, from the same numbered excerpts; the item stays only if the choice comes back to its
own evidence (for a type the documents must not answer, only if it is none). The standard filter for
synthetic QA (Alberti et al., "Synthetic QA Corpora Generation with Roundtrip Consistency", ACL 2019), made
cheap: the reply is a few numbers, and the prompt shares its excerpts with the question call's.

A choice whose passages share far fewer words of substance with the question than its evidence does (at most
half as many; none, when the evidence shares one) is not a different answer but a miss (a small model's,
typically): the item stays, its check named `roundtrip_words`. The other way round, for a one-excerpt type, the
pick was wrong, not the question: the item stays with the chosen passages as its evidence (`roundtrip_moved`).
Whatever the choice, a standalone question sharing no word of substance with a passage of its evidence, or the
heading it is under, is not about it (`off_evidence`; a small model's question drifts off its passage, and its
round trip often agrees).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any

from pydantic import BaseModel, Field, create_model

from synthgen.models.client import ModelClient
from synthgen.models.providers.base import LiteLLMModel
from synthgen.pipelines.budgets import ROUNDTRIP_TOKENS
from synthgen.pipelines.documents.citing import MAX_CITED, numbers_of
from synthgen.pipelines.documents.items import Item
from synthgen.pipelines.documents.passages import Passage, number
from synthgen.pipelines.documents.plan import DocumentMode
from synthgen.pipelines.documents.questions import draw_of, excerpts
from synthgen.pipelines.documents.wording import topic_stems
from synthgen.pipelines.prompts import render_prompt

STAGE = "roundtrip"
BY_WORDS = "roundtrip_words"  # the check of an item kept because the model's choice missed the question
MOVED = "roundtrip_moved"  # the check of an item whose evidence moved to the passages the model chose


@lru_cache(maxsize=512)
def choice_schema(passages: int) -> type[BaseModel]:
    """`{"passages": [...]}`: up to MAX_CITED of the numbers 1..`passages`, or none."""
    item = Annotated[int, Field(json_schema_extra={"enum": list(range(1, passages + 1))})]
    chosen = Annotated[list[item], Field(json_schema_extra={"maxItems": MAX_CITED})]
    return create_model("RoundTrip", passages=(chosen, ...))


@lru_cache(maxsize=512)
def choices_schema(passages: int, count: int) -> type[BaseModel]:
    """`{"answers": [{"passages": [...]}, ...]}`: one choice (`choice_schema`) for each of `count` questions."""
    choice: Any = choice_schema(passages)
    exactly = Field(json_schema_extra={"minItems": count, "maxItems": count})
    return create_model("RoundTrips", answers=(Annotated[list[choice], exactly], ...))


def together(model: LiteLLMModel, mode: DocumentMode) -> bool:
    """Whether a chunk's questions share one round-trip call (`mode.roundtrip.together`; auto: but for the
    models with quote_choices, whose prompt cache reads the chunk once for separate calls)."""
    if mode.roundtrip.together == "auto":
        return not model.quote_choices
    return mode.roundtrip.together


async def choose_passages(
    client: ModelClient, item: Item, mode: DocumentMode, history: list[dict[str, Any]]
) -> tuple[list[Passage], list[Passage]]:
    """The passages the model says answer the item's question (given the conversation's earlier turns), and
    its evidence's passages."""
    passages = number(item.shown, mode.evidence.min_quote_chars)
    prompt = render_prompt(
        mode.roundtrip.prompt,
        excerpts=excerpts(item.shown, mode.evidence.min_quote_chars),
        history=history,
        question=item.question,
        questions=[],
    )
    reply = await client.structured(
        [{"role": "user", "content": prompt}],
        choice_schema(max(len(passages), 1)),
        stage=STAGE,
        draw=draw_of(item.unit, mode, item.round),
        max_tokens=ROUNDTRIP_TOKENS,
    )
    return _chosen(passages, item, reply.passages, mode)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class RoundTrip:
    """The round trip's verdict: the check an item that stays lists (`check`), or its rejection (`reason`,
    `detail`); `moved`: the passages its evidence moves to."""

    check: str | None = None
    reason: str | None = None
    detail: str = ""
    moved: tuple[Passage, ...] = ()


async def choose_passages_together(
    client: ModelClient, items: list[Item], mode: DocumentMode
) -> list[tuple[list[Passage], list[Passage]] | None]:
    """For each of `items` (queries shown the same excerpts), as `choose_passages` gives it, from one call; None
    for an item the reply has no answer for."""
    passages = number(items[0].shown, mode.evidence.min_quote_chars)
    prompt = render_prompt(
        mode.roundtrip.prompt,
        excerpts=excerpts(items[0].shown, mode.evidence.min_quote_chars),
        history=[],
        question=None,
        questions=[item.question for item in items],
    )
    reply = await client.structured(
        [{"role": "user", "content": prompt}],
        choices_schema(max(len(passages), 1), len(items)),
        stage=STAGE,
        draw=draw_of(items[0].unit, mode, items[0].round),
        max_tokens=ROUNDTRIP_TOKENS * len(items),
    )
    answers = reply.answers  # type: ignore[attr-defined]
    return [
        _chosen(passages, item, answer.passages, mode) if answer is not None else None
        for item, answer in zip(items, [*answers, *[None] * (len(items) - len(answers))])
    ]


def _chosen(
    passages: list[Passage], item: Item, numbers: list[int], mode: DocumentMode
) -> tuple[list[Passage], list[Passage]]:
    """The passages numbered `numbers` (each once, unknown ones left out), and those of the item's evidence."""
    by_number = {p.number: p for p in passages}
    chosen = [by_number[n] for n in dict.fromkeys(numbers) if n in by_number]
    cited = set(numbers_of(passages, item.evidence, mode.evidence.threshold))
    return chosen, [p for p in passages if p.number in cited]


def check_roundtrip(
    question: str,
    chosen: list[Passage],
    evidence: list[Passage],
    *,
    answerable: bool,
    movable: bool,
    standalone: bool = True,
) -> RoundTrip:
    """Whether the choice comes back to the evidence (some chosen passage is one of its own; for an
    unanswerable type, nothing chosen): STAGE. A choice sharing at most half as many words with the question
    as the evidence is a miss (BY_WORDS); for a one-excerpt type (`movable`), evidence sharing at most half as
    many words as the choice was the wrong pick, and the item moves to the chosen passages sharing words with
    it (MOVED). A `standalone` question (not a later turn, which may name its topic in an earlier one) must
    share a word with every passage of its evidence it keeps, read under its heading."""
    numbers, own = [p.number for p in chosen], [p.number for p in evidence]
    if not answerable:
        if chosen:
            return RoundTrip(reason="answerable_out_of_scope", detail=f"passages {numbers} answer it: {chosen[0].text}")
        return RoundTrip(STAGE)
    if not chosen:
        return RoundTrip(reason="roundtrip_none", detail=f"no passage answers it (its evidence: passages {own})")
    asked = topic_stems(question)

    def shared(passages: list[Passage]) -> int:
        return max((len(asked & topic_stems(p.text)) for p in passages), default=0)

    unrelated = [p for p in evidence if not asked & topic_stems(f"{p.heading} {p.text}")] if standalone else []
    if not unrelated and set(numbers) & set(own):
        return RoundTrip(STAGE)
    if not unrelated and shared(evidence) >= max(1, 2 * shared(chosen)):
        return RoundTrip(BY_WORDS)
    if movable and shared(chosen) >= max(1, 2 * shared(evidence)):
        return RoundTrip(MOVED, moved=tuple(p for p in chosen if shared([p])))
    if unrelated:
        return RoundTrip(
            reason="off_evidence",
            detail=f"no word of substance of the question is in passage {unrelated[0].number}: {unrelated[0].text}",
        )
    return RoundTrip(
        reason="roundtrip_mismatch", detail=f"answered by passages {numbers}, not by its evidence (passages {own})"
    )
