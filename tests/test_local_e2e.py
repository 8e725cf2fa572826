"""End to end through the CLI with the real embedded model (few, short calls)."""

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


def test_local_model_generates_a_dataset_with_answers(tmp_path: Path) -> None:
    source = tmp_path / "kettle.md"
    source.write_text(DOC)
    out = tmp_path / "run"
    result = run_cli(
        f"source={source}",
        "mode.num_queries_per_chunk=2",
        "mode.answers=true",
        "model.max_tokens=160",
        f"hydra.run.dir={out}",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    [dataset] = read_jsonl(out / "datasets.jsonl")
    turns = dataset["conversation"]
    assert len(turns) == 2 and len({t["qa_id"] for t in turns}) == 2
    assert all(t["query"].strip() and t["ground_truth_assistant"].strip() for t in turns)
    assert {t["agentic"]["header_path"] for t in turns} == {"Kettle Manual > Descaling"}
    assert "white vinegar" in dataset["context"]
    stats = json.loads((out / "stats.json").read_text())
    assert stats["status"] == "completed" and stats["cost_usd"] == 0.0
    assert stats["produced"]["queries"] == stats["requested"]["queries"] == 2
    assert stats["stages"]["answers"]["calls"] == 2 and stats["completion_tokens"] > 0
