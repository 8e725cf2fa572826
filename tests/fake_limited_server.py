"""A fake OpenAI-compatible chat server on 127.0.0.1 that serves at most N requests at once, each taking L seconds.

A request arriving while N are being served gets an immediate 429 (with a Retry-After header if configured),
like a self-hosted server with N slots or a provider's concurrency limit. Counters tell tests what happened.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading

from aiohttp import web

from tests.fake_openai import completion_body
from tests.loopback_server import LoopbackServer


class ConcurrencyLimitedServer(LoopbackServer):
    """Serve /v1/chat/completions with `slots` concurrent requests of `latency` seconds; 429 beyond that."""

    def __init__(self, slots: int, latency: float, retry_after: float | None = None) -> None:
        super().__init__()
        self.slots = slots
        self.latency = latency
        self.retry_after = retry_after
        self.busy = 0
        self.most_busy = 0
        self.served = 0
        self.rejected = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/counts", self._counts)

    async def _counts(self, request: web.Request) -> web.Response:
        return web.json_response({"served": self.served, "rejected": self.rejected, "most_busy": self.most_busy})

    async def _chat(self, request: web.Request) -> web.Response:
        body = await request.json()
        if self.busy >= self.slots:
            self.rejected += 1
            headers = {"Retry-After": f"{self.retry_after:g}"} if self.retry_after is not None else {}
            error = {"error": {"message": f"at most {self.slots} requests at once", "type": "rate_limit_exceeded"}}
            return web.json_response(error, status=429, headers=headers)
        self.busy += 1
        self.most_busy = max(self.most_busy, self.busy)
        try:
            await asyncio.sleep(self.latency)
        finally:
            self.busy -= 1
        self.served += 1
        content = json.dumps({"echo": body["messages"][-1]["content"]})
        return web.Response(text=completion_body(content, body.get("model", "")), content_type="application/json")


def main() -> None:
    """Serve until killed (for benchmarks, in a process of its own); prints the base URL."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--slots", type=int, required=True, help="requests served at once; more get a 429")
    parser.add_argument("--latency", type=float, required=True, help="seconds per served request")
    parser.add_argument("--retry-after", type=float, default=None, help="Retry-After seconds sent with each 429")
    args = parser.parse_args()
    server = ConcurrencyLimitedServer(args.slots, args.latency, args.retry_after).start()
    print(server.url, flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
