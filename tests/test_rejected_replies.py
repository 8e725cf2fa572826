"""A reply that fails validation stays in the cache for diagnosis only: the same call asked again gets a new draw."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from synthgen.models.cache import CallCache
from synthgen.models.client import ModelClient
from synthgen.models.providers.base import LiteLLMModel
from synthgen.models.structured import StructuredOutputError
from synthgen.run.stats import RunStats
from tests.fake_openai import FakeOpenAI, QuestionList, Reply

ASK = [{"role": "user", "content": "Write a question about the moon."}]
GOOD = json.dumps({"questions": ["How far is the moon?"]})


class SeededModel(LiteLLMModel):
    """A provider whose draw is its seed, as the embedded model's is (local.seed + draw)."""

    def call_kwargs(self, draw: int, extra_data: dict[str, Any] | None) -> dict[str, Any]:
        return {**super().call_kwargs(draw, extra_data), "seed": draw}


async def ask(server: FakeOpenAI, cache: CallCache) -> QuestionList:
    model = SeededModel(name="seeded", model="openai/fake", api_base=server.url, api_key_env="K", retries=0)
    return await ModelClient(model, RunStats(model="seeded", mode="queries"), cache).structured(
        ASK, QuestionList, stage="questions", draw=2
    )


def test_a_rejected_reply_is_never_replayed_and_the_call_is_drawn_anew(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.responder = lambda request: Reply(content="no JSON here")
    with pytest.raises(StructuredOutputError):
        asyncio.run(ask(fake_openai, CallCache(tmp_path / "calls.sqlite", "use")))
    assert [request["seed"] for request in fake_openai.requests] == [2, 2]  # the reply and its repair

    fake_openai.responder = lambda request: Reply(content=GOOD)
    cache = CallCache(tmp_path / "calls.sqlite", "use")
    assert asyncio.run(ask(fake_openai, cache)).questions == ["How far is the moon?"]
    assert fake_openai.requests[2]["seed"] == 2 + 1_000_003  # not the seed that gave the unusable reply
    assert len(cache) == 1  # the good reply, under the call's own key
    with sqlite3.connect(tmp_path / "calls.sqlite") as db:
        assert db.execute("SELECT content FROM rejected").fetchall() == [("no JSON here",)] * 2  # for diagnosis

    asyncio.run(ask(fake_openai, cache))
    assert len(fake_openai.requests) == 3  # replayed from the cache from now on
