"""Ctrl-C (SIGINT) or a scheduler's SIGTERM during a run: the first stops new model calls and, after a grace period,
cancels the calls still running; the second ends the process at once."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from synthgen.core.errors import RunInterrupted, RunTerminated

SIGNALS = (signal.SIGINT, signal.SIGTERM)  # Ctrl-C, and how SLURM, Kubernetes and CI runners stop a job

GRACE_SECONDS = 2.0  # how long calls in flight may take to finish (and reach the cache) after Ctrl-C


async def run_interruptibly(
    work: Coroutine[Any, Any, None],
    *,
    stop: Callable[[], None],
    abort: Callable[[int], None] | None = None,
    grace: float = GRACE_SECONDS,
    deadline: float | None = None,
) -> signal.Signals | None:
    """Await `work`; returns the signal that interrupted it (SIGINT or SIGTERM; SIGALRM when it ran past
    `deadline` seconds), None if none did.

    On the first signal (or at the deadline) `stop` is called (start no new call); `grace` seconds later `work`
    is cancelled, which cancels the HTTP calls still in flight (a generation of the embedded model runs on to its
    end in its thread). A second signal calls `abort` with the exit code (to record it) and exits the process at
    once (code 130 after SIGINT, 143 after SIGTERM). Outside the main thread (e.g. the payload handler in a worker
    thread) signals are left alone; the deadline still holds.
    """
    task = asyncio.ensure_future(work)
    loop = asyncio.get_running_loop()
    interrupted: signal.Signals | None = None

    def on_signal(received: signal.Signals) -> None:
        nonlocal interrupted
        if interrupted is not None:
            stop_at_once(received, abort)
        interrupted = received
        stop()
        loop.call_later(grace, task.cancel)

    alarm = None if deadline is None else loop.call_later(deadline, on_signal, signal.SIGALRM)
    handled = SIGNALS if threading.current_thread() is threading.main_thread() else ()
    previous = {number: signal.getsignal(number) for number in handled}  # asyncio.run's, or an application's
    for number in handled:
        loop.add_signal_handler(number, on_signal, number)
    try:
        await task
    except asyncio.CancelledError:
        if interrupted is None:
            raise
    finally:
        if alarm is not None:
            alarm.cancel()
        for number, handler in previous.items():
            loop.remove_signal_handler(number)
            if interrupted is not None:  # the outputs are written next, or an embedded generation runs on in its
                signal.signal(number, lambda received, frame: stop_at_once(signal.Signals(received), abort))
            elif handler is not None:  # None: a handler not set from Python, which remove_signal_handler cannot restore
                signal.signal(number, handler)
    return interrupted


def stop_at_once(received: signal.Signals, abort: Callable[[int], None] | None) -> None:
    """The second signal: `abort` with the exit code (to record it), then exit now, without cleanup (outputs and
    the cache are on disk line by line)."""
    print("synthgen: interrupted: stopped at once (to resume, rerun the command)", file=sys.stderr)
    if abort is not None:
        abort(exit_code(received))
    os._exit(exit_code(received))


def exit_code(received: signal.Signals) -> int:
    """The exit code of a run a signal stopped: 128 + its number, as shells report it (130, 143)."""
    return RunTerminated.exit_code if received == signal.SIGTERM else RunInterrupted.exit_code
