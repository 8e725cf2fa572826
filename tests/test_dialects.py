"""Structured-output dialects: the kwargs of each, example instances, and negotiation against fake servers through
real litellm calls."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm
import openai
import pytest
from pydantic import BaseModel, Field

from synthgen.models.dialects import (
    OLLAMA_ORDER,
    OPENAI_COMPATIBLE_ORDER,
    Dialect,
    DialectNegotiator,
    auto_order,
    example_instance,
    is_format_rejection,
    is_request_validation_error,
    response_kwargs,
)
from tests.fake_dialect_servers import DialectServer, llama_cpp_python_refusal, old_vllm_refusal
from tests.fake_openai import FakeOpenAI, Reply

litellm.suppress_debug_info = True
SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string"}, "confidence": {"type": "number"}},
    "required": ["answer", "confidence"],
    "additionalProperties": False,
}


class Evidence(BaseModel):
    quote: str
    chunk_id: str


class Item(BaseModel):
    question: str
    kind: str = Field(json_schema_extra={"enum": ["factual", "reasoning"]})
    difficulty: int | None
    evidence: list[Evidence]
    scores: dict[str, float]
    tags: list[str] = Field(examples=[["install"]])


def test_each_dialect_sends_the_schema_where_its_server_reads_it() -> None:
    assert response_kwargs("json_schema", "Item list", SCHEMA) == {
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "Item_list", "schema": SCHEMA, "strict": True},
        }
    }
    assert response_kwargs("llama_cpp", "Item", SCHEMA) == {
        "response_format": {"type": "json_object", "schema": SCHEMA}
    }
    assert response_kwargs("ollama", "Item", SCHEMA) == {"format": SCHEMA}
    assert response_kwargs("vllm", "Item", SCHEMA) == {"extra_body": {"guided_json": SCHEMA}}
    assert response_kwargs("json_object", "Item", SCHEMA) == {"response_format": {"type": "json_object"}}
    assert response_kwargs("prompt", "Item", SCHEMA) == {}
    assert auto_order("ollama_chat/llama3.1") == OLLAMA_ORDER
    assert auto_order("openai/qwen2.5") == OPENAI_COMPATIBLE_ORDER


def test_an_example_instance_fills_every_field_of_a_pydantic_schema() -> None:
    example = example_instance(Item.model_json_schema())
    assert example == {
        "question": "...",
        "kind": "factual",
        "difficulty": 0,
        "evidence": [{"quote": "...", "chunk_id": "..."}],
        "scores": {},
        "tags": ["install"],
    }
    Item.model_validate(example)


def test_an_example_instance_survives_recursion_and_allof() -> None:
    schema = {
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
                },
            }
        },
        "allOf": [{"$ref": "#/$defs/Node"}, {"properties": {"flag": {"type": "boolean"}}}],
    }
    example = example_instance(schema)
    assert example["name"] == "..." and example["flag"] is True
    depth, node = 0, example
    while node and node.get("children"):
        node, depth = node["children"][0], depth + 1
    assert 2 < depth < 12


def raised_by(status: int, body: dict[str, Any] | str) -> Exception:
    """The litellm exception a real call gets from a server answering `status` with `body`."""
    server = FakeOpenAI().start()
    server.queue.append(Reply(status=status, body=body if isinstance(body, str) else json.dumps(body)))
    try:
        asyncio.run(
            litellm.acompletion(
                model="openai/m",
                api_base=server.url,
                api_key="k",
                num_retries=0,
                max_retries=0,
                messages=[{"role": "user", "content": "hi"}],
            )
        )
    except openai.APIError as error:
        return error
    finally:
        server.stop()
    raise AssertionError("the call did not fail")


VLLM_CONTEXT = (
    "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens (4000 in the "
    "messages, 1000 in the completion). Please reduce the length of the messages or completion."
)


@pytest.mark.parametrize(
    ("status", "body", "format_rejection", "validation"),
    [
        (*llama_cpp_python_refusal("json_schema"), True, True),
        (
            500,
            {
                "error": {
                    "code": 500,
                    "type": "server_error",
                    "message": 'response_format type must be one of "text" or "json_object", but got: json_schema',
                }
            },
            True,
            True,
        ),
        (*old_vllm_refusal("json_schema"), True, True),
        (
            400,
            {
                "object": "error",
                "type": "BadRequestError",
                "param": None,
                "code": 400,
                "message": "The provided JSON schema contains features not supported by xgrammar.",
            },
            True,
            True,
        ),
        (
            400,
            {"error": "json: cannot unmarshal object into Go struct field ChatRequest.format of type string"},
            True,
            True,
        ),
        (
            400,
            {"object": "error", "message": VLLM_CONTEXT, "type": "BadRequestError", "param": None, "code": 400},
            False,
            True,
        ),
        (422, {"detail": [{"type": "missing", "loc": ["body", "messages"], "msg": "Field required"}]}, False, True),
        (500, {"error": {"message": "CUDA error: out of memory", "type": "internal_server_error"}}, False, False),
        (503, {"error": {"message": "Service Unavailable: the model is loading", "type": "unavailable"}}, False, False),
        (
            429,
            {"error": {"message": "Rate limit reached; json_schema requests are limited", "type": "requests"}},
            False,
            False,
        ),
        (401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}, False, False),
    ],
)
def test_errors_of_real_servers_are_told_apart(
    status: int, body: dict[str, Any], format_rejection: bool, validation: bool
) -> None:
    error = raised_by(status, body)
    assert is_format_rejection(error) is format_rejection
    assert is_request_validation_error(error) is validation


def test_a_server_that_cannot_be_reached_is_neither() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    try:
        asyncio.run(
            litellm.acompletion(
                model="openai/m",
                api_base=f"http://127.0.0.1:{port}/v1",
                api_key="k",
                num_retries=0,
                max_retries=0,
                timeout=5,
                messages=[{"role": "user", "content": "hi"}],
            )
        )
    except openai.APIError as error:
        assert not is_format_rejection(error)
        assert not is_request_validation_error(error)
    else:
        raise AssertionError("the call reached a closed port")


async def structured_call(negotiator: DialectNegotiator, model: str, url: str) -> Dialect:
    """One call asked in the negotiator's dialect, asked again while the server rejects the dialect."""
    while True:
        dialect = negotiator.current()
        try:
            response = await litellm.acompletion(
                model=model,
                api_base=url,
                api_key="k",
                num_retries=0,
                max_retries=0,
                timeout=10,
                messages=[{"role": "user", "content": "What is the capital of France?"}],
                **response_kwargs(dialect, "Answer", SCHEMA),
            )
        except openai.APIError as error:
            if negotiator.rejected(dialect, error):
                continue
            raise
        assert json.loads(response.choices[0].message.content)["answer"] == "Paris"
        return dialect


