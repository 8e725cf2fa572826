"""BatchDispatcher against a fake OpenAI Files + Batches server, through litellm's real file and batch calls."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from synthgen.core.errors import UserError
from synthgen.models.batch import BatchDispatcher, BatchRequestError, batch_endpoint, batch_line, batch_price
from tests.batch_worker import call
from tests.fake_batch_server import FakeBatchServer, echo

ROOT = Path(__file__).resolve().parent.parent
# litellm runs its file and batch calls' sync halves in a thread that builds a coroutine it sometimes drops.
pytestmark = pytest.mark.filterwarnings("ignore:coroutine 'OpenAI(Files|Batches)API.* was never awaited:RuntimeWarning")


@pytest.fixture
def server() -> Iterator[FakeBatchServer]:
    fake = FakeBatchServer().start()
    try:
        yield fake
    finally:
        fake.stop()


def dispatcher(db: Path, **options: Any) -> BatchDispatcher:
    return BatchDispatcher(db, **{"quiet_period": 0.05, "poll_interval": 0.02, "max_poll_interval": 0.05, **options})


async def outcomes(batcher: BatchDispatcher, url: str, indices: range) -> list[Any]:
    """Each call's answer text, or its BatchRequestError."""
    results = await asyncio.gather(*(batcher.submit(call(url, i), f"key-{i}") for i in indices), return_exceptions=True)
    return [r if isinstance(r, BaseException) else r["choices"][0]["message"]["content"] for r in results]


def test_calls_gathered_in_one_batch_each_get_their_own_answer(server: FakeBatchServer, tmp_path: Path) -> None:
    async def scenario() -> tuple[list[Any], list[Any]]:
        batcher = dispatcher(tmp_path / "calls.sqlite")
        answers = await outcomes(batcher, server.url, range(12))
        left = batcher.batches_in_flight()
        await batcher.aclose()
        return answers, left

    answers, left = asyncio.run(scenario())
    assert answers == [f"answer to: question {i}" for i in range(12)]
    assert len(server.created) == 1
    lines = server.requests_of(server.created[0])
    assert [line["custom_id"] for line in lines] == [f"key-{i}" for i in range(12)]
    assert lines[0]["body"] == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "question 0"}],
        "temperature": 0.0,
        "max_tokens": 64,
    }
    assert left == []


def test_request_and_byte_limits_split_the_calls_into_several_batches(server: FakeBatchServer, tmp_path: Path) -> None:
    max_bytes = 3 * len(batch_line(call(server.url, 10), "key-10", "gpt-4o-mini")) + 10  # three requests a batch

    async def scenario() -> tuple[list[Any], list[Any]]:
        by_count = dispatcher(tmp_path / "a.sqlite", max_requests=4)
        first = await outcomes(by_count, server.url, range(10))
        await by_count.aclose()
        by_size = dispatcher(tmp_path / "b.sqlite", max_bytes=max_bytes)
        second = await outcomes(by_size, server.url, range(10, 20))
        await by_size.aclose()
        return first, second

    first, second = asyncio.run(scenario())
    assert first == [f"answer to: question {i}" for i in range(10)]
    assert second == [f"answer to: question {i}" for i in range(10, 20)]
    by_count = sorted(len(server.requests_of(batch)) for batch in server.created[:3])
    assert by_count == [2, 4, 4]
    by_size = [server.files[server.jobs[batch].input_file_id] for batch in server.created[3:]]
    assert len(by_size) >= 3
    assert all(len(data) <= max_bytes for data in by_size)
    assert sum(len(data.splitlines()) for data in by_size) == 10


