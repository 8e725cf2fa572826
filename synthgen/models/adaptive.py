"""Adaptive concurrency for one model: how many requests may be in flight, learnt from the server's 429s (AIMD).

The allowed count starts low (`initial`) and, until the first 429, grows by one per success: it doubles each round
trip, up to the ceiling (`model.max_concurrency`), so a server that takes the ceiling gets it within a few round
trips and one that does not is overshot by at most twice its capacity. After a 429 each success adds `1 / allowed`:
the count climbs back by one per round of `allowed` successes. A 429 cuts it multiplicatively: down to what the
server was evidently serving (the requests still in flight that started before the rejected one), but never below
half (SHARPEST_CUT). So a server with N slots is found in a few cuts and then probed one request above N once per
round trip, instead of the classic halving that leaves a quarter of its slots idle on average. The 429s of requests
that were all started before the last cut are one signal and cut once. A Retry-After pauses every new start until
then; requests in flight go on.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import time
from collections import deque
from collections.abc import Callable
from types import TracebackType

SHARPEST_CUT = 0.5


class AdaptiveLimit:
    """An async context manager bounding the requests in flight: `async with limit:` around one request.

    Call `rate_limited(retry_after)` when that request got a 429 and `succeeded()` when it returned, from the
    task that made it (the limit remembers, per task, which request it last let in). With `adaptive=False` the
    bound stays at the ceiling; Retry-After pauses still apply. Waiters start in arrival order.
    """

    def __init__(
        self, ceiling: int, *, adaptive: bool = True, initial: int = 8, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if ceiling < 1 or initial < 1:
            raise ValueError(f"the concurrency ceiling and start must be at least 1, not {ceiling} and {initial}")
        self.ceiling = ceiling
        self.adaptive = adaptive
        self.cuts = 0
        self._clock = clock
        self._window = float(min(ceiling, initial) if adaptive else ceiling)
        self._tickets = itertools.count()
        self._in_flight: set[int] = set()
        self._last_cut_ticket = -1  # requests let in before the last cut carry no news
        self._ticket: contextvars.ContextVar[int] = contextvars.ContextVar(f"adaptive_limit_{id(self)}")
        self._paused_until = 0.0
        self._resume: asyncio.TimerHandle | None = None
        self._waiters: deque[asyncio.Future[int]] = deque()

    @property
    def allowed(self) -> int:
        """How many requests may be in flight now."""
        return max(1, int(self._window + 1e-9))

    @property
    def in_flight(self) -> int:
        """How many requests are in flight now."""
        return len(self._in_flight)

    @property
    def paused_for(self) -> float:
        """Seconds until new requests may start again after a Retry-After (0 when not paused)."""
        return max(0.0, self._paused_until - self._clock())

    async def __aenter__(self) -> None:
        if not self._waiters and self._has_room():
            self._ticket.set(self._take_slot())
            return
        waiter: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self._schedule_resume()
        try:
            ticket = await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release(waiter.result())  # the slot was handed over just as the waiter was cancelled
            elif waiter in self._waiters:
                self._waiters.remove(waiter)
            raise
        self._ticket.set(ticket)

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._release(self._ticket.get())

    def rate_limited(self, retry_after: float | None = None) -> None:
        """This task's request got a 429: cut the allowed count (once per burst); pause starts for `retry_after`."""
        if retry_after is not None and retry_after > 0:
            self._paused_until = max(self._paused_until, self._clock() + retry_after)
        ticket = self._ticket.get(self._last_cut_ticket + 1)
        if self.adaptive and ticket > self._last_cut_ticket:
            served = sum(1 for other in self._in_flight if other < ticket)
            self._window = max(1.0, served, self._window * SHARPEST_CUT)
            self._last_cut_ticket = next(self._tickets)
            self.cuts += 1
        self._wake()

    def succeeded(self) -> None:
        """This task's request returned: grow the allowed count back toward the ceiling."""
        if self.adaptive and self._window < self.ceiling:
            step = 1 if self.cuts == 0 else 1 / self.allowed
            self._window = min(float(self.ceiling), self._window + step)
            self._wake()

    def _has_room(self) -> bool:
        return len(self._in_flight) < self.allowed and self._clock() >= self._paused_until

    def _take_slot(self) -> int:
        ticket = next(self._tickets)
        self._in_flight.add(ticket)
        return ticket

    def _release(self, ticket: int) -> None:
        self._in_flight.discard(ticket)
        self._wake()

    def _wake(self) -> None:
        """Hand free slots to the oldest waiters; if paused, wake up again when the pause ends."""
        while self._waiters and self._has_room():
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(self._take_slot())
        self._schedule_resume()

    def _schedule_resume(self) -> None:
        pause = self.paused_for
        if not self._waiters or pause <= 0:
            return
        if self._resume is not None:
            self._resume.cancel()
        self._resume = asyncio.get_running_loop().call_later(pause, self._wake)
