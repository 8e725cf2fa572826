"""Carrying the baseline's review decisions (the review store, synthgen/outputs/decisions.py) to its kept items."""

from __future__ import annotations

from pathlib import Path

from synthgen.outputs.decisions import DecisionStore, all_decisions


def carry_decisions(baseline: Path, run_dir: Path, kept: set[str]) -> set[str]:
    """Copy every reviewer's decision on a kept item into the run's store (a decision already there, from an
    earlier attempt of the run, stays); returns the kept qa_ids whose latest decision is a rejection."""
    decisions = [decision for decision in all_decisions(baseline) if decision.qa_id in kept]
    if not decisions:
        return set()
    store = DecisionStore(run_dir)
    try:
        for decision in decisions:
            if store.get(decision.qa_id, decision.reviewer) is not None:
                continue
            store.save(
                decision.qa_id,
                decision.reviewer,
                decision.verdict,
                expected_version=0,
                reason=decision.reason,
                note=decision.note,
                query=decision.query,
                answer=decision.answer,
                original_query=decision.original_query,
                original_answer=decision.original_answer,
                edit_check=decision.edit_check,
            )
    finally:
        store.close()
    latest = {decision.qa_id: decision for decision in decisions}  # oldest save first: the last one wins
    return {qa_id for qa_id, decision in latest.items() if decision.verdict == "rejected"}
