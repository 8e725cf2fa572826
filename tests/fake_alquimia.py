"""A fake Alquimia agent server on 127.0.0.1 that tests start and stop, speaking exactly the protocol
of the `alquimia-client` package:

- `POST {prefix}/event/infer/{channel_id}/{agent_id}?chat_history=N&agentspace=S` with
  `Authorization: Bearer <key>` and JSON `{"query", "session_id", "extra_data", "attachments"}`
  replies `{"stream_id": ...}`;
- `GET {prefix}/event/stream/{stream_id}?response_only=true` with `Accept: text/event-stream` streams
  Server-Sent Events, each `data:` line one JSON event carrying the answer so far in
  `response.data.content`, then closes the stream.

A wrong key is a 401, a malformed request a 400/404/406. Replies are scripted: queued `Turn`s first,
then `agent(request)`. Every request is recorded.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.loopback_server import LoopbackServer

_BODY_FIELDS = {"query": str, "session_id": str, "extra_data": dict, "attachments": list}


@dataclass
class Turn:
    """How the agent handles one infer request: a streamed answer, or a scripted failure."""

    answer: str = ""
    infer_status: int = 200
    infer_body: str | None = None  # the raw infer reply, instead of {"stream_id": ...}
    stream_status: int = 200
    headers: dict[str, str] = field(default_factory=dict)  # sent with a failing status
    stall: float = 0.0  # seconds the stream waits before its first event


@dataclass(frozen=True)
class Recorded:
    """One request as the server saw it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: dict[str, Any] | None


def counted_question(number: int, topic: str) -> str:
    """Question `number` about `topic`, far from the others (a digest), so none is a near-duplicate."""
    return f"Question {number} about '{topic}' ({hashlib.sha256(f'{number}{topic}'.encode()).hexdigest()})?"


def counted_questions(request: Recorded) -> Turn:
    """An agent that answers with as many plain questions as extra_data asks for, distinct per context."""
    extra = request.body["extra_data"] if request.body else {}
    count = extra.get("num_queries") or extra.get("num_turns") or 1
    topic = str(extra.get("context", ""))[:30].strip()
    return Turn(answer=json.dumps({"questions": [counted_question(i + 1, topic) for i in range(count)]}))


class FakeAlquimia(LoopbackServer):
    """Serve the two Alquimia endpoints on a free loopback port from a background thread."""

    def __init__(
        self, agent: Callable[[Recorded], Turn] = counted_questions, *, api_key: str = "test-key", prefix: str = ""
    ) -> None:
        super().__init__()
        self.agent = agent
        self.api_key = api_key
        self.prefix = prefix
        self.queue: deque[Turn] = deque()
        self.requests: list[Recorded] = []
        self._streams: dict[str, Turn] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def infers(self) -> list[Recorded]:
        """The recorded infer requests, in order."""
        return [r for r in self.requests if r.method == "POST"]

    def routes(self, app: web.Application) -> None:
        app.router.add_post(self.prefix + "/event/infer/{channel_id}/{agent_id}", self._infer)
        app.router.add_get(self.prefix + "/event/stream/{stream_id}", self._stream)

    async def _record(self, request: web.Request) -> Recorded:
        body = await request.json() if request.method == "POST" else None
        recorded = Recorded(request.method, request.path, dict(request.query), dict(request.headers), body)
        self.requests.append(recorded)
        return recorded

    def _refusal(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return web.json_response({"detail": "invalid or missing API key"}, status=401)
        return None

    async def _infer(self, request: web.Request) -> web.StreamResponse:
        recorded = await self._record(request)
        if (refusal := self._refusal(request)) is not None:
            return refusal
        body = recorded.body or {}
        malformed = set(body) != set(_BODY_FIELDS) or any(
            not isinstance(body[name], kind) for name, kind in _BODY_FIELDS.items()
        )
        if malformed or not {"chat_history", "agentspace"} <= set(recorded.query):
            return web.json_response({"detail": "malformed infer request"}, status=400)
        turn = self.queue.popleft() if self.queue else self.agent(recorded)
        if turn.infer_status != 200:
            return web.json_response({"detail": "scripted failure"}, status=turn.infer_status, headers=turn.headers)
        if turn.infer_body is not None:
            return web.Response(text=turn.infer_body, content_type="application/json")
        stream_id = uuid.uuid4().hex
        self._streams[stream_id] = turn
        return web.json_response({"stream_id": stream_id})

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        await self._record(request)
        if (refusal := self._refusal(request)) is not None:
            return refusal
        if request.headers.get("Accept") != "text/event-stream" or request.query.get("response_only") != "true":
            return web.json_response({"detail": "want Accept: text/event-stream and response_only=true"}, status=406)
        turn = self._streams.pop(request.match_info["stream_id"], None)
        if turn is None:
            return web.json_response({"detail": "unknown stream"}, status=404)
        if turn.stream_status != 200:
            return web.json_response({"detail": "scripted failure"}, status=turn.stream_status, headers=turn.headers)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        await asyncio.sleep(turn.stall)
        await response.write(b": the agent is thinking\n\n")
        for content in _growing(turn.answer):
            event = {"stream_id": request.match_info["stream_id"], "response": {"data": {"content": content}}}
            await response.write(f"event: message\ndata: {json.dumps(event)}\n\n".encode())
        await response.write_eof()
        return response


def _growing(answer: str) -> list[str]:
    """The answer as three events, each holding the text so far (one empty event for an empty answer)."""
    cuts = sorted({len(answer) // 3, 2 * len(answer) // 3, len(answer)})
    return [answer[:cut] for cut in cuts if cut or not answer]
