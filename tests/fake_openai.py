"""A fake OpenAI-compatible chat and embeddings server on 127.0.0.1 that tests start and stop.

Replies are scripted: queued `Reply` objects are served first, then `responder(request)` answers; embeddings
come from `embedder(text)` after the queued `embedding_replies`. Every request body (and its headers) is
recorded so tests can count calls and inspect prompts.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from tests.loopback_server import LoopbackServer


class QuestionList(BaseModel):
    """A reply of plain questions: the schema the client tests parse replies into."""

    questions: list[str]


@dataclass
class Reply:
    """One scripted HTTP reply: a chat completion with `content` (cut off at max_tokens when `finish_reason` is
    "length"), or a raw status/body."""

    content: str | None = None
    status: int = 200
    body: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    finish_reason: str = "stop"


def completion_body(
    content: str,
    model: str = "fake-model",
    prompt_tokens: int = 10,
    completion_tokens: int = 5,
    finish_reason: str = "stop",
) -> str:
    """An OpenAI chat.completion JSON body carrying `content`."""
    return json.dumps(
        {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "service_tier": "default",  # as OpenAI and Groq send it (litellm's Groq path reads it)
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish_reason}
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
    )


def digest_vector(text: str, dimensions: int = 64) -> list[float]:
    """A vector drawn from the text's digest: different texts get nearly orthogonal vectors."""
    seed = hashlib.sha256(text.encode("utf-8")).digest()
    raw = b"".join(hashlib.sha256(seed + bytes([block])).digest() for block in range(dimensions // 32 + 1))
    return [byte / 255 - 0.5 for byte in raw[:dimensions]]


def embedding_body(vectors: list[list[float]], model: str, tokens: int) -> str:
    """An OpenAI embeddings JSON body carrying `vectors` in input order."""
    data = [{"object": "embedding", "index": i, "embedding": vector} for i, vector in enumerate(vectors)]
    usage = {"prompt_tokens": tokens, "total_tokens": tokens}
    return json.dumps({"object": "list", "data": data, "model": model, "usage": usage})


def last_user_text(request: dict[str, Any]) -> str:
    """The content of the last message of a recorded request."""
    return str(request["messages"][-1]["content"])


class FakeOpenAI(LoopbackServer):
    """Serve /v1/chat/completions, /v1/embeddings (and /count) on a free loopback port from a background thread."""

    def __init__(self, responder: Callable[[dict[str, Any]], Reply] | None = None) -> None:
        super().__init__()
        self.responder = responder or (lambda request: Reply(content="ok"))
        self.queue: deque[Reply] = deque()
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.embedder: Callable[[str], list[float]] = digest_vector
        self.embedding_replies: deque[Reply] = deque()  # served first: a status/body, or (status 200) embeddings
        self.embedding_requests: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/embeddings", self._embeddings)
        app.router.add_get("/count", self._count)

    async def _count(self, request: web.Request) -> web.Response:
        return web.json_response({"requests": len(self.requests)})

    async def _chat(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.headers.append(dict(request.headers))
        self.requests.append(body)
        reply = self.queue.popleft() if self.queue else self.responder(body)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        text = reply.body
        if text is None:
            text = completion_body(reply.content or "", body.get("model", ""), finish_reason=reply.finish_reason)
        return web.Response(status=reply.status, text=text, headers=reply.headers, content_type="application/json")

    async def _embeddings(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.embedding_requests.append(body)
        reply = self.embedding_replies.popleft() if self.embedding_replies else Reply()
        if reply.delay:
            await asyncio.sleep(reply.delay)
        text = reply.body
        if text is None:
            inputs = [body["input"]] if isinstance(body["input"], str) else body["input"]
            tokens = sum(len(item.split()) for item in inputs)
            text = embedding_body([self.embedder(item) for item in inputs], body.get("model", ""), tokens)
        return web.Response(status=reply.status, text=text, headers=reply.headers, content_type="application/json")


def excerpts_of(text: str) -> list[str]:
    """The excerpts a document prompt shows, in order."""
    return re.findall(r"<excerpt>\n(.*?)\n</excerpt>", text, flags=re.DOTALL)


def quote_from(excerpt: str) -> str:
    """A quote that is in the excerpt: its longest line, cut to 120 characters."""
    return max(excerpt.splitlines(), key=len).strip()[:120]


def passage_of(excerpt: str) -> int:
    """The number of the passage a scripted reply cites in a numbered excerpt: its longest (the first of
    those), as `quote_from` quotes the longest line of one not numbered."""
    shown = re.findall(r"\[(\d+)\] (.+?)(?= \[\d+\] |\n|$)", excerpt, re.MULTILINE)
    return int(max(shown, key=lambda found: len(found[1]))[0])


def passages_shown(text: str) -> list[str]:
    """The text of every passage (numbered or not: every line) the excerpts of a document prompt show."""
    lines = "\n".join(excerpts_of(text)).splitlines()
    return [piece for line in lines for piece in re.split(r"\[\d+\] ", line) if piece.strip()]


def longest_word(text: str) -> str:
    """The longest word of `text` (the first of those): one that names what it is about."""
    return max(re.findall(r"[^\W\d_]+", text) or ["nothing"], key=len).casefold()


BASE = ("question", "quotes", "evidence", "difficulty")  # the fields every question may have; a type may ask more
UNANSWERABLE = "beyond the documents"  # in a scripted question the documents must not answer


def scripted_evidence(text: str) -> dict[str, Any]:
    """The evidence field a document prompt asks for: passage numbers (the first on each excerpt's longest
    line), copied quotes (each excerpt's longest line; numbered when there are several), or none."""
    excerpts = excerpts_of(text)
    if '- "evidence": first' in text or '{"evidence": [...]' in text:
        return {"evidence": [passage_of(excerpt) for excerpt in excerpts]}
    if '"quotes": first' in text or '{"quotes": [...]' in text:
        quotes: list[Any] = [quote_from(excerpt) for excerpt in excerpts]
        if len(excerpts) > 1:  # several excerpts: each quote names its excerpt
            quotes = [{"excerpt": number, "text": quote} for number, quote in enumerate(quotes, 1)]
        return {"quotes": quotes}
    return {}


def scripted_questions(text: str) -> list[dict[str, Any]]:
    """As many questions as a document prompt asks for, lexically far apart (a digest of the prompt), each
    citing every excerpt it was shown, as the prompt asks. A question written for given passages (evidence
    first) names them (`from [3]`), and one the documents must not answer says so, for `scripted_choice`. Each
    names the longest word of every passage shown, so it shares a word with whichever it is about and no passage
    shares more of its words than another, and reads as any bundled type ("or", for a comparison)."""
    match = re.search(r"(?:exactly|the next) (\d+)", text)
    count = int(match.group(1)) if match else 1
    asked = re.findall(
        r"^(?:Question|Message) \d+(?: \([^)]*\))?:? \(?answered by passages? ([\d\[\] and]+)", text, re.MULTILINE
    )
    unanswerable = "that nothing in the excerpt" in text
    about = " ".join(dict.fromkeys(longest_word(passage) for passage in passages_shown(text)))
    questions = []
    for i in range(count):
        digest = hashlib.sha256(f"{text}{i}".encode()).hexdigest()
        numbers = re.findall(r"\d+", asked[i]) if i < len(asked) else []
        tail = f" {UNANSWERABLE}" if unanswerable else (f" from [{', '.join(numbers)}]" if numbers else "")
        questions.append(
            {
                **scripted_evidence(text),
                "question": f"Question {i} on {digest} or about {about}{tail}?",
                "difficulty": "medium",
                **{name: "noted" for name in re.findall(r'^- "(\w+)":', text, flags=re.MULTILINE) if name not in BASE},
            }
        )
    return questions


def scripted_choice(text: str) -> dict[str, Any]:
    """A round-trip reply: the passages a scripted question names, none for one the documents must not answer,
    else the passages `scripted_evidence` cites."""
    question = text.rsplit("Question: ", 1)[1]
    if UNANSWERABLE in question:
        return {"passages": []}
    named = re.search(r"from \[([\d, ]+)\]", question)
    if named:
        return {"passages": [int(n) for n in re.findall(r"\d+", named.group(1))]}
    return {"passages": [passage_of(excerpt) for excerpt in excerpts_of(text)]}


def scripted_reply(text: str) -> dict[str, Any]:
    """What a document prompt's scripted reply is: a round-trip choice (for several questions, each as if asked
    alone), or questions."""
    if "Which passages answer the user's question" in text:
        return scripted_choice(text)
    if "Which passages answer each of the user's questions" in text:
        shown, asked = text.split("Which passages answer each", 1)
        questions = re.findall(r"(?m)^Question \d+: (.+)$", asked)
        return {"answers": [scripted_choice(f"{shown}Question: {question}") for question in questions]}
    return {"questions": scripted_questions(text)}


def questions_with_latency(latency: float) -> Callable[[dict[str, Any]], Reply]:
    """A responder that waits `latency` seconds, then returns as many quoted questions as the prompt asks for."""

    def respond(request: dict[str, Any]) -> Reply:
        return Reply(content=json.dumps(scripted_reply(last_user_text(request))), delay=latency)

    return respond


def main() -> None:
    """Serve on 127.0.0.1 with a fixed per-request latency until killed (for benchmarks); prints the URL."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per request (requests overlap)")
    args = parser.parse_args()
    server = FakeOpenAI(questions_with_latency(args.latency)).start()
    print(server.url, flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
