"""Durable execution through the CLI: resume after SIGKILL, faults, the budget stop, dry run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from itertools import count
from pathlib import Path

import pytest

from synthgen.models.cache import CallCache
from synthgen.run.directory import _plain, plan_text
from synthgen.run.pipeline import pipeline_class
from tests.cli import read_jsonl, run_cli
from tests.fake_openai import FakeOpenAI, Reply, questions_with_latency
from tests.test_config import compose_settings

DOC = "\n\n".join(
    f"# Topic {i}\n\nTopic {i} is about item number {i}, which weighs {i * 3} kg and costs {i * 7} euros. "
    f"It was first made in {1950 + i} and is still sold in {i + 2} countries today."
    for i in range(6)
)


# A seed whose samples draw every chunk once: this fake answers a repeated prompt alike, a duplicate question.
DISTINCT = "strategy.seed=168"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "topics.md"
    path.write_text(DOC)
    return path


def args(server: FakeOpenAI, source: Path, out: Path, cache: Path, *extra: str) -> list[str]:
    """CLI arguments for a run on the fake server; document modes ask 2 factual questions per chunk (one call)."""
    factual = ["~mode.question_types", "+mode.question_types={factual:1}"]
    # one call per chunk: the round trip, which would follow each question, is off (test_roundtrip covers it)
    questions = (
        [] if "mode=facts" in extra else ["mode.num_queries_per_chunk=2", "mode.roundtrip.enabled=false", *factual]
    )
    return [
        *questions,
        "model=openai_compatible",
        f"model.api_base={server.url}",
        "model.max_concurrency=1",
        "model.backoff_base=0.01",
        "model.backoff_max=0.2",
        f"source={source}",
        "loader.min_chunk_size=10",
        f"cache.path={cache}",
        f"hydra.run.dir={out}",
        *extra,
    ]


def records(out: Path) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    return {
        (d["session_id"], tuple((t["qa_id"], t["query"]) for t in d["conversation"]))
        for d in read_jsonl(out / "datasets.jsonl")
    }


def test_killed_run_resumes_without_repeating_finished_calls(
    fake_openai: FakeOpenAI, corpus: Path, tmp_path: Path
) -> None:
    fake_openai.responder = questions_with_latency(0.3)
    sampled = ("strategy=random", "strategy.num_samples=6", "strategy.chunks_per_sample=1", DISTINCT)
    clean = tmp_path / "clean"
    assert run_cli(*args(fake_openai, corpus, clean, tmp_path / "clean.sqlite", *sampled), cwd=tmp_path).returncode == 0
    total = len(fake_openai.requests)
    assert total == 6

    out, cache = tmp_path / "crashed", tmp_path / "crash.sqlite"
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    process = subprocess.Popen(
        [sys.executable, "-m", "synthgen", *args(fake_openai, corpus, out, cache, *sampled)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while len(fake_openai.requests) < total + 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = len(CallCache(cache, "use"))
    assert 2 <= finished < 6
    before = len(fake_openai.requests)
    assert run_cli(*args(fake_openai, corpus, out, cache, *sampled), cwd=tmp_path).returncode == 0
    assert len(fake_openai.requests) - before == total - finished  # finished calls are not repeated
    assert records(out) == records(clean)
    assert len(read_jsonl(out / "datasets.jsonl")) == 6

    before = len(fake_openai.requests)
    again = tmp_path / "again"
    assert run_cli(*args(fake_openai, corpus, again, cache, *sampled), cwd=tmp_path).returncode == 0
    assert len(fake_openai.requests) == before  # a finished config makes no calls at all
    assert records(again) == records(clean)
    assert json.loads((again / "stats.json").read_text())["cache_hits"] == 6


def test_run_under_injected_faults_accounts_for_every_unit(
    fake_openai: FakeOpenAI, corpus: Path, tmp_path: Path
) -> None:
    good = questions_with_latency(0.0)
    faults = [
        Reply(status=429, body='{"error": {"message": "rate limited"}}', headers={"Retry-After": "0.05"}),
        Reply(status=500, body='{"error": {"message": "internal"}}'),
        Reply(content="", delay=2.0),  # slower than model.timeout: a timeout
        Reply(content='{"questions": ["cut off'),  # malformed JSON, repaired by a re-ask
        Reply(status=200, body='{"id": "chatcmpl-1", "choices": [{"message": {"con'),  # truncated body
    ]
    calls = count()

    def faulty(request: dict) -> Reply:
        n = next(calls)
        return faults[n % len(faults)] if n % 2 == 0 else good(request)

    fake_openai.responder = faulty
    out = tmp_path / "run"
    result = run_cli(
        *args(
            fake_openai,
            corpus,
            out,
            tmp_path / "c.sqlite",
            "model.timeout=1",
            "model.retries=2",
            "model.max_concurrency=4",
        ),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    stats = json.loads((out / "stats.json").read_text())
    failures = read_jsonl(out / "failures.jsonl")
    produced_chunks = {t["agentic"]["chunk_id"] for d in read_jsonl(out / "datasets.jsonl") for t in d["conversation"]}
    failed_chunks = {f["chunk_id"] for f in failures}
    assert len(produced_chunks) + len(failed_chunks) == 6 and not produced_chunks & failed_chunks
    assert stats["failures"] == len(failures)
    assert stats["produced"]["queries"] + stats["shortfall"]["queries"] == stats["requested"]["queries"] == 12
    assert stats["stages"]["questions"]["retries"] > 0


def test_budget_stop_keeps_finished_work_and_exits_distinctly(
    fake_openai: FakeOpenAI, corpus: Path, tmp_path: Path
) -> None:
    fake_openai.responder = questions_with_latency(0.0)
    priced = (
        "model.model=openai/gpt-4.1",
        "strategy=random",
        "strategy.num_samples=4",
        "strategy.chunks_per_sample=1",
        DISTINCT,
        "max_cost_usd=0.0001",
    )
    out, cache = tmp_path / "run", tmp_path / "c.sqlite"
    env = {"OPENAI_API_KEY": "sk-test-not-real"}
    result = run_cli(*args(fake_openai, corpus, out, cache, *priced), cwd=tmp_path, env=env)
    assert result.returncode == 5 and "max_cost_usd" in result.stderr and "Traceback" not in result.stderr
    stats = json.loads((out / "stats.json").read_text())
    assert stats["status"] == "failed" and stats["skipped"] == 2 and stats["cost_usd"] >= 0.0001
    assert len(read_jsonl(out / "datasets.jsonl")) == 2 == len(fake_openai.requests)

    more = (*priced[:-1], "max_cost_usd=1")
    assert run_cli(*args(fake_openai, corpus, out, cache, *more), cwd=tmp_path, env=env).returncode == 0
    assert len(read_jsonl(out / "datasets.jsonl")) == 4 and len(fake_openai.requests) == 4


@pytest.mark.parametrize("mode", [["mode.answers=true"], ["mode=facts", "fact_template=pandas_habitat", "limit=7"]])
def test_dry_run_plans_calls_and_makes_none(
    fake_openai: FakeOpenAI, corpus: Path, tmp_path: Path, mode: list[str]
) -> None:
    out = tmp_path / "run"
    result = run_cli(*args(fake_openai, corpus, out, tmp_path / "c.sqlite", "dry_run=true", *mode), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert fake_openai.requests == []
    table = {line.split()[0]: int(line.split()[1]) for line in result.stdout.splitlines()[1:]}
    if "mode=facts" in mode:
        assert (table["questions"], table["answers"], table["validation"], table["total"]) == (7, 7, 14, 28)
    else:
        assert (table["questions"], table["answers"], table["total"]) == (6, 12, 18)
    assert json.loads((out / "stats.json").read_text())["status"] == "dry_run"
    assert (out / "plan.txt").read_text().strip() == result.stdout.strip()


def test_the_plan_fingerprint_is_the_plan_as_json_dumps_writes_it(tmp_path: Path) -> None:
    """plan_text converts each shared chunk once; its text (so the fingerprint of a run directory) is unchanged."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for number in range(5):
        (corpus / f"doc{number}.md").write_text(f"# Part {number}\n\nPart {number} weighs {number} kg, says «ü».\n")
    settings = compose_settings(f"source={corpus}", "mode=conversation")
    pipeline_type = pipeline_class(settings.mode.pipeline)
    plan = pipeline_type(settings, tmp_path / "run", pipeline_type.stats_type(model="m", mode="q")).plan()
    assert len(plan.units) == 5
    assert plan_text(plan) == json.dumps(plan, sort_keys=True, ensure_ascii=False, default=_plain)
