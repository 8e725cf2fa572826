"""A sweep of trials over mode.context=none,reference (a panel of one) writes calibration.jsonl with planted
suspect and trivial items; `synthgen.export --drop` leaves them out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.cli import read_jsonl, run_cli, run_module
from tests.fake_assistant import dataset, turn, write_source
from tests.fake_openai import FakeOpenAI, Reply, last_user_text

# trivial: right without context; suspect: wrong even with it; reading: right only with the reference context.
ITEMS = {"trivial": "Paris.", "suspect": "Paris.", "reading": "Paris."}


def panel_assistant(request: dict[str, Any]) -> Reply:
    question = last_user_text(request)
    with_context = request["messages"][0]["role"] == "system"
    if "trivial" in question or ("reading" in question and with_context):
        return Reply(content="Paris.")
    return Reply(content="Lyon.")


def test_a_panel_of_one_over_both_contexts_flags_suspect_and_trivial_items(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    fake_openai.responder = panel_assistant
    run_dir = tmp_path / "set"
    run_dir.mkdir()
    records = [dataset(f"s-{name}", turn(name, f"The {name} question?", ref)) for name, ref in ITEMS.items()]
    write_source(run_dir / "datasets.jsonl", records)
    sweep = tmp_path / "sweep"
    result = run_cli(
        "-m",
        "mode=trial",
        f"source={run_dir}",
        "mode.judge.enabled=false",
        "model=openai_compatible",
        f"model.api_base={fake_openai.url}",
        "mode.context=none,reference",
        f"hydra.sweep.dir={sweep}",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    rows = {row["qa_id"]: row for row in read_jsonl(sweep / "calibration.jsonl")}
    assert {qa: (row["suspect"], row["trivial"]) for qa, row in rows.items()} == {
        "trivial": (False, True),
        "suspect": (True, False),
        "reading": (False, False),
    }
    assert rows["reading"]["correct_with_reference"] == 1.0 and rows["reading"]["correct_without_context"] == 0.0
    assert rows["suspect"]["empirical_difficulty"] == "hard" and rows["trivial"]["empirical_difficulty"] == "easy"
    summary = (sweep / "summary.md").read_text()
    assert "## Trial: assistants compared" in summary and "suspect (no assistant correct" in summary
    assert "openai_compatible | none" in summary and "openai_compatible | reference" in summary

    exported = run_module(
        "synthgen.export",
        str(run_dir),
        "--to",
        "openai",
        "--drop",
        "suspect,trivial",
        "--calibration",
        str(sweep / "calibration.jsonl"),
        cwd=tmp_path,
    )
    assert exported.returncode == 0, exported.stderr
    kept = read_jsonl(run_dir / "export" / "calibrated" / "datasets.jsonl")
    assert [t["qa_id"] for d in kept for t in d["conversation"]] == ["reading"]
    assert "(2 flagged items dropped)" in exported.stdout


def test_drop_without_a_calibration_file_is_one_line(tmp_path: Path) -> None:
    run_dir = tmp_path / "set"
    run_dir.mkdir()
    write_source(run_dir / "datasets.jsonl", [dataset("s", turn("q", "Q?", "A."))])
    result = run_module("synthgen.export", str(run_dir), "--to", "openai", "--drop", "suspect", cwd=tmp_path)
    assert result.returncode != 0
    [line] = result.stderr.strip().splitlines()
    assert "no calibration file" in line and "fix:" in line
