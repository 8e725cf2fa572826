"""ModelClient with its adaptive limit, structured-output dialects and batch transport, through real litellm calls
against the fake servers on 127.0.0.1 (and, for batches, whole CLI runs)."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from synthgen.core.errors import UserError
from synthgen.models.cache import CallCache
from synthgen.models.client import ModelClient
from synthgen.models.providers.base import LiteLLMModel
from synthgen.run.stats import RunStats
from tests.cli import read_jsonl, run_cli
from tests.fake_batch_server import FakeBatchServer, document_replies
from tests.fake_dialect_servers import DialectServer
from tests.fake_limited_server import ConcurrencyLimitedServer
from tests.fake_openai import FakeOpenAI, Reply

pytestmark = pytest.mark.filterwarnings("ignore:coroutine 'OpenAI(Files|Batches)API.* was never awaited:RuntimeWarning")
ASK = [{"role": "user", "content": "What is the capital of France?"}]


class Answer(BaseModel):
    answer: str
    confidence: float


def settings(url: str, **overrides: Any) -> LiteLLMModel:
    fields = {"name": "fake", "model": "openai/qwen", "api_base": url, "api_key_env": "FAKE_KEY", "timeout": 10}
    return LiteLLMModel(**{**fields, "backoff_base": 0.01, "backoff_max": 0.05, **overrides})


def test_adaptive_limit_serves_every_call_from_a_server_with_fewer_slots() -> None:
    server = ConcurrencyLimitedServer(slots=3, latency=0.05).start()
    stats = RunStats(model="fake", mode="queries")
    client = ModelClient(settings(server.url, max_concurrency=16), stats)

    async def run() -> list[str]:
        return await asyncio.gather(
            *(client.text([{"role": "user", "content": f"q{i}"}], stage="a") for i in range(60))
        )

    try:
        replies = asyncio.run(run())
    finally:
        server.stop()
    assert sorted(json.loads(r)["echo"] for r in replies) == sorted(f"q{i}" for i in range(60))
    counters = stats.stage("a")
    assert server.served == 60 and counters.calls == 60
    assert server.rejected > 0 and counters.cuts >= 1 and 1 <= counters.allowed <= 16
    assert counters.retries == server.rejected  # each 429 retried (paced by the limit), none lost


def test_fixed_bound_without_adaptive_never_cuts() -> None:
    server = ConcurrencyLimitedServer(slots=4, latency=0.02).start()
    stats = RunStats(model="fake", mode="queries")
    client = ModelClient(settings(server.url, max_concurrency=4, adaptive=False), stats)

    async def run() -> list[str]:
        return await asyncio.gather(
            *(client.text([{"role": "user", "content": f"q{i}"}], stage="a") for i in range(20))
        )

    try:
        asyncio.run(run())
    finally:
        server.stop()
    assert server.rejected == 0 and stats.stage("a").cuts == 0 and stats.stage("a").allowed == 4


def test_auto_settles_on_llama_cpp_once_and_a_rerun_replays_without_negotiating(tmp_path: Path) -> None:
    server = DialectServer("llama_cpp_python").start()
    cache = CallCache(tmp_path / "calls.sqlite", "use")

    async def run(client: ModelClient) -> list[Answer]:
        first = await client.structured(ASK, Answer, stage="q")
        rest = await asyncio.gather(*(client.structured(ASK, Answer, stage="q", draw=i) for i in range(1, 5)))
        return [first, *rest]

    try:
        stats = RunStats(model="fake", mode="queries")
        answers = asyncio.run(run(ModelClient(settings(server.url, structured_output="auto"), stats, cache)))
        sent = len(server.bodies)
        again = RunStats(model="fake", mode="queries")
        asyncio.run(run(ModelClient(settings(server.url, structured_output="auto"), again, cache)))
    finally:
        server.stop()
        cache.close()
    assert [a.answer for a in answers] == ["Paris"] * 5
    assert server.refused == 1 and sent == 6  # one refused json_schema try for the whole run
    assert stats.stage("q").retries == 0 and stats.stage("q").calls == 5
    assert server.bodies[-1]["response_format"]["type"] == "json_object"
    assert server.bodies[-1]["response_format"]["schema"]["properties"]["answer"]["type"] == "string"
    assert len(server.bodies) == sent and again.stage("q").cache_hits == 5  # the rerun asked nothing


def test_prompt_mode_shows_an_example_object_not_the_schema() -> None:
    server = DialectServer("openai").start()
    try:
        asyncio.run(
            ModelClient(settings(server.url, structured_output="prompt"), RunStats(model="f", mode="q")).structured(
                ASK, Answer, stage="q"
            )
        )
    finally:
        server.stop()
    text = server.bodies[0]["messages"][-1]["content"]
    assert '{"answer": "...", "confidence": 0.0}' in text and "properties" not in text
    assert "response_format" not in server.bodies[0]


@pytest.mark.parametrize("status", [400, 500])
def test_a_request_validation_error_is_not_retried(fake_openai: FakeOpenAI, status: int) -> None:
    message = "1 validation error: messages.0.content Input should be a valid string"
    fake_openai.responder = lambda request: Reply(status=status, body=json.dumps({"error": {"message": message}}))
    stats = RunStats(model="fake", mode="queries")
    with pytest.raises(Exception, match="Input should be"):
        asyncio.run(ModelClient(settings(fake_openai.url), stats).text(ASK, stage="a"))
    assert len(fake_openai.requests) == 1 and stats.stage("a").retries == 0


def test_batch_mode_needs_a_provider_with_a_batch_api(tmp_path: Path) -> None:
    cache = CallCache(tmp_path / "calls.sqlite", "use")
    with pytest.raises(UserError, match="no OpenAI-style batch API"):
        ModelClient(LiteLLMModel(name="o", model="ollama_chat/qwen", batch=True), RunStats(model="o", mode="q"), cache)
    with pytest.raises(UserError, match=r"cache\.mode=use"):
        ModelClient(settings("http://127.0.0.1:9/v1", batch=True), RunStats(model="o", mode="q"), None)
    cache.close()


def test_a_batch_run_resolves_through_one_batch_per_round_and_a_rerun_replays_it(tmp_path: Path) -> None:
    server = FakeBatchServer(document_replies).start()
    source = tmp_path / "topics.md"
    text = "\n\n".join(f"# Topic {i}\n\nTopic {i} is about item {i}, which weighs {i} kg." for i in range(4))
    source.write_text(text)
    common = [
        "model=openai_compatible",
        f"model.api_base={server.url}",
        "model.batch=true",
        "model.batch_poll_interval=0.05",
        "mode.num_queries_per_chunk=2",
        f"source={source}",
        "loader.min_chunk_size=10",
        f"cache.path={tmp_path / 'calls.sqlite'}",
    ]
    try:
        first = run_cli(*common, f"hydra.run.dir={tmp_path / 'one'}", cwd=tmp_path)
        created = list(server.created)
        second = run_cli(*common, f"hydra.run.dir={tmp_path / 'two'}", cwd=tmp_path)
    finally:
        server.stop()
    assert first.returncode == 0, first.stderr[-2000:]
    assert second.returncode == 0, second.stderr[-2000:]
    assert len(created) == 2 and len(server.created) == 2  # questions, then round trips; the rerun submitted nothing
    stats = json.loads((tmp_path / "one" / "stats.json").read_text())
    assert stats["calls"] == sum(len(server.requests_of(batch)) for batch in created) > 0
    assert json.loads((tmp_path / "two" / "stats.json").read_text())["cache_hits"] == stats["calls"]
    assert read_jsonl(tmp_path / "one" / "datasets.jsonl") == read_jsonl(tmp_path / "two" / "datasets.jsonl")


def test_a_batch_run_sends_each_round_of_calls_as_one_batch(tmp_path: Path) -> None:
    """120 one-question chunks with the round trip, answers and the judge, no top-ups: four rounds of
    dependent calls, four batches (with a concurrency slot held per batched call they went out max_concurrency
    calls per batch)."""
    server = FakeBatchServer(document_replies).start()
    source = tmp_path / "topics.md"
    source.write_text(
        "\n\n".join(f"# Topic {i}\n\nTopic {i} is about item {i}, which weighs {i} kg." for i in range(120))
    )
    try:
        run = run_cli(
            "model=openai_compatible",
            f"model.api_base={server.url}",
            "model.batch=true",
            "model.batch_poll_interval=0.05",
            "mode.num_queries_per_chunk=1",
            "mode.max_top_up_calls=0",
            "mode.answers=true",
            "mode.judge.enabled=true",
            f"source={source}",
            "loader.min_chunk_size=10",
            f"cache.path={tmp_path / 'calls.sqlite'}",
            f"hydra.run.dir={tmp_path / 'run'}",
            cwd=tmp_path,
        )
    finally:
        server.stop()
    assert run.returncode == 0, run.stderr[-2000:]
    stats = json.loads((tmp_path / "run" / "stats.json").read_text())
    rounds = [stats["stages"][stage]["calls"] for stage in ("questions", "roundtrip", "answers", "judge")]
    assert rounds == [120, 120, 120, 120]
    assert [len(server.requests_of(batch)) for batch in server.created] == rounds


def test_dry_run_shows_batch_pricing(tmp_path: Path) -> None:
    source = tmp_path / "topics.md"
    source.write_text("\n\n".join(f"# Topic {i}\n\n" + "An item that weighs three kilograms. " * 40 for i in range(20)))
    common = ["model=litellm", "model.model=openai/gpt-4o", f"source={source}", "dry_run=true"]
    env = {"OPENAI_API_KEY": "sk-test"}
    regular = run_cli(*common, f"hydra.run.dir={tmp_path / 'a'}", cwd=tmp_path, env=env)
    batched = run_cli(*common, "model.batch=true", f"hydra.run.dir={tmp_path / 'b'}", cwd=tmp_path, env=env)
    assert regular.returncode == 0 and batched.returncode == 0, batched.stderr[-2000:]
    cost = [float(re.findall(r"total.*\$(\d+\.\d+)", r.stdout)[0]) for r in (regular, batched)]
    assert 0 < cost[1] < cost[0]
    assert "batch" in batched.stdout and "batch" not in regular.stdout
