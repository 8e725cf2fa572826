"""A fake HTTP assistant on 127.0.0.1 (JSON in, the answer at a nested path out) and a trial's source records."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.loopback_server import LoopbackServer


class FakeAssistant(LoopbackServer):
    """POST /chat: `answer(body)` gives (status, answer text, delay); the reply is {"data": {"reply": {"text": ...}}}.

    Every request body and its headers are recorded.
    """

    def __init__(self, answer: Callable[[dict[str, Any]], tuple[int, str, float]]) -> None:
        super().__init__()
        self.answer = answer
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/chat"

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/chat", self._chat)

    async def _chat(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        status, text, delay = self.answer(body)
        if delay:
            await asyncio.sleep(delay)
        return web.json_response({"data": {"reply": {"text": text}}}, status=status)


def turn(qa_id: str, query: str, reference: str, question_type: str = "factual", **agentic: Any) -> dict[str, Any]:
    """One Batch record of a generated set."""
    return {
        "qa_id": qa_id,
        "query": query,
        "assistant": "",
        "ground_truth_assistant": reference,
        "observation": None,
        "agentic": {"question_type": question_type, "difficulty": "easy", "document": "doc.md", **agentic},
        "ground_truth_agentic": {},
    }


def dataset(session_id: str, *turns: dict[str, Any], context: str = "The context.") -> dict[str, Any]:
    """One Dataset record."""
    return {
        "session_id": session_id,
        "assistant_id": "synthgen-assistant",
        "language": "english",
        "context": context,
        "conversation": list(turns),
    }


def write_source(path: Path, datasets: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in datasets))
    return path
