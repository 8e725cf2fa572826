"""The Fair-Forge generators Lambda payload as its documentation writes it: a key per request, a model of the
deployment's default provider, failures in the response, errors in the payload's own names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from synthgen.tools.handler import run
from tests.fake_documents import call_group
from tests.fake_openai import FakeOpenAI, Reply, questions_with_latency

# The request payload of the Fair-Forge generators Lambda, byte for byte as documented.
DOCUMENTED_PAYLOAD = """{
  "context": "# Knowledge Base\\n\\nYour markdown content here...\\n\\n## Section 1\\n\\nContent for section 1...",
  "config": {
    "api_key": "your-llm-api-key",
    "model": "qwen/qwen3-32b",
    "assistant_id": "my-assistant",
    "num_queries": 3,
    "language": "english",
    "conversation_mode": false,
    "max_chunk_size": 2000,
    "min_chunk_size": 200,
    "seed_examples": [
      "What are the main features of X?",
      "How does Y compare to Z?"
    ]
  }
}
"""
DOCUMENTED_KEY = "your-llm-api-key"
CONTEXT = "# Moon\n\nThe Moon orbits the Earth every 27.3 days at an average distance of 384,400 km."
KEY = "gsk-request-0123456789abcdef"


@pytest.fixture
def groq_deployment(fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAI:
    """A deployment whose default provider is Groq, with the fake server standing in for Groq's API."""
    fake_openai.responder = questions_with_latency(0)
    for name, value in {"SYNTHGEN_HANDLER_PROVIDER": "groq", "GROQ_API_BASE": fake_openai.url}.items():
        monkeypatch.setenv(name, value)
    for name in ("GROQ_API_KEY", "LLM_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    return fake_openai


def cache_bytes() -> bytes:
    """Everything the call cache holds on disk (the database and its write-ahead log)."""
    path = Path(os.environ["SYNTHGEN_CALL_CACHE"])
    return b"".join(file.read_bytes() for file in path.parent.glob(path.name + "*"))


def test_the_documented_payload_succeeds_byte_for_byte(groq_deployment: FakeOpenAI) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "synthgen.handler"],
        input=DOCUMENTED_PAYLOAD,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    response = json.loads(result.stdout)
    assert set(response) == {"success", "datasets", "total_datasets", "total_batches"}
    assert (response["success"], response["total_datasets"], response["total_batches"]) == (True, 1, 3)
    [dataset] = response["datasets"]
    assert {"session_id", "assistant_id", "language", "context", "conversation"} <= set(dataset)
    assert (dataset["assistant_id"], dataset["language"]) == ("my-assistant", "english")
    assert all(
        {"qa_id", "query", "assistant", "ground_truth_assistant"} <= set(turn) for turn in dataset["conversation"]
    )
    requests = [r for r in groq_deployment.requests if "You write questions" in r["messages"][-1]["content"]]
    types = {turn["agentic"]["question_type"] for turn in dataset["conversation"]}
    assert len(types) > 1  # the default mix
    assert len(requests) == len({call_group(name) for name in types})  # a call per group of alike types
    assert {request["model"] for request in requests} == {"qwen/qwen3-32b"}  # groq/qwen/qwen3-32b, to Groq's API
    assert all("What are the main features of X?" in request["messages"][-1]["content"] for request in requests)
    assert {headers["Authorization"] for headers in groq_deployment.headers} == {f"Bearer {DOCUMENTED_KEY}"}
    assert DOCUMENTED_KEY not in result.stdout + result.stderr
    assert DOCUMENTED_KEY.encode() not in cache_bytes()


def test_the_request_key_is_redacted_where_the_provider_quotes_it(groq_deployment: FakeOpenAI) -> None:
    groq_deployment.responder = lambda request: Reply(
        status=401, body=json.dumps({"error": {"message": f"Invalid API Key: {KEY}", "type": "invalid_request_error"}})
    )
    response = run({"context": CONTEXT, "config": {"api_key": KEY, "model": "qwen/qwen3-32b"}})
    assert response["success"] is False and "Invalid API Key: [redacted]" in response["error"]
    assert KEY not in json.dumps(response)  # neither in the error nor in the failures listed
    assert groq_deployment.headers[0]["Authorization"] == f"Bearer {KEY}"


def test_the_key_can_come_from_llm_api_key(groq_deployment: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_API_KEY", KEY)
    response = run({"context": CONTEXT, "config": {"model": "qwen/qwen3-32b", "num_queries": 1}})
    assert response["success"] is True, response
    assert groq_deployment.headers[0]["Authorization"] == f"Bearer {KEY}"


def test_a_full_litellm_string_runs_as_it_is(fake_openai: FakeOpenAI) -> None:
    fake_openai.responder = questions_with_latency(0)
    config = {"model": "openai/served-name", "api_base": fake_openai.url, "api_key": KEY, "num_queries": 1}
    response = run({"context": CONTEXT, "config": config})
    assert response["success"] is True, response
    assert {request["model"] for request in fake_openai.requests} == {"served-name"}  # the question, its round trip
    assert fake_openai.headers[0]["Authorization"] == f"Bearer {KEY}"


def test_a_bare_model_name_needs_the_deployment_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SYNTHGEN_HANDLER_PROVIDER", raising=False)
    response = run({"context": CONTEXT, "config": {"model": "qwen/qwen3-32b"}})
    assert response["success"] is False
    assert (
        "config.model 'qwen/qwen3-32b' is neither an option of conf/model nor a litellm model string"
        in (response["error"])
    )
    assert "SYNTHGEN_HANDLER_PROVIDER" in response["error"]


def test_failures_come_in_the_response(groq_deployment: FakeOpenAI) -> None:
    groq_deployment.responder = lambda request: Reply(status=400, body='{"error": {"message": "context too long"}}')
    response = run({"context": CONTEXT, "config": {"api_key": KEY, "model": "qwen/qwen3-32b"}})
    assert response["success"] is False
    assert "listed in `failures`" in response["error"] and "synthgen-handler-" not in response["error"]
    [failure] = response["failures"]
    assert failure["stage"] == "questions" and "context too long" in failure["error"]


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"num_queries": 0}, "config.num_queries: Input should be greater than or equal to 1"),
        ({"num_queries": 0, "conversation_mode": True}, "config.num_queries: Input should be greater than or equal"),
        ({"temperature": 5}, "config.temperature: Input should be less than or equal to 2"),
        ({"max_chunk_size": 100, "overlap": 100}, "config: overlap (100) must be smaller than max_chunk_size (100)"),
    ],
)
def test_validation_errors_use_the_payload_names(config: dict[str, Any], expected: str) -> None:
    response = run({"context": CONTEXT, "config": config})
    assert response["success"] is False
    assert response["error"].startswith("invalid payload: ") and expected in response["error"], response["error"]
    assert "mode." not in response["error"] and "loader." not in response["error"]
