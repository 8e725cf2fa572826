"""Deciding, item by item, what the baseline keeps: each quote found again in the new chunks, or the item retired.

An item is kept when every quote of its question and of its reference answer is found in the new chunks with
the generation's quote check, at least as well as when it was written (so an edit inside a quoted passage
retires the item, while edits elsewhere, moves and renames do not). A kept item takes a slot of the unit whose
chunk now holds its first quote (a slot of its own type when the unit has one free), so the unit asks the model
only for the slots left; it keeps its qa_id, question, answer and checks, and points at the chunks where its
quotes now are. An item without quotes (unanswerable types) follows its chunk: kept while the chunk's text is
unchanged. A conversation keeps its turns up to the first one retired.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from synthgen.config.schema import EvidenceSettings
from synthgen.outputs.changes import Passage, RetiredItem
from synthgen.pipelines.documents.baseline.chunks import ChunkDiff
from synthgen.pipelines.documents.baseline.locate import ChunkIndex
from synthgen.pipelines.documents.baseline.old_run import OldTurn
from synthgen.pipelines.documents.items import Item
from synthgen.pipelines.documents.plan import Unit
from synthgen.pipelines.documents.question_types import Slot
from synthgen.pipelines.documents.records import Batch, Evidence
from synthgen.sources.base import Chunk

CHECK = "baseline_evidence_check"  # added to a kept item's checks
CHANGED_FLOOR = 0.7  # below this similarity a quote is gone (evidence_removed), above it edited (evidence_changed)
TOLERANCE = 0.005  # a kept quote scores at least its old score less this (scores are rounded to 3 places)


@dataclass
class CarriedItem(Item):
    """A baseline item kept in the new run: its old record, re-pointed at the chunks (`shown`, primary first)
    where its quotes now are."""

    carried: Batch | None = None

    @property
    def qa_id(self) -> str:
        """The baseline's id."""
        assert self.carried is not None
        return self.carried.qa_id

    @property
    def primary(self) -> Chunk:
        """The chunk that now holds the item's first quote."""
        return self.shown[0]

    def source_chunks(self) -> list[str]:
        """The chunks its quotes are in now, primary first."""
        return [chunk.id for chunk in self.shown]

    def batch(self, *, turn_number: int | None, builds_on: str | None) -> Batch:
        """The datasets.jsonl turn: the baseline's, with the new place of its quotes."""
        assert self.carried is not None
        written = super().batch(turn_number=turn_number, builds_on=builds_on)
        old = self.carried
        return written.model_copy(
            update={
                "assistant": old.assistant,
                "observation": old.observation,
                "ground_truth_agentic": old.ground_truth_agentic,
            }
        )


@dataclass(frozen=True)
class Located:
    """Where an old item's quotes are now: its new evidence, answer evidence, and chunks (primary first)."""

    evidence: list[Evidence]
    answer_evidence: list[Evidence]
    chunks: tuple[Chunk, ...]


@dataclass
class Carry:
    """The outcome over the whole job: kept items per unit key, and the retired ones in baseline order."""

    kept: dict[str, list[CarriedItem]] = field(default_factory=dict)
    retired: list[RetiredItem] = field(default_factory=list)


