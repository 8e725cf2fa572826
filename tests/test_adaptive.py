"""AdaptiveLimit: unit behaviour of the AIMD bound, and real litellm calls against a server with N slots."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest

from synthgen.models.adaptive import AdaptiveLimit
from tests.adaptive_calls import run_calls
from tests.fake_limited_server import ConcurrencyLimitedServer


@pytest.fixture
def slots4() -> Iterator[ConcurrencyLimitedServer]:
    server = ConcurrencyLimitedServer(slots=4, latency=0.05).start()
    try:
        yield server
    finally:
        server.stop()


async def succeed(limit: AdaptiveLimit, times: int) -> None:
    for _ in range(times):
        async with limit:
            pass
        limit.succeeded()


def test_slow_start_then_a_cut_to_what_the_server_served_then_one_more_per_round() -> None:
    async def scenario() -> list[int]:
        limit = AdaptiveLimit(16, initial=2)
        seen = [limit.allowed]
        await succeed(limit, 3)  # before any 429: one more per success
        seen.append(limit.allowed)
        release = asyncio.Event()

        async def held() -> None:
            async with limit:
                await release.wait()

        async def rejected(go: asyncio.Event) -> None:
            async with limit:
                await go.wait()
            limit.rate_limited(None)

        holders = [asyncio.ensure_future(held()) for _ in range(3)]
        first, second = asyncio.Event(), asyncio.Event()
        rejections = [asyncio.ensure_future(rejected(first)), asyncio.ensure_future(rejected(second))]
        await asyncio.sleep(0)
        first.set()
        await rejections[0]  # the server was serving the 3 held requests started before it: cut to 3
        seen.append(limit.allowed)
        second.set()
        await rejections[1]  # started before the cut, so part of the same burst: no second cut
        seen.append(limit.allowed)
        release.set()
        await asyncio.gather(*holders)
        await succeed(limit, 3)  # after a cut: one more per round of `allowed` successes
        seen.append(limit.allowed)
        await succeed(limit, 4)
        seen.append(limit.allowed)
        return seen

    assert asyncio.run(scenario()) == [2, 5, 3, 3, 4, 5]


def test_a_cut_never_goes_below_half() -> None:
    async def scenario() -> int:
        limit = AdaptiveLimit(16, initial=16)
        async with limit:
            pass
        limit.rate_limited(None)  # nothing else in flight: the server served nothing, yet the cut stops at half
        return limit.allowed

    assert asyncio.run(scenario()) == 8


def test_the_floor_is_one_and_a_fixed_limit_never_moves() -> None:
    async def scenario() -> tuple[int, int]:
        adaptive, fixed = AdaptiveLimit(3), AdaptiveLimit(3, adaptive=False)
        for limit in (adaptive, fixed):
            for _ in range(10):
                async with limit:
                    pass
                limit.rate_limited(None)
        return adaptive.allowed, fixed.allowed

    assert asyncio.run(scenario()) == (1, 3)


def test_no_more_than_allowed_start_and_waiters_keep_their_order() -> None:
    async def scenario() -> tuple[int, list[int]]:
        limit = AdaptiveLimit(2, adaptive=False)
        most, order = 0, []

        async def work(i: int) -> None:
            nonlocal most
            async with limit:
                order.append(i)
                most = max(most, limit.in_flight)
                await asyncio.sleep(0.01)

        await asyncio.gather(*(work(i) for i in range(6)))
        return most, order

    most, order = asyncio.run(scenario())
    assert most == 2
    assert order == list(range(6))


def test_retry_after_pauses_new_starts_but_not_requests_in_flight() -> None:
    async def scenario() -> tuple[float, float]:
        limit = AdaptiveLimit(4, adaptive=False)
        loop = asyncio.get_running_loop()
        async with limit:
            limit.rate_limited(0.3)
        start = loop.time()
        async with limit:
            waited = loop.time() - start
        return waited, limit.paused_for

    waited, left = asyncio.run(scenario())
    assert 0.25 <= waited < 1.0
    assert left == 0.0


def test_a_cancelled_waiter_gives_its_place_back() -> None:
    async def scenario() -> int:
        limit = AdaptiveLimit(1, adaptive=False)
        async with limit:
            waiter = asyncio.ensure_future(limit.__aenter__())
            await asyncio.sleep(0)
            waiter.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiter
        async with limit:
            return limit.in_flight

    assert asyncio.run(scenario()) == 1


def test_real_calls_against_four_slots_lose_nothing_and_settle_near_four(slots4: ConcurrencyLimitedServer) -> None:
    limit = AdaptiveLimit(32)
    replies, _ = asyncio.run(run_calls(limit, slots4.url, 120))
    assert [json.loads(reply)["echo"] for reply in replies] == [f"prompt {i}" for i in range(120)]
    assert slots4.served == 120
    assert slots4.most_busy <= 4
    assert limit.cuts >= 1
    assert 3 <= limit.allowed <= 8
    assert slots4.rejected < 120  # a fixed bound of 32 would be turned away far more often than it is served


def test_retry_after_from_a_real_429_is_honoured() -> None:
    server = ConcurrencyLimitedServer(slots=1, latency=0.2, retry_after=0.5).start()
    try:
        limit = AdaptiveLimit(2)
        replies, elapsed = asyncio.run(run_calls(limit, server.url, 3))
    finally:
        server.stop()
    assert len(replies) == 3
    assert server.served == 3
    assert elapsed >= 0.5 + 0.2 + 0.2  # the 429 paused new starts for 0.5 s, then the rest ran one at a time
