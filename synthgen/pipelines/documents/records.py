"""The evaluation dataset records written to datasets.jsonl."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class QuestionList(BaseModel):
    """What a question-generation call returns."""

    questions: list[str]


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
    """One evaluation session grounded in the context of its chunks."""

    session_id: str
    assistant_id: str
    language: str
    context: str
    conversation: list[Batch]
