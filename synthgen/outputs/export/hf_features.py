"""The explicit Hugging Face `Features` of the exported tables, and the rows that fit them.

Every run writes the same schema, so files from runs of any mode (queries, conversation) and of any
question type load together. Free-form objects (`ground_truth_agentic`, a facts item's `validation`) are
stored as JSON text, since Parquet cannot hold a struct whose keys vary from row to row.
"""

from __future__ import annotations

import json
from typing import Any

from datasets import Features, List, Value

from synthgen.outputs.export.run_files import FactItem, Run

EVIDENCE = {"quote": Value("string"), "chunk_id": Value("string"), "score": Value("float64")}
AGENTIC = {
    "chunk_id": Value("string"),
    "document": Value("string"),
    "header_path": Value("string"),
    "chunk_index": Value("int64"),
    "pages": List(Value("int64")),
    "turn_number": Value("int64"),
    "builds_on": Value("string"),
    "question_type": Value("string"),
    "difficulty": Value("string"),
    "persona": Value("string"),
    "source_chunks": List(Value("string")),
    "evidence": List(EVIDENCE),
    "answer_evidence": List(EVIDENCE),
    "closed_book_answerable": Value("bool"),
    "checks": List(Value("string")),
}
BATCH = {
    "qa_id": Value("string"),
    "query": Value("string"),
    "assistant": Value("string"),
    "ground_truth_assistant": Value("string"),
    "observation": Value("string"),
    "agentic": AGENTIC,
    "ground_truth_agentic": Value("string"),
}
DOCUMENT_FEATURES = Features(
    {
        "session_id": Value("string"),
        "assistant_id": Value("string"),
        "language": Value("string"),
        "context": Value("string"),
        "conversation": List(BATCH),
        "run": Value("string"),
        "model": Value("string"),
    }
)
FACT_FEATURES = Features(
    {
        "id": Value("string"),
        "fact_name": Value("string"),
        "model": Value("string"),
        "model_id": Value("string"),
        "seed_question": Value("string"),
        "requirement": Value("string"),
        "sample": Value("int64"),
        "question": Value("string"),
        "answer": Value("string"),
        "judge_model": Value("string"),
        "validation": Value("string"),
        "messages": List({"role": Value("string"), "content": Value("string")}),
        "text": Value("string"),
        "run": Value("string"),
    }
)


def document_rows(run: Run) -> list[dict[str, Any]]:
    """The run's datasets.jsonl rows shaped to DOCUMENT_FEATURES (`run` and `model` added)."""
    return [
        {
            "session_id": session.get("session_id"),
            "assistant_id": session.get("assistant_id"),
            "language": session.get("language"),
            "context": session.get("context"),
            "conversation": [_batch(batch) for batch in session["conversation"]],
            "run": run.name,
            "model": run.model,
        }
        for session in run.sessions
    ]


def fact_rows(run: Run) -> list[dict[str, Any]]:
    """The run's kept facts items shaped to FACT_FEATURES."""
    return [_fact(run, item) for item in run.facts]


def _batch(batch: dict[str, Any]) -> dict[str, Any]:
    return {
        **{key: batch.get(key) for key in ("qa_id", "query", "assistant", "ground_truth_assistant")},
        "observation": _text(batch.get("observation")),
        "agentic": batch["agentic"],
        "ground_truth_agentic": json.dumps(batch.get("ground_truth_agentic") or {}, ensure_ascii=False),
    }


def _text(value: Any) -> str | None:
    """A text field as text: null and strings stay, anything else becomes JSON."""
    return value if value is None or isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _fact(run: Run, item: FactItem) -> dict[str, Any]:
    fields = {key: item.record.get(key) for key in FACT_FEATURES if key not in ("messages", "text", "run")}
    return {
        **fields,
        "id": None if fields["id"] is None else str(fields["id"]),
        "validation": json.dumps(item.record.get("validation") or {}, ensure_ascii=False),
        "messages": [{"role": m.get("role"), "content": m.get("content")} for m in item.messages],
        "text": item.text,
        "run": run.name,
    }
