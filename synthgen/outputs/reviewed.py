"""Which items an export keeps after review: `--reviewed accepted | not_rejected | all`, with edits applied.

The default is `not_rejected` once the run holds any decision, `all` before anyone reviewed it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from synthgen.outputs.decisions import Decision

Reviewed = Literal["accepted", "not_rejected", "all"]
REVIEWED_CHOICES: tuple[Reviewed, ...] = ("accepted", "not_rejected", "all")


@dataclass(frozen=True)
class ReviewSelection:
    """The choice applied to a run and what it did: items kept and left out, decisions by verdict."""

    reviewed: Reviewed
    kept: int
    left_out: int
    accepted: int
    rejected: int
    edited: int
    unreviewed: int


def default_reviewed(decisions: dict[str, Decision]) -> Reviewed:
    """`not_rejected` once any decision exists, else `all`."""
    return "not_rejected" if decisions else "all"


def keeps(decision: Decision | None, reviewed: Reviewed) -> bool:
    """Whether an item with `decision` stays under `reviewed`."""
    if reviewed == "accepted":
        return decision is not None and decision.kept
    if reviewed == "not_rejected":
        return decision is None or decision.kept
    return True


def apply_to_batch(batch: dict[str, Any], decision: Decision | None) -> dict[str, Any]:
    """The turn with an edit's question and answer in place of the generated ones."""
    if decision is None or decision.verdict != "edited":
        return batch
    edited = dict(batch)
    if decision.query is not None:
        edited["query"] = decision.query
    if decision.answer is not None:
        edited["ground_truth_assistant"] = decision.answer
    return edited


def select_sessions(
    sessions: list[dict[str, Any]], decisions: dict[str, Decision], reviewed: Reviewed | None
) -> tuple[list[dict[str, Any]], ReviewSelection]:
    """The sessions with left-out turns removed (and sessions left empty dropped), edits applied."""
    choice = reviewed or default_reviewed(decisions)
    kept_sessions, kept, left_out = [], 0, 0
    ids = set()
    for session in sessions:
        conversation = []
        for batch in session["conversation"]:
            decision = decisions.get(str(batch.get("qa_id")))
            ids.add(str(batch.get("qa_id")))
            if keeps(decision, choice):
                conversation.append(apply_to_batch(batch, decision))
                kept += 1
            else:
                left_out += 1
        if conversation:
            kept_sessions.append({**session, "conversation": conversation})
    own = [decision for qa_id, decision in decisions.items() if qa_id in ids]
    selection = ReviewSelection(
        reviewed=choice,
        kept=kept,
        left_out=left_out,
        accepted=sum(decision.verdict == "accepted" for decision in own),
        rejected=sum(decision.verdict == "rejected" for decision in own),
        edited=sum(decision.verdict == "edited" for decision in own),
        unreviewed=len(ids) - len(own),
    )
    return kept_sessions, selection