@pytest.mark.parametrize(
    ("kind", "model", "settles_on", "refusals"),
    [
        ("openai", "openai/qwen", "json_schema", 0),
        ("llama_cpp_python", "openai/qwen", "llama_cpp", 1),
        ("llama_cpp_server", "openai/qwen", "llama_cpp", 1),
        ("old_vllm", "openai/qwen", "llama_cpp", 1),
        ("no_structured_output", "openai/qwen", "prompt", 3),
        ("ollama", "ollama_chat/qwen", "ollama", 0),
        ("old_ollama", "ollama_chat/qwen", "json_object", 1),
    ],
)
def test_negotiation_settles_on_the_servers_dialect_once_for_the_run(
    kind: str, model: str, settles_on: Dialect, refusals: int
) -> None:
    server = DialectServer(kind).start()
    try:
        negotiator = DialectNegotiator(auto_order(model))

        async def run() -> list[Dialect]:
            first = await structured_call(negotiator, model, server.url)
            rest = await asyncio.gather(*(structured_call(negotiator, model, server.url) for _ in range(4)))
            return [first, *rest]

        used = asyncio.run(run())
    finally:
        server.stop()
    assert used == [settles_on] * 5
    assert server.refused == refusals
    assert list(negotiator.rejections) == list(auto_order(model)[:refusals])
    assert len(server.bodies) == 5 + refusals


def test_the_vllm_dialect_reaches_the_server_as_guided_json() -> None:
    server = DialectServer("old_vllm").start()
    try:
        negotiator = DialectNegotiator(["vllm"])
        assert asyncio.run(structured_call(negotiator, "openai/qwen", server.url)) == "vllm"
    finally:
        server.stop()
    assert server.bodies[0]["guided_json"] == SCHEMA
    assert "response_format" not in server.bodies[0]


def test_a_rejection_of_the_last_dialect_stands_and_calls_behind_move_on() -> None:
    negotiator = DialectNegotiator(["json_schema", "json_object"])
    refusal = raised_by(*old_vllm_refusal("json_schema"))
    assert negotiator.rejected("json_schema", refusal) is True
    assert negotiator.current() == "json_object"
    assert negotiator.rejected("json_schema", refusal) is True  # a call still in flight in the old dialect
    assert negotiator.rejected("json_object", refusal) is False  # nothing left: the caller sees the error
    assert negotiator.current() == "json_object"
    assert is_format_rejection(refusal)
    with pytest.raises(ValueError, match="known dialects"):
        DialectNegotiator(["json_schema", "xml"])  # type: ignore[list-item]
