"""End to end through the CLI with the real embedded model (few, short calls): mechanics only, never wording."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import read_jsonl, run_cli

pytestmark = pytest.mark.local_model

DOC = """# Kettle Manual

## Descaling

Descale the Brewmaster K2 kettle every four weeks in hard-water areas. Fill it with 500 ml of water
and 500 ml of white vinegar, bring it to the boil, leave it for one hour, then rinse it three times.
Never use bleach: it damages the stainless steel heating plate.
"""


def test_local_model_generates_checked_items_with_answers(tmp_path: Path) -> None:
    source = tmp_path / "kettle.md"
    source.write_text(DOC)
    out = tmp_path / "run"
    result = run_cli(
        f"source={source}",
        "mode.num_queries_per_chunk=2",
        "~mode.question_types",
        "+mode.question_types={factual:1}",
        "mode.max_top_up_calls=1",  # a question call, its answers, and one top-up of both for what was rejected
        "mode.roundtrip.enabled=false",  # its calls on the embedded model are make run's (CI runs it)
        "mode.answers=true",
        "model.max_tokens=200",
        f"hydra.run.dir={out}",
        cwd=tmp_path,
    )
    # The embedded model quotes through a grammar of the excerpts' passages (model.quote_choices), so its quotes pass
    # the check: a run of it keeps items (which ones, and their wording, the test leaves open).
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    stats = json.loads((out / "stats.json").read_text())
    quality = json.loads((out / "quality.json").read_text())
    rejected = read_jsonl(out / "rejected.jsonl")
    turns = [turn for dataset in read_jsonl(out / "datasets.jsonl") for turn in dataset["conversation"]]
    assert stats["cost_usd"] == 0.0 and stats["completion_tokens"] > 0
    assert 1 <= stats["stages"]["questions"]["calls"] <= 4  # the call and its top-up, each perhaps repaired
    assert 1 <= quality["kept"] == len(turns) == stats["produced"].get("queries", 0) <= 2
    assert quality["requested"] == 2 and quality["chunks"] == 1
    assert len(turns) + len(rejected) <= stats["generated"]
    assert sum(quality["rejected_by_stage"].values()) == len(rejected)
    for row in rejected:
        assert row["stage"] in ("evidence_check", "dedup") and row["reason"]
    for turn in turns:  # what was kept is backed by quotes found in the chunk, for the question and the answer
        agentic = turn["agentic"]
        assert turn["query"].strip() and turn["ground_truth_assistant"].strip()
        assert agentic["evidence"] and all(e["score"] >= 0.9 for e in agentic["evidence"])
        assert agentic["answer_evidence"] and all(e["score"] >= 0.9 for e in agentic["answer_evidence"])
        assert agentic["header_path"] == "Kettle Manual > Descaling" and agentic["question_type"] == "factual"