def test_a_request_error_fails_only_that_call(tmp_path: Path) -> None:
    def picky(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        text = body["messages"][-1]["content"]
        if text == "question 2":
            return 400, {"error": {"message": "max_tokens is too large", "type": "invalid_request_error"}}
        if text == "question 4":
            return 500, {"error": {"message": "The server had an error", "type": "server_error"}}
        return echo(body)

    fake = FakeBatchServer(picky).start()
    try:
        batcher = dispatcher(tmp_path / "calls.sqlite")
        answers = asyncio.run(outcomes(batcher, fake.url, range(6)))
    finally:
        fake.stop()
    bad, broken = answers[2], answers[4]
    assert isinstance(bad, BatchRequestError) and not bad.retryable and bad.status_code == 400
    assert "max_tokens is too large" in str(bad)
    assert isinstance(broken, BatchRequestError) and broken.retryable and broken.status_code == 500
    assert [answers[i] for i in (0, 1, 3, 5)] == [f"answer to: question {i}" for i in (0, 1, 3, 5)]


def test_an_expired_batch_answers_what_it_ran_and_the_rest_can_retry(server: FakeBatchServer, tmp_path: Path) -> None:
    server.expire_next = 1

    async def scenario() -> tuple[list[Any], list[Any]]:
        batcher = dispatcher(tmp_path / "calls.sqlite")
        first = await outcomes(batcher, server.url, range(6))
        retried = await outcomes(batcher, server.url, range(3, 6))
        await batcher.aclose()
        return first, retried

    first, retried = asyncio.run(scenario())
    assert first[:3] == [f"answer to: question {i}" for i in range(3)]
    for error in first[3:]:
        assert isinstance(error, BatchRequestError) and error.retryable
        assert "batch_expired" in str(error)
    assert retried == [f"answer to: question {i}" for i in range(3, 6)]
    assert len(server.created) == 2


def run_worker(db: Path, url: str, calls: range) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    numbers = ["--first", str(calls.start), "--calls", str(len(calls))]
    return subprocess.Popen(
        [sys.executable, "-m", "tests.batch_worker", "--db", str(db), "--url", url, *numbers],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(worker: subprocess.Popen[str]) -> dict[str, str]:
    out, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err
    return dict(json.loads(out))


def test_a_killed_run_resumes_the_same_batch_instead_of_paying_again(server: FakeBatchServer, tmp_path: Path) -> None:
    db = tmp_path / "calls.sqlite"
    server.hold = True
    worker = run_worker(db, server.url, range(8))
    deadline = time.monotonic() + 30
    while not (server.created and server.retrieves >= 2) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.created, "the worker never created its batch"
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    assert worker.returncode == -signal.SIGKILL

    server.hold = False
    # The rerun asks for half of them: the other half's answers wait in the database for the run after it.
    half = finished(run_worker(db, server.url, range(4)))
    rest = finished(run_worker(db, server.url, range(4, 8)))
    assert half == {f"key-{i}": f"answer to: question {i}" for i in range(4)}
    assert rest == {f"key-{i}": f"answer to: question {i}" for i in range(4, 8)}
    assert len(server.created) == 1


@pytest.mark.parametrize("cancel_remote", [False, True])
def test_cancelling_leaves_or_cancels_the_remote_batch_and_keeps_its_record(
    server: FakeBatchServer, tmp_path: Path, cancel_remote: bool
) -> None:
    server.hold = True

    async def scenario() -> list[Any]:
        batcher = dispatcher(tmp_path / "calls.sqlite", cancel_remote=cancel_remote)
        waiting = asyncio.ensure_future(outcomes(batcher, server.url, range(3)))
        while not server.created:
            await asyncio.sleep(0.01)
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        left = batcher.batches_in_flight()
        await batcher.aclose()
        return left

    left = asyncio.run(scenario())
    assert [(record.batch_id, record.requests, record.model) for record in left] == [
        (server.created[0], 3, "gpt-4o-mini")
    ]
    assert server.cancelled == (server.created if cancel_remote else [])


def test_a_request_over_the_byte_limit_fails_alone(server: FakeBatchServer, tmp_path: Path) -> None:
    batcher = dispatcher(tmp_path / "calls.sqlite", max_bytes=200)
    kwargs = call(server.url, 0) | {"messages": [{"role": "user", "content": "x" * 500}]}
    with pytest.raises(BatchRequestError, match="over the batch limit of 200") as caught:
        asyncio.run(batcher.submit(kwargs, "big"))
    assert not caught.value.retryable
    assert server.created == []


def test_a_provider_without_a_batch_api_is_a_user_error() -> None:
    with pytest.raises(UserError, match="no OpenAI-style batch API"):
        batch_endpoint({"model": "ollama_chat/llama3", "messages": []})


def test_batch_price_uses_batch_prices_then_half_the_regular_price() -> None:
    import litellm

    prices = litellm.model_cost
    with_batch = prices["gpt-4o-mini"]
    expected = 1000 * with_batch["input_cost_per_token_batches"] + 200 * with_batch["output_cost_per_token_batches"]
    assert batch_price("openai/gpt-4o-mini", 1000, 200).cost_usd == pytest.approx(expected)
    assert batch_price("openai/gpt-4o-mini", 1000, 200).source == "batch_price"

    regular_only = next(
        name
        for name, info in sorted(prices.items())
        if info.get("mode") == "chat"
        and info.get("litellm_provider") == "openai"
        and info.get("input_cost_per_token")
        and info.get("output_cost_per_token")
        and "input_cost_per_token_batches" not in info
        and "output_cost_per_token_batches" not in info
    )
    info = prices[regular_only]
    estimate = batch_price(regular_only, 1000, 200)
    assert estimate.source == "half_regular_estimate"
    assert estimate.cost_usd == pytest.approx(
        (1000 * info["input_cost_per_token"] + 200 * info["output_cost_per_token"]) / 2
    )

    assert batch_price("openai/a-model-litellm-has-never-heard-of", 1000, 200).source == "unpriced"


def test_a_batch_still_running_after_max_wait_fails_its_calls_but_stays_recorded(
    server: FakeBatchServer, tmp_path: Path
) -> None:
    server.hold = True

    async def scenario() -> tuple[list[Any], list[Any]]:
        batcher = dispatcher(tmp_path / "calls.sqlite", max_wait=0.2)
        answers = await outcomes(batcher, server.url, range(2))
        left = batcher.batches_in_flight()
        await batcher.aclose()
        return answers, left

    answers, left = asyncio.run(scenario())
    for error in answers:
        assert isinstance(error, BatchRequestError) and not error.retryable
        assert "still in_progress" in str(error) and "run again later" in str(error)
    assert [record.batch_id for record in left] == server.created


def test_a_recorded_batch_the_provider_no_longer_knows_is_submitted_anew(tmp_path: Path) -> None:
    db = tmp_path / "calls.sqlite"
    first, second = FakeBatchServer().start(), FakeBatchServer().start()
    first.hold = True

    async def interrupted() -> None:
        batcher = dispatcher(db)
        waiting = asyncio.ensure_future(outcomes(batcher, first.url, range(2)))
        while not batcher.batches_in_flight():  # created remotely and recorded here (under load, the record lags)
            await asyncio.sleep(0.01)
        await batcher.aclose()
        await asyncio.gather(waiting, return_exceptions=True)

    async def elsewhere() -> tuple[list[Any], list[Any]]:
        batcher = dispatcher(db)
        lost = await outcomes(batcher, second.url, range(2))  # its record names a batch `second` never made
        again = await outcomes(batcher, second.url, range(2))
        await batcher.aclose()
        return lost, again

    try:
        asyncio.run(interrupted())
        lost, again = asyncio.run(elsewhere())
    finally:
        first.stop()
        second.stop()
    for error in lost:
        assert isinstance(error, BatchRequestError) and error.retryable
        assert "could not be polled" in str(error)
    assert again == ["answer to: question 0", "answer to: question 1"]
    assert len(second.created) == 1
