"""An item on its way through the checks: a question with its slot, quotes, and (later) answer and verdicts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from synthgen.core.ids import stable_id
from synthgen.pipelines.documents.plan import Unit
from synthgen.pipelines.documents.question_types import Slot
from synthgen.pipelines.documents.records import Agentic, Batch, Evidence
from synthgen.sources.base import Chunk


@dataclass
class Item:
    """One generated question of a unit's slot, written in top-up `round` (0 for the first call) from the
    chunks `shown` to the model."""

    unit: Unit
    slot: Slot
    round: int
    shown: tuple[Chunk, ...]
    question: str
    difficulty: str | None
    notes: dict[str, str]
    evidence: list[Evidence]
    answer: str = ""
    answer_evidence: list[Evidence] = field(default_factory=list)
    closed_book: bool | None = None
    checks: list[str] = field(default_factory=list)

    @property
    def qa_id(self) -> str:
        """Stable for the same run content, unit, slot and round."""
        return stable_id(self.unit.session_id, self.unit.key, str(self.slot.number), str(self.round))

    @property
    def primary(self) -> Chunk:
        """The chunk the item is about: the unit's (queries), or the chunk of a turn's first quote."""
        if self.unit.conversation and self.evidence:
            return next(c for c in self.unit.chunks if c.id == self.evidence[0].chunk_id)
        return self.unit.chunk

    def source_chunks(self) -> list[str]:
        """Every chunk the item relies on: its primary chunk, then those of its quotes, in the unit's order."""
        quoted = {e.chunk_id for e in [*self.evidence, *self.answer_evidence]}
        return [self.primary.id] + [c.id for c in self.unit.chunks if c.id in quoted and c.id != self.primary.id]

    def batch(self, *, turn_number: int | None, builds_on: str | None) -> Batch:
        """The datasets.jsonl turn."""
        chunk = self.primary
        agentic = Agentic(
            chunk_id=chunk.id,
            document=chunk.document,
            header_path=chunk.header,
            chunk_index=chunk.index,
            pages=list(chunk.pages),  # paged sources (PDF) carry page numbers
            turn_number=turn_number,
            builds_on=builds_on,
            question_type=self.slot.type,
            difficulty=self.difficulty,
            persona=self.slot.persona,
            source_chunks=self.source_chunks(),
            evidence=self.evidence,
            answer_evidence=self.answer_evidence,
            closed_book_answerable=self.closed_book,
            checks=self.checks,
        )
        return Batch(
            qa_id=self.qa_id,
            query=self.question,
            ground_truth_assistant=self.answer,
            agentic=agentic.model_dump(mode="json"),
        )

    def rejection(self, stage: str, reason: str, detail: str) -> dict[str, Any]:
        """The rejected.jsonl row: the check that dropped the item, why, and the item as far as it got."""
        return {
            "stage": stage,
            "reason": reason,
            "detail": detail,
            "session_id": self.unit.session_id,
            "qa_id": self.qa_id,
            "query": self.question,
            "question_type": self.slot.type,
            "difficulty": self.difficulty,
            "persona": self.slot.persona,
            "chunk_id": self.primary.id,
            "document": self.primary.document,
            "round": self.round,
            "evidence": [e.model_dump() for e in self.evidence],
            "notes": self.notes,
            "answer": self.answer or None,
            "answer_evidence": [e.model_dump() for e in self.answer_evidence],
        }
