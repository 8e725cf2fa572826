"""Fake self-hosted model servers on 127.0.0.1 that each take structured output in their own dialect only.

Their refusals copy the status and message of the real servers: llama-cpp-python's server wraps the pydantic error
in a 500, llama.cpp's server names the response_format types it knows, vLLM before json_schema support answers a
400 with the pydantic error, an Ollama before JSON-schema formats cannot unmarshal an object into `format`, and a
server without structured output refuses response_format altogether.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from tests.fake_openai import completion_body
from tests.loopback_server import LoopbackServer

REPLY = json.dumps({"answer": "Paris", "confidence": 0.9})
_LITERAL_ERROR = (
    "[{'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), 'msg': \"Input should be 'text' or "
    "'json_object'\", 'input': '%s', 'ctx': {'expected': \"'text' or 'json_object'\"}}]"
)


def llama_cpp_python_refusal(kind: str) -> tuple[int, dict[str, Any]]:
    """llama-cpp-python's server: the request model's validation error, wrapped as an internal server error."""
    return 500, {
        "error": {"message": _LITERAL_ERROR % kind, "type": "internal_server_error", "param": None, "code": None}
    }


def llama_cpp_server_refusal(kind: str) -> tuple[int, dict[str, Any]]:
    """llama.cpp's own server (older builds): the response_format types it knows."""
    message = f'response_format type must be one of "text" or "json_object", but got: {kind}'
    return 500, {"error": {"code": 500, "message": message, "type": "server_error"}}


def old_vllm_refusal(kind: str) -> tuple[int, dict[str, Any]]:
    """vLLM before json_schema: the pydantic error as a 400."""
    return 400, {
        "object": "error",
        "message": _LITERAL_ERROR % kind,
        "type": "BadRequestError",
        "param": None,
        "code": 400,
    }


def no_structured_output_refusal(kind: str) -> tuple[int, dict[str, Any]]:
    """A server (or proxy) that takes no response_format at all."""
    return 400, {
        "error": {
            "message": f"response_format {kind!r} is not supported by this server",
            "type": "invalid_request_error",
            "param": "response_format",
            "code": None,
        }
    }


REFUSALS = {
    "llama_cpp_python": llama_cpp_python_refusal,
    "llama_cpp_server": llama_cpp_server_refusal,
    "old_vllm": old_vllm_refusal,
    "no_structured_output": no_structured_output_refusal,
}


class DialectServer(LoopbackServer):
    """An OpenAI-compatible server (`kind` one of "openai" or REFUSALS) or a native Ollama ("ollama",
    "old_ollama"). `refused` counts the requests it turned down for their structured-output form."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.bodies: list[dict[str, Any]] = []
        self.refused = 0

    @property
    def url(self) -> str:
        """The api_base to give litellm."""
        base = f"http://127.0.0.1:{self.port}"
        return base if "ollama" in self.kind else base + "/v1"

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/api/chat", self._ollama_chat)

    async def _chat(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.bodies.append(body)
        kind = (body.get("response_format") or {}).get("type", "text")
        refuse = REFUSALS.get(self.kind)
        takes = {"text"} if self.kind == "no_structured_output" else {"text", "json_object"}
        if refuse is not None and kind not in takes:
            self.refused += 1
            status, error = refuse(kind)
            return web.json_response(error, status=status)
        return web.Response(text=completion_body(REPLY, body.get("model", "")), content_type="application/json")

    async def _ollama_chat(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.bodies.append(body)
        if self.kind == "old_ollama" and isinstance(body.get("format"), dict):
            self.refused += 1
            error = "json: cannot unmarshal object into Go struct field ChatRequest.format of type string"
            return web.json_response({"error": error}, status=400)
        return web.json_response(
            {
                "model": body["model"],
                "created_at": "2025-01-01T00:00:00Z",
                "done": True,
                "done_reason": "stop",
                "message": {"role": "assistant", "content": REPLY},
                "prompt_eval_count": 12,
                "eval_count": 9,
            }
        )
