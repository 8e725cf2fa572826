"""The model client over the real litellm call path against a fake server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import litellm
import pytest

from synthgen.core.errors import FatalModelError, UserError
from synthgen.models.cache import CallCache
from synthgen.models.client import REDRAW_STRIDE, REDRAWS, ModelClient, TruncatedReply
from synthgen.models.providers.base import LiteLLMModel
from synthgen.models.structured import StructuredOutputError, parse_structured
from synthgen.run.stats import RunStats
from tests.fake_openai import FakeOpenAI, QuestionList, Reply, last_user_text

ASK = [{"role": "user", "content": "Write 2 questions about the moon."}]
GOOD = json.dumps({"questions": ["How far is the moon?", "Why does it have phases?"]})


def fake_settings(server: FakeOpenAI, **changes: object) -> LiteLLMModel:
    base = dict(
        name="fake",
        model="openai/fake-model",
        api_base=server.url,
        api_key_env="SYNTHGEN_TEST_KEY",
        retries=3,
        backoff_base=0.01,
        backoff_max=0.05,
        max_concurrency=4,
        timeout=10,
    )
    return LiteLLMModel(**{**base, **changes})  # type: ignore[arg-type]


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_structured_call_uses_json_schema_and_counts_tokens(fake_openai: FakeOpenAI) -> None:
    fake_openai.queue.append(Reply(content=GOOD))
    stats = RunStats(model="fake", mode="queries")
    result = run(ModelClient(fake_settings(fake_openai), stats).structured(ASK, QuestionList, stage="q"))
    assert result.questions == ["How far is the moon?", "Why does it have phases?"]
    sent = fake_openai.requests[0]
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["schema"]["properties"]["questions"]["type"] == "array"
    assert (stats.stage("q").calls, stats.stage("q").prompt_tokens, stats.stage("q").completion_tokens) == (1, 10, 5)


def test_rate_limit_then_success_honours_retry_after(fake_openai: FakeOpenAI) -> None:
    fake_openai.queue.extend(
        [
            Reply(status=429, body='{"error": {"message": "slow down"}}', headers={"Retry-After": "0.3"}),
            Reply(content=GOOD),
        ]
    )
    stats = RunStats(model="fake", mode="queries")
    started = time.monotonic()
    run(ModelClient(fake_settings(fake_openai, backoff_max=5), stats).structured(ASK, QuestionList, stage="q"))
    assert time.monotonic() - started >= 0.3
    assert len(fake_openai.requests) == 2 and stats.stage("q").retries == 1


def test_server_error_then_success(fake_openai: FakeOpenAI) -> None:
    fake_openai.queue.extend([Reply(status=500, body='{"error": {"message": "boom"}}'), Reply(content="fine")])
    stats = RunStats(model="fake", mode="queries")
    assert run(ModelClient(fake_settings(fake_openai), stats).text(ASK, stage="a")) == "fine"
    assert stats.stage("a").retries == 1 and stats.stage("a").calls == 1


def test_malformed_json_is_repaired_with_one_reask_showing_the_error(fake_openai: FakeOpenAI) -> None:
    fake_openai.queue.extend([Reply(content='{"questions": ["unterminated'), Reply(content=f"```json\n{GOOD}\n```")])
    stats = RunStats(model="fake", mode="queries")
    result = run(ModelClient(fake_settings(fake_openai), stats).structured(ASK, QuestionList, stage="q"))
    assert len(result.questions) == 2 and stats.stage("q").repairs == 1
    repair = fake_openai.requests[1]["messages"]
    assert repair[-2] == {"role": "assistant", "content": '{"questions": ["unterminated'}
    assert "not valid JSON" in last_user_text(fake_openai.requests[1])


def test_still_malformed_after_repair_is_a_structured_output_error(fake_openai: FakeOpenAI) -> None:
    fake_openai.responder = lambda request: Reply(content='{"answers": 3}')
    stats = RunStats(model="fake", mode="queries")
    with pytest.raises(StructuredOutputError, match="does not match the schema"):
        run(ModelClient(fake_settings(fake_openai), stats).structured(ASK, QuestionList, stage="q"))
    assert len(fake_openai.requests) == 2


def test_prompt_mode_adds_an_example_object_and_no_response_format(fake_openai: FakeOpenAI) -> None:
    fake_openai.queue.append(Reply(content=f"<think>hmm</think>Sure! {GOOD}"))
    stats = RunStats(model="fake", mode="queries")
    settings = fake_settings(fake_openai, structured_output="prompt")
    assert len(run(ModelClient(settings, stats).structured(ASK, QuestionList, stage="q")).questions) == 2
    assert "response_format" not in fake_openai.requests[0]
    assert '{"questions": ["..."]}' in last_user_text(fake_openai.requests[0])


def test_retries_are_bounded(fake_openai: FakeOpenAI) -> None:
    fake_openai.responder = lambda request: Reply(status=503, body='{"error": {"message": "down"}}')
    stats = RunStats(model="fake", mode="queries")
    with pytest.raises(litellm.ServiceUnavailableError):
        run(ModelClient(fake_settings(fake_openai, retries=2), stats).text(ASK, stage="a"))
    assert len(fake_openai.requests) == 3 and stats.stage("a").retries == 2


def test_bad_key_stops_the_run_with_a_clear_error(fake_openai: FakeOpenAI) -> None:
    fake_openai.responder = lambda request: Reply(status=401, body='{"error": {"message": "invalid key"}}')
    stats = RunStats(model="fake", mode="queries")
    with pytest.raises(FatalModelError, match="rejected the API key"):
        run(ModelClient(fake_settings(fake_openai), stats).text(ASK, stage="a"))
    assert len(fake_openai.requests) == 1


def test_concurrency_is_bounded(fake_openai: FakeOpenAI) -> None:
    def slow(request: dict) -> Reply:
        return Reply(content="x", delay=0.1)

    fake_openai.responder = slow
    stats = RunStats(model="fake", mode="queries")
    client = ModelClient(fake_settings(fake_openai, max_concurrency=2), stats)

    async def many() -> float:
        started = time.monotonic()
        await asyncio.gather(*(client.text(ASK, stage="a") for _ in range(6)))
        return time.monotonic() - started

    elapsed = run(many())
    assert stats.stage("a").calls == 6
    assert elapsed >= 0.3  # 6 calls of 0.1 s, two at a time: at least three rounds


def test_missing_api_key_is_clear_before_any_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(UserError, match="OPENAI_API_KEY"):
        LiteLLMModel(name="gpt41", model="openai/gpt-4.1").check_ready()


def test_unknown_provider_is_clear() -> None:
    with pytest.raises(UserError, match="unknown model 'nonsense-model-xyz'"):
        LiteLLMModel(name="x", model="nonsense-model-xyz").check_ready()


def test_tolerant_parsing_of_fenced_and_wrapped_json() -> None:
    assert parse_structured(f"Here you go:\n```json\n{GOOD}\n```", QuestionList).questions[0].startswith("How")
    assert len(parse_structured(f"prefix {GOOD} suffix", QuestionList).questions) == 2
    raw_newline = '{"questions": ["How far is\nthe moon?", "Why\tphases?"]}'  # control characters, unescaped
    assert parse_structured(raw_newline, QuestionList).questions == ["How far is\nthe moon?", "Why\tphases?"]
    with pytest.raises(ValueError, match="not valid JSON"):
        parse_structured("no json here", QuestionList)


def test_requests_per_minute_spaces_the_calls(fake_openai: FakeOpenAI) -> None:
    stats = RunStats(model="fake", mode="queries")
    client = ModelClient(fake_settings(fake_openai, rpm=600, max_concurrency=6), stats)

    async def six() -> float:
        started = time.monotonic()
        await asyncio.gather(*(client.text(ASK, stage="a") for _ in range(6)))
        return time.monotonic() - started

    assert run(six()) >= 0.45  # 600 per minute: one every 0.1 s, so six calls span at least 0.5 s
    assert stats.stage("a").calls == 6


def test_tokens_per_minute_holds_back_a_call_past_the_budget(fake_openai: FakeOpenAI) -> None:
    stats = RunStats(model="fake", mode="queries")
    client = ModelClient(fake_settings(fake_openai, tpm=100, max_tokens=90), stats)

    async def two() -> None:
        await client.text(ASK, stage="a")  # ~98 estimated tokens of the minute's 100
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(client.text(ASK, stage="a"), 0.5)  # must wait most of a minute

    run(two())
    assert len(fake_openai.requests) == 1


class SeededModel(LiteLLMModel):
    """A model that sends each call's draw as its seed, as the embedded model does, so draws show in requests."""

    def call_kwargs(self, draw: int, extra_data: dict[str, Any] | None) -> dict[str, Any]:
        return {**super().call_kwargs(draw, extra_data), "seed": draw}


