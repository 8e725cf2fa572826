"""The persistent call cache: what its key covers, durability, and writers in several processes."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
from pathlib import Path

import pytest

from synthgen.models.cache import CachedReply, CallCache, call_key
from synthgen.models.client import ModelClient
from synthgen.models.providers.base import LiteLLMModel
from synthgen.run.stats import RunStats
from tests.fake_openai import FakeOpenAI, QuestionList, Reply

BASE = {
    "model": "openai/gpt-4.1",
    "api_base": None,
    "messages": [{"role": "user", "content": "hi"}],
    "temperature": 0.7,
    "max_tokens": 100,
    "response_format": {"type": "json_schema", "json_schema": {"schema": {}}},
    "timeout": 60,
    "num_retries": 0,
    "max_retries": 0,
}


@pytest.mark.parametrize(
    "change",
    [
        {"model": "anthropic/claude-sonnet-4-5"},
        {"api_base": "http://127.0.0.1:1/v1"},
        {"messages": [{"role": "user", "content": "hi!"}]},
        {"temperature": 0.2},
        {"max_tokens": 101},
        {"seed": 3},
        {"response_format": {"type": "json_schema", "json_schema": {"schema": {"type": "object"}}}},
    ],
)
def test_key_differs_when_any_keyed_input_differs(change: dict) -> None:
    assert call_key({**BASE, **change}, 0) != call_key(BASE, 0)


def test_key_differs_per_sample_and_ignores_transport_settings() -> None:
    assert call_key(BASE, 0) != call_key(BASE, 1)
    assert call_key(BASE, 2) == call_key({**BASE, "timeout": 5, "num_retries": 3, "api_key": "sk-x"}, 2)
    assert call_key(dict(reversed(list(BASE.items()))), 0) == call_key(BASE, 0)


def test_modes_use_refresh_off(tmp_path: Path) -> None:
    reply = CachedReply("hello", 3, 2, 0.001)
    cache = CallCache(tmp_path / "c.sqlite", "use")
    cache.put("k", "m", reply)
    assert cache.get("k") == reply and cache.get("other") is None
    cache.close()
    assert CallCache(tmp_path / "c.sqlite", "refresh").get("k") is None  # refresh: call again
    reopened = CallCache(tmp_path / "c.sqlite", "use")
    assert reopened.get("k") == reply and len(reopened) == 1  # durable across connections


def _write_many(path: str, worker: int, count: int) -> None:
    cache = CallCache(Path(path), "use")
    for i in range(count):
        cache.put(f"{worker}-{i}", "m", CachedReply(f"reply {worker} {i}", i, i, 0.0))
    cache.close()


def test_concurrent_writers_from_two_processes(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.sqlite")
    CallCache(Path(path), "use").close()
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_write_many, args=(path, w, 300)) for w in range(2)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=120)
        assert process.exitcode == 0
    cache = CallCache(Path(path), "use")
    assert len(cache) == 600
    assert cache.get("1-299") == CachedReply("reply 1 299", 299, 299, 0.0)


def test_client_serves_repeats_from_cache_and_never_caches_failures(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    good = json.dumps({"questions": ["Why?"]})
    fake_openai.queue.extend([Reply(status=500, body='{"error": {"message": "x"}}'), Reply(content=good)])
    fake_openai.responder = lambda request: Reply(content=json.dumps({"questions": ["Other?"]}))
    settings = LiteLLMModel(
        name="fake", model="openai/fake", api_base=fake_openai.url, api_key_env="K", retries=2, backoff_base=0.01
    )
    ask = [{"role": "user", "content": "q"}]

    async def ask_twice(cache: CallCache) -> tuple[list[str], RunStats]:
        stats = RunStats(model="fake", mode="queries")
        client = ModelClient(settings, stats, cache)
        first = await client.structured(ask, QuestionList, stage="q")
        second = await client.structured(ask, QuestionList, stage="q")
        third = await client.structured(ask, QuestionList, stage="q", draw=1)
        return [first.questions[0], second.questions[0], third.questions[0]], stats

    answers, stats = asyncio.run(ask_twice(CallCache(tmp_path / "c.sqlite", "use")))
    assert answers == ["Why?", "Why?", "Other?"]  # the 500 was retried, not cached; sample 1 is a new call
    assert len(fake_openai.requests) == 3 and stats.stage("q").cache_hits == 1
    answers, stats = asyncio.run(ask_twice(CallCache(tmp_path / "c.sqlite", "use")))
    assert len(fake_openai.requests) == 3 and stats.stage("q").cache_hits == 3 and stats.stage("q").calls == 0
    asyncio.run(ask_twice(CallCache(tmp_path / "c.sqlite", "off")))
    assert len(fake_openai.requests) == 6
