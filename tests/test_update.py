"""Update runs (`baseline=OLD_RUN`): a document set edited in every way that matters, item by item, end to end over
the real Hydra compose and litellm path against the scripted fake server (tests.fake_documents.DocumentModel)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hydra import compose, initialize_config_dir

from synthgen.core.paths import CONF_DIR
from synthgen.outputs.decisions import DecisionStore, load_decisions
from synthgen.run.runner import run_job
from tests.cli import read_jsonl, run_cli, run_module
from tests.fake_documents import DocumentModel
from tests.fake_openai import FakeOpenAI, excerpts_of
from tests.test_cli import fake_args
from tests.test_report import needs_chromium, open_in_chromium, visible_text

CHARGING = (
    "## Charging\n\nCharge the battery to eighty percent for the longest service life of its cells.\n"
    "Never leave the charger connected overnight in a hot room.\n"
)
CHARGING_EDITED = CHARGING.replace("eighty percent for the longest", "ninety percent, never more, for a long")
STORAGE = (
    "## Storage\n\nStore the battery in a dry place between ten and twenty five degrees Celsius.\n"
    "Check the charge levle of a stored battery once every three months.\n"
)
STORAGE_FIXED = STORAGE.replace("levle", "level")  # a typo outside the quoted (longest) line
CLEANING = (
    "## Cleaning\n\nWipe the contacts with a dry cotton cloth before you connect a new battery pack.\n"
    "Do not use water or solvents on the contacts.\n"
)
RECYCLING = (  # the quoted (longest) line holds markup a page must show as text
    "## Recycling\n\nTake spent batteries to a recycling point <script>alert('gone')</script>, never to the bins.\n"
    "Tape over the terminals of a spent battery.\n"
)
TRANSPORT = (
    "## Transport\n\nCarry a spare battery in its original case, with the terminals covered by the lid.\n"
    "Airlines limit the capacity of batteries in hand luggage.\n"
)
WARRANTY = (
    "# FAQ\n\n## Warranty\n\nThe warranty covers manufacturing defects for two full years from the date of purchase.\n"
    "Keep the receipt as proof of purchase.\n"
)


def write_docs(root: Path, files: dict[str, str]) -> Path:
    if root.exists():
        for old in root.iterdir():
            old.unlink()
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).write_text(text)
    return root


def version_one(root: Path) -> Path:
    return write_docs(
        root, {"guide.md": "# Battery guide\n\n" + CHARGING + STORAGE + CLEANING + RECYCLING, "faq.md": WARRANTY}
    )


def version_two(root: Path) -> Path:
    """Every edit at once: a quoted sentence changed (charging), a section deleted (recycling), one added
    (transport), one moved (cleaning, now before storage), a typo fixed outside any quote (storage), a file
    renamed (faq.md to warranty.md)."""
    guide = "# Battery guide\n\n" + CHARGING_EDITED + CLEANING + STORAGE_FIXED + TRANSPORT
    return write_docs(root, {"guide.md": guide, "warranty.md": WARRANTY})


@pytest.fixture
def model(fake_openai: FakeOpenAI) -> DocumentModel:
    scripted = DocumentModel()
    fake_openai.responder = scripted
    return scripted


def run(server: FakeOpenAI, docs: Path, out: Path, *extra: str) -> int:
    overrides = [
        "model=openai_compatible",
        f"model.api_base={server.url}",
        "model.retries=0",
        f"source={docs}",
        "loader.min_chunk_size=50",
        "~mode.question_types",
        "+mode.question_types={factual:1}",
        "mode.answers=true",
        "mode.roundtrip.enabled=false",  # the calls counted here are questions and answers
        *([] if "mode=conversation" in extra else ["mode.num_queries_per_chunk=2"]),
        *extra,
    ]
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides)
    return run_job(cfg, out)


def turns(out: Path) -> list[dict[str, Any]]:
    return [turn for dataset in read_jsonl(out / "datasets.jsonl") for turn in dataset["conversation"]]


def by_section(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row["agentic"]["header_path"].split(" > ")[-1], []).append(row)
    return grouped


def chunk_texts(out: Path) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in read_jsonl(out / "chunks.jsonl")}


def test_an_update_keeps_what_holds_retires_what_does_not_and_covers_what_is_new(
    fake_openai: FakeOpenAI, model: DocumentModel, tmp_path: Path
) -> None:
    docs = version_one(tmp_path / "docs")
    assert run(fake_openai, docs, tmp_path / "v1") == 0
    old = by_section(turns(tmp_path / "v1"))
    assert {name: len(items) for name, items in old.items()} == dict.fromkeys(
        ["Charging", "Storage", "Cleaning", "Recycling", "Warranty"], 2
    )
    version_two(docs)
    before = len(fake_openai.requests)
    assert run(fake_openai, docs, tmp_path / "v2", f"baseline={tmp_path / 'v1'}") == 0
    out = tmp_path / "v2"
    new = by_section(turns(out))
    chunks = chunk_texts(out)

    # kept: the moved section, the section with a typo fixed outside its quote, the renamed file
    for section, document in (("Cleaning", "guide.md"), ("Storage", "guide.md"), ("Warranty", "warranty.md")):
        assert [t["qa_id"] for t in new[section]] == [t["qa_id"] for t in old[section]]
        for kept, was in zip(new[section], old[section]):
            assert (kept["query"], kept["ground_truth_assistant"]) == (was["query"], was["ground_truth_assistant"])
            agentic = kept["agentic"]
            assert agentic["document"] == document and chunks[agentic["chunk_id"]]["header_path"][-1] == section
            assert agentic["source_chunks"] == [agentic["chunk_id"]]
            for evidence in agentic["evidence"] + agentic["answer_evidence"]:
                assert evidence["chunk_id"] == agentic["chunk_id"] and evidence["score"] == 1.0
                assert evidence["quote"] in chunks[agentic["chunk_id"]]["text"]
            assert agentic["checks"][-1] == "baseline_evidence_check"
    assert new["Cleaning"][0]["agentic"]["chunk_index"] == 1 != old["Cleaning"][0]["agentic"]["chunk_index"]
    # retired, with their reason and passages: the changed quote (old and new text), the deleted section
    retired = {row["qa_id"]: row for row in read_jsonl(out / "retired.jsonl")}
    assert set(retired) == {t["qa_id"] for t in old["Charging"] + old["Recycling"]}
    for turn in old["Charging"]:
        [passage] = retired[turn["qa_id"]]["passages"]
        assert retired[turn["qa_id"]]["reason"] == "evidence_changed"
        assert passage["old"] == turn["agentic"]["evidence"][0]["quote"]
        assert (
            passage["new"] == "Charge the battery to ninety percent, never more, for a long service life of its cells."
        )
    for turn in old["Recycling"]:
        assert retired[turn["qa_id"]]["reason"] == "evidence_removed"
        assert retired[turn["qa_id"]]["passages"][0]["new"] is None
    # new: the changed and the added sections get new items, as many as the config asks for
    old_ids = {t["qa_id"] for items in old.values() for t in items}
    assert {name: len(items) for name, items in new.items()} == dict.fromkeys(
        ["Charging", "Cleaning", "Storage", "Transport", "Warranty"], 2
    )
    for section in ("Charging", "Transport"):
        assert not {t["qa_id"] for t in new[section]} & old_ids
    quality = json.loads((out / "quality.json").read_text())
    assert (quality["kept"], quality["requested"], quality["coverage"]) == (10, 10, 1.0)

    # the model was asked only about the changed and the added sections: one question call and two answers each
    calls = [request["messages"][-1]["content"] for request in fake_openai.requests[before:]]
    assert len(calls) == 6
    asked = Counter(name for call in calls for excerpt in excerpts_of(call) for name in new if f"## {name}" in excerpt)
    assert asked == {"Charging": 3, "Transport": 3}
    stats = json.loads((out / "stats.json").read_text())
    assert stats["calls"] == 6 and stats["produced"]["queries"] == 10

    changes = json.loads((out / "changes.json").read_text())
    assert (changes["kept"], changes["retired"], changes["new"]) == (6, 4, 4)
    assert changes["retired_by_reason"] == {"evidence_changed": 2, "evidence_removed": 2}
    guide, warranty = changes["documents"]
    assert guide == {
        "document": "guide.md", "kept": 4, "retired": 4, "new": 4, "chunks_added": 1, "chunks_changed": 2,
        "chunks_moved": 0, "chunks_unchanged": 1, "chunks_removed": 1,
    }  # fmt: skip
    assert (warranty["document"], warranty["kept"], warranty["chunks_moved"]) == ("warranty.md", 2, 1)


def test_a_sharded_update_merges_into_the_unsharded_update(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.responder = DocumentModel()
    docs = version_one(tmp_path / "docs")
    common = [
        *("~mode.question_types", "+mode.question_types={factual:1}", "mode.num_queries_per_chunk=2"),
        *("mode.answers=true", "cache.mode=off", "mode.roundtrip.enabled=false"),
    ]
    v1 = tmp_path / "v1"
    assert run_cli(*fake_args(fake_openai, docs, v1, *common), cwd=tmp_path).returncode == 0
    version_two(docs)
    whole = tmp_path / "whole"
    update = [*common, f"baseline={v1}"]
    result = run_cli(*fake_args(fake_openai, docs, whole, *update), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    calls = len(fake_openai.requests)
    sweep = tmp_path / "sweep"
    result = run_cli(
        "-m", *fake_args(fake_openai, docs, tmp_path / "unused", *update), "shard.count=2", "shard.index=0,1",
        f"hydra.sweep.dir={sweep}", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert len(fake_openai.requests) - calls == 6  # the shards together asked what the unsharded update asked
    merged = run_module("synthgen.merge_shards", str(sweep), "--out", str(tmp_path / "merged"), cwd=tmp_path)
    assert merged.returncode == 0, merged.stderr
    for name in ("datasets.jsonl", "retired.jsonl", "chunks.jsonl"):
        assert read_jsonl(tmp_path / "merged" / name) == read_jsonl(whole / name), name
    changes = [json.loads((path / "changes.json").read_text()) for path in (tmp_path / "merged", whole)]
    assert changes[0] == changes[1] and changes[0]["kept"] == 6
    # the merged directory is itself a baseline: nothing changed, nothing is asked
    again = tmp_path / "again"
    result = run_cli(*fake_args(fake_openai, docs, again, *common, f"baseline={tmp_path / 'merged'}"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(fake_openai.requests) - calls == 6
    assert [t["qa_id"] for t in turns(again)] == [t["qa_id"] for t in turns(whole)]
    assert json.loads((again / "changes.json").read_text())["new"] == 0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["model.model=openai/another-model"], "model.model 'openai/fake-model' → 'openai/another-model'"),
        (
            ["+mode.question_types.reasoning=1"],
            "mode.question_types {'factual': 1.0} → {'factual': 0.5, 'reasoning': 0.5}",
        ),
        (["mode.answers=false"], "mode.answers True → False"),
        (["mode=conversation"], "mode.kind 'queries' → 'conversation'"),
    ],
)
def test_a_baseline_made_another_way_is_refused_in_one_line(
    fake_openai: FakeOpenAI,
    model: DocumentModel,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    overrides: list[str],
    message: str,
) -> None:
    docs = version_one(tmp_path / "docs")
    assert run(fake_openai, docs, tmp_path / "v1", "model.model=openai/fake-model") == 0
    capsys.readouterr()
    calls = len(fake_openai.requests)
    out = tmp_path / "v2"
    assert run(fake_openai, docs, out, "model.model=openai/fake-model", f"baseline={tmp_path / 'v1'}", *overrides) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"synthgen: error: baseline={tmp_path / 'v1'} was made with another ") and message in line
    assert "(fix: set these as the baseline had them, or drop baseline= to generate a new set)" in line
    assert len(fake_openai.requests) == calls and not out.exists()  # refused before any call or any file


def test_a_missing_or_foreign_baseline_is_one_line(
    fake_openai: FakeOpenAI, model: DocumentModel, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = version_one(tmp_path / "docs")
    assert run(fake_openai, docs, tmp_path / "v2", f"baseline={tmp_path / 'nowhere'}") == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line == (
        f"synthgen: error: baseline={tmp_path / 'nowhere'}: no such directory "
        "(fix: set baseline= to the directory of a finished document run)"
    )
    (tmp_path / "empty").mkdir()
    assert run(fake_openai, docs, tmp_path / "v3", f"baseline={tmp_path / 'empty'}") == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.endswith("holds no datasets.jsonl (fix: set baseline= to the directory of a finished document run)")
    assert not fake_openai.requests


def test_a_conversation_keeps_its_turns_up_to_the_first_one_retired(
    fake_openai: FakeOpenAI, model: DocumentModel, tmp_path: Path
) -> None:
    def second_line_for_later_turns(prompt: str, questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        lines = [line for line in excerpts_of(prompt)[0].splitlines() if line and not line.startswith("#")]
        return [
            {**q, "quotes": [lines[-1]]} if i or "conversation so far" in prompt else q for i, q in enumerate(questions)
        ]

    model.edit = second_line_for_later_turns
    docs = version_one(tmp_path / "docs")
    conversation = ("mode=conversation", "mode.num_turns=2", "mode.evidence.cite=text")  # quotes it spoils
    assert run(fake_openai, docs, tmp_path / "v1", *conversation) == 0
    old = by_section(turns(tmp_path / "v1"))
    version_two(docs)
    before = len(fake_openai.requests)
    assert run(fake_openai, docs, tmp_path / "v2", *conversation, f"baseline={tmp_path / 'v1'}") == 0
    new = by_section(turns(tmp_path / "v2"))
    retired = {row["qa_id"]: row["reason"] for row in read_jsonl(tmp_path / "v2" / "retired.jsonl")}
    first, second = old["Charging"]
    assert retired[first["qa_id"]] == "evidence_changed" and retired[second["qa_id"]] == "after_retired_turn"
    assert [retired[t["qa_id"]] for t in old["Recycling"]] == ["evidence_removed", "after_retired_turn"]
    for section in ("Cleaning", "Warranty"):
        assert [t["qa_id"] for t in new[section]] == [t["qa_id"] for t in old[section]]
        assert [t["agentic"]["builds_on"] for t in new[section]] == [None, old[section][0]["qa_id"]]
    # storage's second turn quotes the line whose typo was fixed: the first turn is kept, the second written anew
    kept, rewritten = new["Storage"]
    assert kept["qa_id"] == old["Storage"][0]["qa_id"] and retired[old["Storage"][1]["qa_id"]] == "evidence_changed"
    assert rewritten["qa_id"] != old["Storage"][1]["qa_id"] and rewritten["agentic"]["builds_on"] == kept["qa_id"]
    prompts = [r["messages"][-1]["content"] for r in fake_openai.requests[before:]]
    [storage_call] = [p for p in prompts if "You write" in p and "conversation so far" in p]
    assert kept["query"] in storage_call and "## Storage" in storage_call  # the new turn continues the kept one
    assert len(new["Charging"]) == len(new["Transport"]) == 2
    assert not {t["qa_id"] for t in new["Charging"]} & {first["qa_id"], second["qa_id"]}
    # one question call and an answer per turn: charging and transport 2 turns each, storage 1
    assert len(fake_openai.requests) - before == 3 + 3 + 2


@needs_chromium
def test_the_report_shows_the_changes_and_the_retired_passages_as_text(
    fake_openai: FakeOpenAI, model: DocumentModel, tmp_path: Path
) -> None:
    docs = version_one(tmp_path / "docs")
    assert run(fake_openai, docs, tmp_path / "v1") == 0
    version_two(docs)
    assert run(fake_openai, docs, tmp_path / "v2", f"baseline={tmp_path / 'v1'}") == 0

    dom, console = open_in_chromium(tmp_path / "v2" / "report.html", tmp_path / "profile")

    assert console == [] and "<script" not in dom.replace("&lt;script", "")
    text = visible_text(dom)
    assert "Changes since the baseline" in text
    summary = "retired 4 (evidence_changed 2, evidence_removed 2), 4 new"
    assert f"kept 6 items (their ids, answers and review decisions), {summary}" in text
    assert "guide.md 4 4 4 1 2 0 1 1" in text and "warranty.md 2 0 0 0 0 1 0 0" in text
    assert "was: Charge the battery to eighty percent for the longest service life of its cells." in text
    assert "now: Charge the battery to ninety percent, never more, for a long service life of its cells." in text
    assert "was: Take spent batteries to a recycling point <script>alert('gone')</script>, never to the bins." in text
    assert "now: nothing close in the documents" in text


def test_the_dry_run_of_an_update_counts_only_the_slots_left(
    fake_openai: FakeOpenAI, model: DocumentModel, tmp_path: Path
) -> None:
    docs = version_one(tmp_path / "docs")
    assert run(fake_openai, docs, tmp_path / "v1") == 0
    full = tmp_path / "full"
    assert run(fake_openai, docs, full, "dry_run=true") == 0
    version_two(docs)
    update = tmp_path / "update"
    assert run(fake_openai, docs, update, "dry_run=true", f"baseline={tmp_path / 'v1'}") == 0

    def calls(out: Path) -> dict[str, int]:
        rows = [line.split() for line in (out / "plan.txt").read_text().splitlines()[1:] if line.split()]
        return {row[0]: int(row[1]) for row in rows if row[1].isdigit()}

    assert calls(full) == {"questions": 5, "answers": 10, "total": 15}
    assert calls(update) == {"questions": 2, "answers": 4, "total": 6}  # what the real update asks (see above)


def test_an_item_without_quotes_follows_its_chunk(
    fake_openai: FakeOpenAI, model: DocumentModel, tmp_path: Path
) -> None:
    docs = version_one(tmp_path / "docs")
    mix = ("~mode.question_types", "+mode.question_types={factual:1,out_of_scope:1}")
    assert run(fake_openai, docs, tmp_path / "v1", *mix) == 0
    old = {
        name: next(t for t in items if t["agentic"]["question_type"] == "out_of_scope")
        for name, items in by_section(turns(tmp_path / "v1")).items()
    }
    assert all(turn["agentic"]["evidence"] == [] for turn in old.values())
    version_two(docs)
    assert run(fake_openai, docs, tmp_path / "v2", *mix, f"baseline={tmp_path / 'v1'}") == 0
    kept = {t["qa_id"]: t for t in turns(tmp_path / "v2")}
    retired = {row["qa_id"]: row["reason"] for row in read_jsonl(tmp_path / "v2" / "retired.jsonl")}
    # unchanged text (moved within its file, or its file renamed): kept, pointing at the chunk's new place
    assert kept[old["Cleaning"]["qa_id"]]["agentic"]["header_path"] == "Battery guide > Cleaning"
    assert kept[old["Warranty"]["qa_id"]]["agentic"]["document"] == "warranty.md"
    # any edit to the chunk (even a typo fixed) may now answer it: retired; a deleted chunk: removed
    assert retired[old["Storage"]["qa_id"]] == retired[old["Charging"]["qa_id"]] == "evidence_changed"
    assert retired[old["Recycling"]["qa_id"]] == "evidence_removed"


def test_new_items_never_take_the_id_of_a_retired_one(
    fake_openai: FakeOpenAI, model: DocumentModel, tmp_path: Path
) -> None:
    docs = write_docs(tmp_path / "docs", {"guide.md": "# Battery guide\n\n" + CHARGING + STORAGE})
    assert run(fake_openai, docs, tmp_path / "v1") == 0
    write_docs(docs, {"guide.md": "# Battery guide\n\n" + CHARGING_EDITED + STORAGE})  # same chunks, same ids
    assert run(fake_openai, docs, tmp_path / "v2", f"baseline={tmp_path / 'v1'}") == 0
    old, new = by_section(turns(tmp_path / "v1")), by_section(turns(tmp_path / "v2"))
    assert [t["qa_id"] for t in new["Storage"]] == [t["qa_id"] for t in old["Storage"]]
    retired = {row["qa_id"] for row in read_jsonl(tmp_path / "v2" / "retired.jsonl")}
    assert retired == {t["qa_id"] for t in old["Charging"]}
    assert len(new["Charging"]) == 2 and not retired & {t["qa_id"] for t in new["Charging"]}
    changes = json.loads((tmp_path / "v2" / "changes.json").read_text())
    assert (changes["kept"], changes["retired"], changes["new"]) == (2, 2, 2)


def test_a_sweep_updates_every_job_and_records_the_refused_one(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.responder = DocumentModel()
    docs = version_one(tmp_path / "docs")
    common = [
        *("~mode.question_types", "+mode.question_types={factual:1}", "mode.answers=true"),
        *("model.model=openai/fake-model", "mode.roundtrip.enabled=false"),
    ]
    v1 = tmp_path / "v1"
    assert (
        run_cli(*fake_args(fake_openai, docs, v1, *common, "mode.num_queries_per_chunk=2"), cwd=tmp_path).returncode
        == 0
    )
    version_two(docs)
    sweep = tmp_path / "sweep"
    result = run_cli(
        "-m", *fake_args(fake_openai, docs, tmp_path / "unused", *common, f"baseline={v1}"),
        "mode.num_queries_per_chunk=2,3", "model.model=openai/fake-model,openai/other-model",
        f"hydra.sweep.dir={sweep}", cwd=tmp_path,
    )  # fmt: skip
    jobs = {}
    for job in sorted(sweep.glob("[0-9]*")):
        overrides = (job / ".hydra" / "overrides.yaml").read_text()
        jobs[("3" in overrides.split("num_queries_per_chunk=")[1][:1], "other" in overrides)] = job
    assert len(jobs) == 4 and result.returncode != 0  # the refused jobs make the sweep fail, after every job ran
    for more, other in jobs:
        stats = json.loads((jobs[more, other] / "stats.json").read_text())
        if other:
            assert stats["status"] == "failed" and "was made with another model.model" in stats["error"]
            continue
        changes = json.loads((jobs[more, other] / "changes.json").read_text())
        assert (changes["kept"], changes["retired"]) == (6, 4)
        assert changes["new"] == (3 + 3 + 3 if more else 2 + 2)  # charging and transport in full, a third slot each


def test_review_decisions_are_carried_and_a_rejected_item_stays_rejected(
    fake_openai: FakeOpenAI, model: DocumentModel, tmp_path: Path
) -> None:
    docs = version_one(tmp_path / "docs")
    assert run(fake_openai, docs, tmp_path / "v1") == 0
    old = by_section(turns(tmp_path / "v1"))
    rejected, accepted, gone = old["Storage"][0], old["Warranty"][1], old["Recycling"][0]
    store = DecisionStore(tmp_path / "v1")
    store.save(rejected["qa_id"], "ana", "rejected", expected_version=0, reason="vague", note="too broad")
    store.save(accepted["qa_id"], "ana", "accepted", expected_version=0)
    store.save(gone["qa_id"], "ana", "accepted", expected_version=0)
    store.close()
    version_two(docs)
    before = len(fake_openai.requests)
    assert run(fake_openai, docs, tmp_path / "v2", f"baseline={tmp_path / 'v1'}") == 0
    carried = load_decisions(tmp_path / "v2")
    assert set(carried) == {rejected["qa_id"], accepted["qa_id"]}  # the retired item's decision stays behind
    assert (carried[rejected["qa_id"]].verdict, carried[rejected["qa_id"]].reason) == ("rejected", "vague")
    assert carried[rejected["qa_id"]].note == "too broad" and carried[accepted["qa_id"]].verdict == "accepted"
    # the rejected item is still in its slot: its chunk is not asked again
    assert [t["qa_id"] for t in by_section(turns(tmp_path / "v2"))["Storage"]] == [t["qa_id"] for t in old["Storage"]]
    prompts = [r["messages"][-1]["content"] for r in fake_openai.requests[before:]]
    assert not any("## Storage" in excerpt for p in prompts for excerpt in excerpts_of(p))
    assert json.loads((tmp_path / "v2" / "changes.json").read_text())["kept_rejected_in_review"] == 1