class Carrier:
    """Checks the baseline's items against the new chunks and places the kept ones in the new units."""

    def __init__(self, index: ChunkIndex, diff: ChunkDiff | None, evidence: EvidenceSettings) -> None:
        self.index = index
        self.diff = diff
        self.evidence = evidence
        self._chunks = {chunk.id: chunk for chunk in index.chunks}

    def carry(self, datasets: dict[str, list[OldTurn]], units: Sequence[Unit], conversation: bool) -> Carry:
        """Keep or retire every old item; kept items fill slots of the units (the whole job's, before sharding)."""
        outcome = Carry()
        by_chunk: dict[str, list[Unit]] = {}
        for unit in units:
            by_chunk.setdefault(unit.chunk.id, []).append(unit)
        for turns in datasets.values():
            if conversation:
                self._carry_conversation(turns, units, outcome)
            else:
                for turn in turns:
                    self._carry_query(turn, by_chunk, outcome)
        return outcome

    def locate(self, turn: OldTurn) -> Located | RetiredItem:
        """The item's quotes in the new chunks, or the item retired with the reason and the passages at fault."""
        agentic = turn.agentic
        quotes = [*agentic.evidence, *agentic.answer_evidence]
        if not quotes:
            return self._follow_chunk(turn)
        found: list[Evidence] = []
        faults: dict[str, Passage] = {}  # by quoted text: a question and its answer often quote the same line
        for quote in quotes:
            hit = self.index.find(quote.quote, prefer=self._successors(quote.chunk_id))
            score = hit.score if hit is not None else 0.0
            wanted = max(self.evidence.threshold if self.evidence.enabled else 0.0, quote.score - TOLERANCE)
            if hit is None or score < wanted:
                new = hit.passage(quote.quote) if hit is not None and score >= CHANGED_FLOOR else None
                chunk = hit.chunk.id if hit is not None and new is not None else None
                faults.setdefault(quote.quote, Passage(old=quote.quote, new=new, score=score, chunk_id=chunk))
            else:
                found.append(Evidence(quote=quote.quote, chunk_id=hit.chunk.id, score=score))
        if faults:
            passages = list(faults.values())
            reason = "evidence_changed" if any(fault.new is not None for fault in passages) else "evidence_removed"
            detail = f"{len(passages)} quoted passage(s) no longer in the documents as written"
            return self._retired(turn, reason, detail, passages)
        primary = next(
            (new for new, old in zip(found, quotes) if old.chunk_id == agentic.chunk_id),
            found[0],
        )
        order = [primary.chunk_id, *(e.chunk_id for e in found)]
        chunks = tuple(self._chunks[chunk] for chunk in dict.fromkeys(order))
        return Located(found[: len(agentic.evidence)], found[len(agentic.evidence) :], chunks)

    def _follow_chunk(self, turn: OldTurn) -> Located | RetiredItem:
        """An item without quotes stays while its chunk's text is unchanged (wherever the chunk now is)."""
        old = turn.agentic.chunk_id
        if self.diff is None:  # a baseline without chunks.jsonl: the chunk of the same document, place and header
            successor = (old, "unchanged") if old in self._chunks else None
        else:
            successor = self.diff.successor.get(old)
        if successor is None:
            return self._retired(turn, "evidence_removed", "its chunk is no longer in the documents", [])
        chunk, status = successor
        if status == "changed":
            return self._retired(turn, "evidence_changed", "its chunk's text changed", [])
        return Located([], [], (self._chunks[chunk],))

    def _successors(self, old_chunk: str) -> list[str]:
        """The new chunk that continues `old_chunk` (searched first), when known."""
        if self.diff is not None and old_chunk in self.diff.successor:
            return [self.diff.successor[old_chunk][0]]
        return [old_chunk]

    def _carry_query(self, turn: OldTurn, by_chunk: dict[str, list[Unit]], outcome: Carry) -> None:
        located = self.locate(turn)
        if isinstance(located, RetiredItem):
            outcome.retired.append(located)
            return
        candidates = by_chunk.get(located.chunks[0].id, [])
        if not candidates:
            outcome.retired.append(
                self._retired(turn, "chunk_not_planned", "no unit of the new plan generates from its chunk", [])
            )
            return
        kind = turn.agentic.question_type

        def free(unit: Unit, same_type: bool) -> list[Slot]:
            taken = {item.slot.number for item in outcome.kept.get(unit.key, [])}
            return [s for s in unit.slots if s.number not in taken and (s.type == kind or not same_type)]

        choice = next(
            ((unit, slots[0]) for same in (True, False) for unit in candidates if (slots := free(unit, same))),
            None,
        )
        if choice is None:  # every slot of its chunk is filled: kept beyond the count, after the slots
            unit = candidates[0]
            number = max([len(unit.slots), *(i.slot.number for i in outcome.kept.get(unit.key, []))]) + 1
        else:
            unit, number = choice[0], choice[1].number
        outcome.kept.setdefault(unit.key, []).append(self._item(turn, unit, number, located))

    def _carry_conversation(self, turns: list[OldTurn], units: Sequence[Unit], outcome: Carry) -> None:
        unit: Unit | None = None
        kept: list[CarriedItem] = []
        for position, turn in enumerate(turns):
            if position and len(kept) < position:
                outcome.retired.append(
                    self._retired(turn, "after_retired_turn", "an earlier turn of the conversation was retired", [])
                )
                continue
            located = self.locate(turn)
            if isinstance(located, RetiredItem):
                outcome.retired.append(located)
                continue
            if unit is None:
                unit = next(
                    (u for u in units if located.chunks[0] in u.chunks and u.key not in outcome.kept),
                    None,
                )
            if unit is None or any(chunk not in unit.chunks for chunk in located.chunks) or position >= len(unit.slots):
                outcome.retired.append(
                    self._retired(turn, "chunk_not_planned", "no conversation of the new plan holds its chunks", [])
                )
                continue
            kept.append(self._item(turn, unit, position + 1, located))
        if unit is not None and kept:
            outcome.kept[unit.key] = kept

    def _item(self, turn: OldTurn, unit: Unit, number: int, located: Located) -> CarriedItem:
        agentic = turn.agentic
        slot = Slot(number=number, type=agentic.question_type, persona=agentic.persona, difficulty=agentic.difficulty)
        return CarriedItem(
            unit=unit,
            slot=slot,
            round=0,
            shown=located.chunks,
            question=turn.batch.query,
            difficulty=agentic.difficulty,
            notes={},
            evidence=located.evidence,
            answer=turn.batch.ground_truth_assistant,
            answer_evidence=located.answer_evidence,
            closed_book=agentic.closed_book_answerable,
            checks=[*agentic.checks, *([] if CHECK in agentic.checks else [CHECK])],
            carried=turn.batch,
        )

    @staticmethod
    def _retired(turn: OldTurn, reason: str, detail: str, passages: list[Passage]) -> RetiredItem:
        return RetiredItem(
            qa_id=turn.qa_id,
            session_id=turn.session_id,
            query=turn.batch.query,
            question_type=turn.agentic.question_type,
            document=turn.agentic.document,
            chunk_id=turn.agentic.chunk_id,
            reason=reason,
            detail=detail,
            passages=passages,
        )
