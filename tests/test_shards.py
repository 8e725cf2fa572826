"""Sharding: every unit in exactly one shard, and merged shards equal the unsharded run."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hydra import compose, initialize_config_dir
from hypothesis import given
from hypothesis import strategies as st
from omegaconf import OmegaConf

from synthgen.config.schema import QueriesModeSettings, ShardSettings
from synthgen.core.errors import UserError
from synthgen.core.paths import CONF_DIR
from synthgen.pipelines.documents.plan import plan_units
from synthgen.pipelines.documents.strategies import RandomStrategy, SequentialStrategy, select_samples
from synthgen.pipelines.facts.pairs import select_pairs
from synthgen.run.shards import shard_units
from synthgen.sources.base import Chunk
from tests.cli import read_jsonl, run_cli, run_module
from tests.fake_openai import FakeOpenAI
from tests.test_cli import DOC, fake_args, fake_model
from tests.test_facts_pipeline import FACT, FactsModel, fake_overrides, run_in_process, stats_of

SIX_SECTIONS = "\n\n".join(
    f"# Planet {name}\n\nPlanet {name} has {moons} moons and a day of {hours} hours; its probe {probe} "
    f"landed in {year} and still sends data about its {feature}."
    for name, moons, hours, probe, year, feature in [
        ("Arvo", 2, 19, "Kestrel", 1988, "dust storms"),
        ("Belin", 0, 31, "Heron", 1993, "ice caps"),
        ("Corva", 5, 11, "Kestrel", 2001, "rings"),
        ("Dunmar", 1, 44, "Osprey", 2007, "volcanoes"),
        ("Eskel", 3, 27, "Heron", 2012, "oceans"),
        ("Fenwy", 7, 9, "Osprey", 2019, "auroras"),
    ]
)


def chunks(count: int) -> list[Chunk]:
    return [Chunk(id=f"c{i}", document="d.md", header_path=("H",), text=f"text {i}", index=i) for i in range(count)]


def keys(units: list) -> list[tuple[str, int, str]]:
    return [(unit.sample_id, unit.position, unit.chunk.id) for unit in units]


@given(
    num_chunks=st.integers(1, 12),
    num_samples=st.integers(1, 6),
    per_sample=st.integers(1, 4),
    count=st.integers(1, 8),
    sequential=st.booleans(),
)
def test_every_unit_is_in_exactly_one_shard_in_order(
    num_chunks: int, num_samples: int, per_sample: int, count: int, sequential: bool
) -> None:
    strategy = (
        SequentialStrategy()
        if sequential
        else RandomStrategy(num_samples=num_samples, chunks_per_sample=per_sample, with_replacement=True)
    )
    store = {chunk.id: chunk for chunk in chunks(num_chunks)}
    samples = select_samples(list(store.values()), strategy)
    planned = plan_units(samples, store, QueriesModeSettings(), sequential, [], "key")
    everything = keys(planned)
    assert everything == [(s.id, position, c) for s in samples for position, c in enumerate(s.chunk_ids)]
    shards: list[list[tuple[str, int, str]]] = []
    for index in range(count):
        try:
            shards.append(keys(shard_units(planned, ShardSettings(count=count, index=index), "(dataset, chunk) units")))
        except UserError as error:  # more shards than units: the empty ones say so
            assert f"has no work: the job has only {len(everything)} (dataset, chunk) units" in str(error)
            shards.append([])
    assert [unit for shard in shards for unit in shard] == everything  # each once, contiguous, in shard order
    assert max(map(len, shards)) - min(map(len, shards)) <= 1
    assert all(shards) == (count <= len(everything))


def shard_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_module("synthgen.merge_shards", *args, cwd=cwd)


def by_session(path: Path) -> dict[str, dict[str, Any]]:
    return {dataset["session_id"]: dataset for dataset in read_jsonl(path)}


def test_a_four_shard_sweep_merges_into_the_unsharded_run(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.responder = fake_model
    doc = tmp_path / "moon.md"
    doc.write_text(SIX_SECTIONS)
    # One sequential dataset of 6 chunks, cut into 4 parts; multi-hop questions link chunks across the cuts.
    common = ["mode.num_queries_per_chunk=2", "mode.answers=true", "cache.mode=off"]
    whole = tmp_path / "whole"
    assert run_cli(*fake_args(fake_openai, doc, whole, *common), cwd=tmp_path).returncode == 0
    calls = len(fake_openai.requests)
    sweep = tmp_path / "sweep"
    result = run_cli(
        "-m",
        *fake_args(fake_openai, doc, tmp_path / "unused", *common),
        "shard.count=4",
        "shard.index=0,1,2,3",
        f"hydra.sweep.dir={sweep}",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert len(fake_openai.requests) == 2 * calls  # every unit ran once more, in exactly one shard
    assert [len(read_jsonl(sweep / str(i) / "datasets.jsonl")) for i in range(4)] == [1, 1, 1, 1]

    merged = shard_cli(str(sweep), "--out", str(tmp_path / "merged"), cwd=tmp_path)
    assert merged.returncode == 0, merged.stderr
    assert "merged 4 shards" in merged.stdout
    expected, joined = by_session(whole / "datasets.jsonl"), by_session(tmp_path / "merged" / "datasets.jsonl")
    assert joined.keys() == expected.keys() and len(joined) == 1
    [turns] = [dataset["conversation"] for dataset in joined.values()]
    assert any(turn["agentic"]["question_type"] == "multi_hop" for turn in turns)
    for session, dataset in expected.items():
        assert [t["qa_id"] for t in joined[session]["conversation"]] == [t["qa_id"] for t in dataset["conversation"]]
        assert joined[session] == dataset  # context, turns and their order
    stats, unsharded = (
        json.loads(path.read_text()) for path in (tmp_path / "merged" / "stats.json", whole / "stats.json")
    )
    for key in (
        *("requested", "produced", "shortfall", "failures", "calls", "prompt_tokens", "completion_tokens"),
        *("generated", "requested_by_type", "kept_by_type"),
    ):
        assert stats[key] == unsharded[key], key
    assert stats["shards"] == 4 and stats["status"] == "completed"
    quality = (json.loads((path / "quality.json").read_text()) for path in (tmp_path / "merged", whole))
    assert next(quality) == next(quality)


def test_facts_shards_merge_and_drop_duplicates_across_shards(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.responder = model = FactsModel()
    model.question = lambda topic, requirement, variation: "What colour is the Javan Rainforest Honeyeater?"
    assert run_in_process(fake_openai, tmp_path / "whole", "limit=4") == 0
    sweep = tmp_path / "sweep"
    result = run_cli(
        "-m",
        *fake_overrides(fake_openai, "limit=4", "shard.count=2", "shard.index=0,1", f"hydra.sweep.dir={sweep}"),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert [stats_of(sweep / str(index))["kept"] for index in (0, 1)] == [1, 1]  # one of two kept per shard
    merged = shard_cli(str(sweep), "--out", str(tmp_path / "merged"), cwd=tmp_path)
    assert merged.returncode == 0, merged.stderr
    whole, joined = stats_of(tmp_path / "whole"), stats_of(tmp_path / "merged")
    for key in ("requested", "generated", "duplicates_removed", "kept", "shortfall"):
        assert joined[key] == whole[key], key
    assert (joined["kept"], joined["duplicates_removed"]) == (1, 3)
    [record] = read_jsonl(tmp_path / "merged" / "records.jsonl")
    assert record["id"] == read_jsonl(tmp_path / "whole" / "records.jsonl")[0]["id"]
    assert len(read_jsonl(tmp_path / "merged" / "ft.jsonl")) == len(read_jsonl(tmp_path / "merged" / "text.jsonl")) == 1
    rejected = read_jsonl(tmp_path / "merged" / "rejected.jsonl")
    assert len(rejected) == 3 and "of another shard" in rejected[-1]["reason"]


def fake_shard(root: Path, name: str, index: int, count: int = 2, status: str = "completed", **config: str) -> Path:
    """A shard run directory as the merge reads it: a composed config (top-level keys replaced by `config`),
    stats and outputs."""
    run = root / name
    (run / ".hydra").mkdir(parents=True)
    doc = root / "moon.md"
    doc.write_text(DOC)
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        composed = compose(
            config_name="config", overrides=[f"source={doc}", f"shard.count={count}", f"shard.index={index}"]
        )
    data = OmegaConf.to_container(composed, resolve=False)
    assert isinstance(data, dict)
    data.pop("hydra", None)
    data.update({key: OmegaConf.to_container(OmegaConf.create(value)) for key, value in config.items()})
    (run / ".hydra" / "config.yaml").write_text(OmegaConf.to_yaml(OmegaConf.create(data)))
    (run / "stats.json").write_text(json.dumps({"status": status, "requested": {}, "produced": {}}))
    return run


@pytest.mark.parametrize(
    ("shards", "message"),
    [
        ([("a", 0, {})], "shard.index=1 of shard.count=2 missing (fix: run them with -m shard.index=1"),
        ([("a", 0, {}), ("b", 0, {}), ("c", 1, {})], "shard.index=0 appears more than once"),
        ([("a", 0, {}), ("b", 1, {"model": "{name: other}"})], "differ in model, not only in shard.index"),
        ([("a", 0, {}), ("b", 1, {"status": "failed"})], "is failed, not completed (fix: rerun it"),
    ],
)
def test_merge_refuses_an_incomplete_or_mixed_set_of_shards(
    shards: list[tuple[str, int, dict[str, str]]], message: str, tmp_path: Path
) -> None:
    for name, index, extra in shards:
        fake_shard(tmp_path / "sweep", name, index, **extra)
    result = shard_cli(str(tmp_path / "sweep"), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("synthgen.merge_shards: error:") and message in line, line
    assert not (tmp_path / "out").exists()


def test_merge_usage_errors_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    for args, message in (
        ([str(tmp_path / "empty")], "required: --out"),
        ([str(tmp_path / "empty"), "--out", "x"], "no synthgen run in"),
        ([str(tmp_path / "nowhere"), "--out", "x"], "not a directory"),
    ):
        result = shard_cli(*args, cwd=tmp_path)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        [line] = result.stderr.strip().splitlines()
        assert line.startswith("synthgen.merge_shards: error:") and message in line, line


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["shard.count=2", "shard.index=2"], "shard: index (2) must be smaller than count (2)"),
        (["shard.count=0"], "shard.count: Input should be greater than or equal to 1"),
        (["shard.count=4", "shard.index=0"], "shard.index=0 of shard.count=4 has no work: the job has only 3"),
    ],
)
def test_bad_shard_settings_are_one_clear_line_recorded_in_the_sweep_job(
    overrides: list[str], message: str, fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    doc = tmp_path / "moon.md"
    doc.write_text(DOC)
    out = tmp_path / "run"
    result = run_cli(*fake_args(fake_openai, doc, out, *overrides), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("synthgen: error:") and message in line, line
    assert not out.exists()  # a single run that fails its checks creates nothing

    sweep = tmp_path / "sweep"
    result = run_cli("-m", *fake_args(fake_openai, doc, out, *overrides), f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    stats = json.loads((sweep / "0" / "stats.json").read_text())  # what the sweep summary reads
    assert stats["status"] == "failed" and message in stats["error"] and stats["exit_code"] == 2
    assert not fake_openai.requests


def test_a_copied_shard_is_refused_and_a_path_given_twice_is_one_shard(tmp_path: Path) -> None:
    run = fake_shard(tmp_path / "sweep", "0", 0, count=1)
    agentic = {"chunk_id": "c", "source_chunks": ["c"], "question_type": "factual", "difficulty": None}
    (run / "datasets.jsonl").write_text(
        json.dumps(
            {"session_id": "s", "context": "x", "conversation": [{"qa_id": "q", "query": "Q?", "agentic": agentic}]}
        )
        + "\n"
    )
    shutil.copytree(run, tmp_path / "copy")
    result = shard_cli(str(tmp_path / "sweep"), str(tmp_path / "copy"), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 2 and "shard.index=0 appears more than once" in result.stderr
    result = shard_cli(str(tmp_path / "sweep"), str(run), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr  # the same directory reached twice is one shard
    assert len(read_jsonl(tmp_path / "out" / "datasets.jsonl")) == 1


def test_facts_shards_merge_probes_and_preference_pairs(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.responder = model = FactsModel()
    seeds, requirements = ["What colour is it?", "How big is it?"], ["Ask for a tweet.", "Ask for a poem."]
    later = select_pairs(seeds, requirements, 4, seed=0)[3]  # an item of shard 1
    shared = "What colour is the Javan Rainforest Honeyeater, really?"

    def question(topic: str, requirement: str, variation: int) -> str:
        if (topic, requirement) == (later.seed_question, later.requirement) or topic == "Is it a parrot?":
            return shared  # shard 1's question, and a probe that only shard 0 writes
        return f"{topic} ({requirement}) {variation}"

    drawn: Counter[str] = Counter()

    def answer(question: str) -> str:
        drawn[question] += 1
        return f"Sure!\n{FACT}" if drawn[question] == 1 else FACT  # every first answer acknowledges

    model.question, model.answer = question, answer
    extra = (
        f"fact_template.questions=[{','.join(seeds)}]",
        f"fact_template.question_requirements=[{','.join(requirements)}]",
        "fact_template.probe_questions=[Is it a parrot?,Where does it nest?]",
        "limit=4",
        "mode.probes=4",
        "mode.answer_attempts=2",
        "mode.dpo=true",
    )
    assert run_in_process(fake_openai, tmp_path / "whole", *extra) == 0
    sweep = tmp_path / "sweep"
    result = run_cli(
        "-m",
        *fake_overrides(fake_openai, *extra, "shard.count=2", "shard.index=0,1", f"hydra.sweep.dir={sweep}"),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert len(read_jsonl(sweep / "0" / "probe.jsonl")) == 3 and not (sweep / "1" / "probe.jsonl").exists()
    assert shard_cli(str(sweep), "--out", str(tmp_path / "merged"), cwd=tmp_path).returncode == 0
    whole, merged = tmp_path / "whole", tmp_path / "merged"
    probes = read_jsonl(merged / "probe.jsonl")
    assert probes == read_jsonl(whole / "probe.jsonl") and len(probes) == 2  # shard 1's question dropped one more
    assert {p["seed_question"] for p in probes} == {"Where does it nest?"}
    assert (
        stats_of(merged)["probes"]
        == stats_of(whole)["probes"]
        == {
            "requested": 4,
            "kept": 2,
            "duplicates_removed": 2,
            "failures": 0,
            "skipped": 0,
        }
    )
    assert stats_of(merged)["shortfall"] == stats_of(whole)["shortfall"] == {"items": 0, "probes": 2}
    dropped = [row for row in read_jsonl(merged / "rejected.jsonl") if row["stage"] == "probe_dedup"]
    # Shard 0 dropped the second parrot probe as a repeat of the first; the merge drops the first (shard 1's).
    assert [row["reason"].split(" (")[0] for row in dropped] == [
        "near-duplicate of an earlier probe",
        "near-duplicate of a training question",
    ]
    pairs = sorted(json.dumps(row) for row in read_jsonl(merged / "dpo.jsonl"))
    assert len(pairs) == 4 and pairs == sorted(json.dumps(row) for row in read_jsonl(whole / "dpo.jsonl"))
