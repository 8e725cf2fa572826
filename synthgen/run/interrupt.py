"""Ctrl-C during a run: the first stops new model calls and, after a grace period, cancels the calls still running;
the second ends the process at once."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from synthgen.core.errors import RunInterrupted

GRACE_SECONDS = 2.0  # how long calls in flight may take to finish (and reach the cache) after Ctrl-C


async def run_interruptibly(
    work: Coroutine[Any, Any, None],
    *,
    stop: Callable[[], None],
    grace: float = GRACE_SECONDS,
) -> bool:
    """Await `work`; returns whether Ctrl-C interrupted it.

    On the first SIGINT `stop` is called (start no new call); `grace` seconds later `work` is cancelled, which
    cancels the HTTP calls still in flight (a generation of the embedded model runs on to its end in its thread).
    A second SIGINT exits the process with code 130 at once. Outside the main thread (e.g. the payload handler in
    a worker thread) signals are left alone.
    """
    task = asyncio.ensure_future(work)
    if threading.current_thread() is not threading.main_thread():
        await task
        return False
    loop = asyncio.get_running_loop()
    interrupted = False

    def on_sigint() -> None:
        nonlocal interrupted
        if interrupted:
            print("synthgen: interrupted: stopped at once (to resume, rerun the command)", file=sys.stderr)
            os._exit(RunInterrupted.exit_code)  # no cleanup: outputs and the cache are already on disk line by line
        interrupted = True
        stop()
        loop.call_later(grace, task.cancel)

    previous = signal.getsignal(signal.SIGINT)  # asyncio.run's own, or an embedding application's
    loop.add_signal_handler(signal.SIGINT, on_sigint)
    try:
        await task
    except asyncio.CancelledError:
        if not interrupted:
            raise
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        if previous is not None:  # None: a handler not set from Python, which remove_signal_handler cannot restore
            signal.signal(signal.SIGINT, previous)
    return interrupted
