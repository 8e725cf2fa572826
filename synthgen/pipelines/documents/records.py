"""The evaluation dataset records written to datasets.jsonl."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Evidence(BaseModel):
    """A verified quote: the text the model claimed, the chunk it was found in, and how well it matched (0-1)."""

    quote: str
    chunk_id: str
    score: float


class Agentic(BaseModel):
    """`Batch.agentic`: the same keys in every mode (missing values null or []), so rows load together."""

    chunk_id: str
    document: str
    header_path: str
    chunk_index: int
    pages: list[int] = Field(default_factory=list)
    turn_number: int | None = None
    builds_on: str | None = None
    question_type: str
    difficulty: str | None = None
    persona: str | None = None
    source_chunks: list[str]
    evidence: list[Evidence] = Field(default_factory=list)
    answer_evidence: list[Evidence] = Field(default_factory=list)
    closed_book_answerable: bool | None = None
    checks: list[str] = Field(default_factory=list)


class Batch(BaseModel):
    """One turn: a generated user query and, optionally, its ground-truth answer."""

    qa_id: str
    query: str
    assistant: str = ""
    ground_truth_assistant: str = ""
    observation: str | None = None
    agentic: dict[str, Any] = Field(default_factory=dict)
    ground_truth_agentic: dict[str, Any] = Field(default_factory=dict)


class Dataset(BaseModel):
    """One evaluation session grounded in the chunks its turns rely on."""

    session_id: str
    assistant_id: str
    language: str
    context: str
    conversation: list[Batch]


def context_order(turns: list[dict[str, Any]]) -> list[str]:
    """The chunk ids a dataset's context holds, in order: primary chunks as their turns come, then the other
    chunks the turns rely on, as they come."""
    order = dict.fromkeys(turn["agentic"]["chunk_id"] for turn in turns)
    order.update(dict.fromkeys(chunk for turn in turns for chunk in turn["agentic"]["source_chunks"]))
    return list(order)
