"""mode=facts end to end through the CLI with the real embedded model (two items, a handful of calls)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import read_jsonl, run_cli

pytestmark = pytest.mark.local_model


def test_local_model_writes_valid_ft_and_text_files(tmp_path: Path) -> None:
    out = tmp_path / "run"
    # The 0.5B model is marked llm_judge=false: the LLM judge is skipped, the deterministic checks run.
    result = run_cli(
        "mode=facts",
        "fact_template=blue_honeyeater",
        "limit=2",
        "model.max_tokens=200",
        f"hydra.run.dir={out}",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    ft, text, records = (read_jsonl(out / name) for name in ("ft.jsonl", "text.jsonl", "records.jsonl"))
    assert 1 <= len(ft) == len(text) == len(records) <= 2
    for row, text_row, record in zip(ft, text, records):
        user, assistant = row["messages"]
        assert (user["role"], assistant["role"]) == ("user", "assistant")
        assert user["content"].strip() and assistant["content"].strip()
        assert text_row == {"text": assistant["content"]} and record["answer"] == assistant["content"]
        assert record["validation"]["inclusion"]["passed"] and "answer_judge" not in record["validation"]
    stats = json.loads((out / "stats.json").read_text())
    assert stats["status"] == "completed" and stats["cost_usd"] == 0.0 and stats["model"] == "local"
    assert stats["requested"] == {"items": 2} and stats["generated"] == 2
    assert stats["kept"] + sum(stats["rejected"].values()) + stats["duplicates_removed"] + stats["failures"] == 2
    assert stats["stages"]["questions"]["calls"] == 2 and "validation" not in stats["stages"]
    assert "skipping the LLM judge" in result.stdout  # Hydra logs to stdout
    assert stats["completion_tokens"] > 0