def seeded_settings(server: FakeOpenAI) -> SeededModel:
    return SeededModel(**fake_settings(server).model_dump())


RUNAWAY = '{"questions": ["How far is the moon? How far is the moon? How far is the moon? How far'


def test_a_reply_cut_off_at_max_tokens_is_drawn_again_not_repaired_nor_cached(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    fake_openai.queue.extend([Reply(content=RUNAWAY, finish_reason="length"), Reply(content=GOOD)])
    stats = RunStats(model="fake", mode="queries")
    cache = CallCache(tmp_path / "calls.sqlite", "use")
    result = run(ModelClient(seeded_settings(fake_openai), stats, cache).structured(ASK, QuestionList, stage="q"))
    assert result == parse_structured(GOOD, QuestionList)
    first, second = fake_openai.requests
    assert second["messages"] == first["messages"]  # the same prompt again, not a repair showing the runaway
    assert (first["seed"], second["seed"]) == (0, REDRAW_STRIDE)  # a fresh draw: its own seed and cache key
    counters = stats.stage("q")
    assert (counters.truncations, counters.repairs, counters.calls) == (1, 0, 2)
    assert len(cache) == 1

    fake_openai.responder = lambda request: Reply(content=json.dumps({"questions": ["Is the moon made of rock?"]}))
    again = RunStats(model="fake", mode="queries")
    rerun = run(ModelClient(seeded_settings(fake_openai), again, cache).structured(ASK, QuestionList, stage="q"))
    assert rerun.questions == ["Is the moon made of rock?"]  # draw 0 was never cached: the model is asked again
    assert fake_openai.requests[-1]["seed"] == 0 and again.stage("q").cache_hits == 0


def test_a_call_cut_off_at_every_draw_fails_naming_the_limit(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.responder = lambda request: Reply(content="and so on and so on", finish_reason="length")
    stats = RunStats(model="fake", mode="queries")
    cache = CallCache(tmp_path / "calls.sqlite", "use")
    client = ModelClient(seeded_settings(fake_openai), stats, cache)
    with pytest.raises(TruncatedReply, match=r"cut off at max_tokens=100 \(3 draws\).*model.output_budgets=false"):
        run(client.text(ASK, stage="a", max_tokens=100))
    assert [r["seed"] for r in fake_openai.requests] == [k * REDRAW_STRIDE for k in range(REDRAWS + 1)]
    assert stats.stage("a").truncations == REDRAWS + 1 and len(cache) == 0
    with pytest.raises(TruncatedReply, match=r"cut off at max_tokens=1024 .*raise model.max_tokens"):
        run(client.text(ASK, stage="a"))


def test_a_call_budget_sets_max_tokens_under_the_model_ceiling(fake_openai: FakeOpenAI) -> None:
    stats = RunStats(model="fake", mode="queries")
    capped = ModelClient(fake_settings(fake_openai, max_tokens=500), stats)
    run(capped.text(ASK, stage="a", max_tokens=120))
    run(capped.text(ASK, stage="a", max_tokens=5000))
    run(capped.text(ASK, stage="a"))
    unbudgeted = ModelClient(fake_settings(fake_openai, max_tokens=500, output_budgets=False), stats)
    run(unbudgeted.text(ASK, stage="a", max_tokens=120))
    assert [r["max_tokens"] for r in fake_openai.requests] == [120, 500, 500, 500]


def test_the_slowest_call_of_a_stage_is_recorded(fake_openai: FakeOpenAI) -> None:
    fake_openai.queue.extend([Reply(content="quick"), Reply(content="slow", delay=0.3), Reply(content="quick")])
    stats = RunStats(model="fake", mode="queries")
    client = ModelClient(fake_settings(fake_openai), stats)
    for _ in range(3):
        run(client.text(ASK, stage="a"))
    assert 0.3 <= stats.stage("a").max_call_seconds < stats.stage("a").wall_seconds + 0.01
    assert stats.to_dict()["stages"]["a"]["max_call_seconds"] == stats.stage("a").max_call_seconds
