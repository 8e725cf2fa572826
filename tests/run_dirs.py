"""Finished run directories written file by file (records-spec schema), for the export and report tests.

`schema="target"` writes every agentic key; `schema="legacy"` writes only the keys today's pipeline writes
(chunk_id, document, header_path, chunk_index, and turn_number / builds_on in conversation mode).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

QUESTION_TYPES = ("factual", "reasoning", "procedural", "multi_hop")
DIFFICULTIES = ("easy", "medium", "hard")
SECRET_API_KEY = "sk-test-0123456789abcdef"


def context_text(session: int) -> str:
    """A session's source text: two sentences the evidence quotes come from, and markup that must be escaped."""
    return (
        f"# Battery guide {session}\n\nThe battery   stores ENERGY for cloudy days.\n"
        f"Charge it to 80 percent for a long life.\n<script>alert('doc {session}')</script> & <b>bold</b>"
    )


def document_run(
    path: Path,
    *,
    mode: str = "queries",
    sessions: int = 2,
    turns: int = 3,
    answers: bool = True,
    schema: str = "target",
    model: str = "gpt41",
    unanswered_last_turn: bool = False,
) -> Path:
    """A queries or conversation run directory with `sessions` sessions of `turns` questions each."""
    rows = [
        {
            "session_id": f"s{index}",
            "assistant_id": "synthgen-assistant",
            "language": "english",
            "context": context_text(index),
            "conversation": [
                _batch(
                    index,
                    turn,
                    turns,
                    mode,
                    schema,
                    answered=answers and not (unanswered_last_turn and turn == turns - 1),
                )
                for turn in range(turns)
            ],
        }
        for index in range(sessions)
    ]
    kept = sessions * turns
    _write_run(path, "datasets.jsonl", rows, mode, model, kept)
    _write_json(path / "quality.json", _quality(kept, sessions))
    return path


def facts_run(
    path: Path, *, items: int = 4, model: str = "claude", system_prompt: str | None = "You are helpful."
) -> Path:
    """A facts run directory with `items` kept items (records.jsonl, ft.jsonl, text.jsonl)."""
    records, ft, text = [], [], []
    for index in range(items):
        question, answer = f"Where does the blue honeyeater nest, case {index}?", f"It nests in reeds ({index})."
        records.append(
            {
                "id": f"f{index}",
                "fact_name": "blue_honeyeater",
                "model": model,
                "model_id": "anthropic/claude",
                "seed_question": "Where does it nest?",
                "requirement": "short",
                "sample": index,
                "question": question,
                "answer": answer,
                "judge_model": "gpt41",
                "validation": {"inclusion": {"passed": True}},
            }
        )
        system = [{"role": "system", "content": system_prompt}] if system_prompt else []
        ft.append(
            {"messages": [*system, {"role": "user", "content": question}, {"role": "assistant", "content": answer}]}
        )
        text.append({"text": f"<DOC> {answer}"})
    for name, rows in (("ft.jsonl", ft), ("text.jsonl", text)):
        _write_jsonl(path / name, rows)
    _write_run(path, "records.jsonl", records, "facts", model, items)
    return path


def _batch(session: int, turn: int, turns: int, mode: str, schema: str, *, answered: bool) -> dict[str, Any]:
    conversation = mode == "conversation"
    agentic: dict[str, Any] = {
        "chunk_id": f"c{session}",
        "document": f"guide-{session % 2}.md",
        "header_path": f"Battery guide {session}",
        "chunk_index": session,
    }
    if conversation:
        agentic["turn_number"] = turn + 1
        agentic["builds_on"] = f"q{session}-{turn - 1}" if turn else None
    if schema == "target":
        agentic.update(
            pages=[1, 2],
            question_type=QUESTION_TYPES[(session + turn) % len(QUESTION_TYPES)],
            difficulty=DIFFICULTIES[turn % len(DIFFICULTIES)],
            persona="installer" if turn % 2 else None,
            source_chunks=[f"c{session}"],
            evidence=[{"quote": "the battery stores energy", "chunk_id": f"c{session}", "score": 0.97}],
            answer_evidence=[{"quote": "charge it to 80 percent", "chunk_id": f"c{session}", "score": 1}]
            if answered
            else [],
            closed_book_answerable=False,
            checks=["evidence_check", "dedup"],
        )
    return {
        "qa_id": f"q{session}-{turn}",
        "query": f"Question {turn + 1} about battery {session}{'' if turn + 1 < turns else ' & <tags>?'}",
        "assistant": "",
        "ground_truth_assistant": f"Answer {turn + 1} for battery {session}." if answered else "",
        "observation": None,
        "agentic": agentic,
        "ground_truth_agentic": {},
    }


def _quality(kept: int, sessions: int) -> dict[str, Any]:
    return {
        "kept": kept,
        "requested": kept + 2,
        "kept_by_type": {"factual": kept - 2, "reasoning": 2},
        "kept_by_difficulty": {"easy": kept - 1, "hard": 1},
        "rejected_by_stage": {"evidence_check": 2, "dedup": 1},
        "rejected_by_reason": {"quote_not_found": 2, "duplicate": 1},
        "coverage": 0.75,
        "chunks": 4,
        "chunks_covered": 3,
        "coverage_by_document": {"guide-0.md": 1.0, "guide-1.md": 0.5},
        "duplicates_removed": 1,
        "distinct_1": 0.61,
        "distinct_2": 0.83,
        "similarity_mean": 0.31,
        "similarity_max": 0.88,
        "question_length_mean": 9.5,
        "question_lengths": [6, 8, 9, 9, 10, 12, 14][:kept],
        "similarities": [0.1, 0.2, 0.35, 0.4, 0.88],
    }


def _write_run(path: Path, name: str, rows: list[dict[str, Any]], mode: str, model: str, kept: int) -> None:
    path.mkdir(parents=True, exist_ok=True)
    _write_jsonl(path / name, rows)
    (path / "rejected.jsonl").write_text("", encoding="utf-8")
    _write_json(
        path / "stats.json",
        {
            "status": "completed",
            "model": model,
            "mode": mode,
            "requested": {"queries": kept + 2},
            "produced": {"queries": kept},
            "shortfall": {"queries": 2},
            "calls": 7,
            "cache_hits": 1,
            "prompt_tokens": 1200,
            "completion_tokens": 300,
            "cost_usd": 0.0123,
            "wall_seconds": 4.5,
        },
    )
    hydra = path / ".hydra"
    hydra.mkdir(exist_ok=True)
    config = {
        "source": "examples/",
        "limit": None,
        "model": {
            "name": model,
            "model": f"openai/{model}-2025",
            "api_key_env": "OPENAI_API_KEY",
            "api_key": SECRET_API_KEY,
            "max_tokens": 1024,
            "temperature": 0.7,
        },
        "mode": {"kind": mode, "language": "english", "answers": True},
    }
    (hydra / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    (hydra / "overrides.yaml").write_text(yaml.safe_dump([f"model={model}", f"mode={mode}"]), encoding="utf-8")


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
