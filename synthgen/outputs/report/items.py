"""A browsable sample of a run's items: each session's turns, and its source text with the evidence marked."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from synthgen.outputs.export.run_files import Run, Turn, session_turns
from synthgen.outputs.report.highlight import Quote, highlight

QUESTION_EVIDENCE, ANSWER_EVIDENCE = "evidence", "answer-evidence"


@dataclass(frozen=True)
class SessionView:
    """One sampled session: its turns (agentic fields flattened), the marked context, unmatched quotes."""

    session_id: str
    location: str
    turns: list[dict[str, Any]]
    context: Markup
    unmatched: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FactView:
    """One sampled facts item."""

    item_id: str
    question: str
    answer: str
    origin: str
    validation: str


def sample_indices(count: int, size: int) -> list[int]:
    """`size` indices spread evenly over `count` items (all of them when there are no more than `size`)."""
    if count <= size:
        return list(range(count))
    return sorted({round(step * (count - 1) / max(1, size - 1)) for step in range(size)})


def session_sample(run: Run, size: int) -> list[SessionView]:
    """Up to `size` sessions of the run, spread over the file."""
    return [
        _session_view(run.sessions[index], session_turns(run, run.sessions[index]))
        for index in sample_indices(len(run.sessions), size)
    ]


def fact_sample(run: Run, size: int) -> list[FactView]:
    """Up to `size` facts items of the run, spread over the file."""
    views = []
    for index in sample_indices(len(run.facts), size):
        record = run.facts[index].record
        views.append(
            FactView(
                item_id=str(record.get("id", index)),
                question=str(record.get("question", "")),
                answer=str(record.get("answer", "")),
                origin=f"{record.get('seed_question', '')} / {record.get('requirement', '')}",
                validation=json.dumps(record.get("validation") or {}, indent=1, ensure_ascii=False),
            )
        )
    return views


def _session_view(session: dict[str, Any], turns_of_session: list[Turn]) -> SessionView:
    quotes: list[Quote] = []
    rows = []
    for turn in turns_of_session:
        agentic = turn.agentic
        quotes += [Quote(item["quote"], QUESTION_EVIDENCE) for item in agentic["evidence"] if item["quote"]]
        quotes += [Quote(item["quote"], ANSWER_EVIDENCE) for item in agentic["answer_evidence"] if item["quote"]]
        rows.append({"query": turn.batch.get("query", ""), "answer": turn.answer, **agentic})
    context, found = highlight(str(session.get("context") or ""), quotes)
    first = turns_of_session[0].agentic if turns_of_session else {}
    location = " › ".join(str(part) for part in (first.get("document"), first.get("header_path")) if part)
    unmatched = list(dict.fromkeys(quote.text for quote in quotes if quote.text not in found))
    return SessionView(str(session.get("session_id", "")), location, rows, context, unmatched)
