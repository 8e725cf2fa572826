"""The payload handler: Fair-Forge generators payloads through the real Hydra compose, runner and litellm path."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from synthgen.tools.handler import run
from tests.fake_documents import call_group
from tests.fake_openai import FakeOpenAI, Reply, last_user_text, questions_with_latency

CONTEXT = """# Moon Guide

The Moon orbits the Earth every 27.3 days at an average distance of 384,400 km.
Its phases come from the changing angle between the Sun, the Earth and the Moon.

## Tides

The Moon's gravity raises two tidal bulges on Earth, so most coasts see two high tides a day.
Spring tides happen when the Sun and the Moon line up, at new and full moon.
"""

KEY = "sk-test-0123456789abcdef"


def payload(server: FakeOpenAI, **config: Any) -> dict[str, Any]:
    """A payload for the fake server; CONTEXT makes two chunks."""
    return {
        "context": CONTEXT,
        "config": {"model": "openai_compatible", "api_base": server.url, "min_chunk_size": 50, **config},
    }


def test_queries_payload_returns_the_fair_forge_response(fake_openai: FakeOpenAI) -> None:
    fake_openai.responder = questions_with_latency(0)
    response = run(
        payload(
            fake_openai,
            num_queries=2,
            language="spanish",
            assistant_id="docs-bot",
            litellm_model="openai/served-name",
            seed_examples=["How far is it?"],
        )
    )
    assert response["success"] is True, response
    assert (response["total_datasets"], response["total_batches"]) == (1, 4)  # 2 chunks x 2 queries
    [dataset] = response["datasets"]
    assert (dataset["assistant_id"], dataset["language"]) == ("docs-bot", "spanish")
    assert "27.3 days" in dataset["context"]
    assert len({turn["qa_id"] for turn in dataset["conversation"]}) == 4
    assert {turn["agentic"]["header_path"] for turn in dataset["conversation"]} == {"Moon Guide", "Moon Guide > Tides"}
    calls = {(t["agentic"]["chunk_id"], call_group(t["agentic"]["question_type"])) for t in dataset["conversation"]}
    asked = [r for r in fake_openai.requests if "You write questions" in last_user_text(r)]
    assert len(asked) == len(calls)  # one question call per chunk and group of alike types (then the round trips)
    assert {request["model"] for request in fake_openai.requests} == {"served-name"}
    assert all("spanish" in last_user_text(r) and "How far is it?" in last_user_text(r) for r in asked)


def test_conversation_mode_turns_build_on_each_other(fake_openai: FakeOpenAI) -> None:
    fake_openai.responder = questions_with_latency(0)
    response = run(payload(fake_openai, conversation_mode=True, num_queries=3))
    assert response["success"] is True, response
    assert (response["total_datasets"], response["total_batches"]) == (2, 6)  # one dataset per conversation
    for dataset in response["datasets"]:
        turns = dataset["conversation"]
        assert [t["agentic"]["turn_number"] for t in turns] == [1, 2, 3]
        assert [t["agentic"]["builds_on"] for t in turns] == [None, turns[0]["qa_id"], turns[1]["qa_id"]]


def test_random_strategy_gives_one_dataset_per_sample(fake_openai: FakeOpenAI) -> None:
    fake_openai.responder = questions_with_latency(0)
    response = run(payload(fake_openai, strategy="random", num_samples=3, chunks_per_sample=1, num_queries=1))
    assert response["success"] is True, response
    assert (response["total_datasets"], response["total_batches"]) == (3, 3)


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        ({"config": {"model": "local"}}, "payload.context is missing or empty"),
        ({"context": "  \n", "config": {}}, "payload.context is missing or empty"),
        ({"context": ["# Hi"]}, "context: Input should be a valid string"),
        ({"context": "# Hi", "config": {"num_querys": 3}}, "config.num_querys is not accepted"),
        ({"context": "# Hi", "connector": {}}, "payload.connector is not accepted"),
        ({"context": "# Hi", "config": {"model": "nope"}}, "config.model 'nope' is neither an option of conf/model"),
        (
            {"context": "# Hi", "config": {"model": "openai/served", "litellm_model": "openai/other"}},
            "config.litellm_model sets the model of an option, but config.model 'openai/served' is a model string",
        ),
        (
            {"context": "# Hi", "config": {"min_chunk_size": 500, "max_chunk_size": 300}},
            "min_chunk_size (500) must not exceed max_chunk_size (300)",
        ),
        ({"context": "# Hi", "config": {"max_chunk_size": 0}}, "config.max_chunk_size: Input should be greater than 0"),
        ({"context": "# Hi", "config": {"num_queries": "many"}}, "config.num_queries: Input should be a valid integer"),
        ({"context": "# Hi", "config": {"num_samples": 2}}, "config.num_samples needs config.strategy='random'"),
        ({"context": "# Hi", "config": {"strategy": "shuffled"}}, "config.strategy: Input should be 'sequential'"),
        (["# Hi"], "the payload must be a JSON object"),
    ],
)
def test_bad_input_is_one_clear_error(bad: Any, expected: str) -> None:
    response = run(bad)
    assert response["success"] is False
    assert expected in response["error"] and "\n" not in response["error"]
    assert set(response) == {"success", "error"}


def test_unknown_key_names_the_accepted_ones() -> None:
    error = run({"context": "# Hi", "config": {"temprature": 0.2}})["error"]
    assert "config.temprature is not accepted" in error
    assert "accepted: model, api_key, litellm_model, api_base, temperature" in error


def test_a_litellm_string_of_an_option_picks_that_option(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    response = run({"context": CONTEXT, "config": {"model": "openai/gpt-4.1"}})
    assert response == {"success": False, "error": response["error"]}
    assert "model 'gpt41' needs OPENAI_API_KEY" in response["error"]


def test_the_environment_key_never_reaches_the_response(
    fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_COMPATIBLE_API_KEY", KEY)
    # A provider that rejects the key quotes it back, as some do.
    fake_openai.responder = lambda request: Reply(
        status=401,
        body=json.dumps({"error": {"message": f"Incorrect API key provided: {KEY}", "type": "invalid_request_error"}}),
    )
    rejected = run(payload(fake_openai))
    assert rejected["success"] is False and "rejected the API key" in rejected["error"]
    assert "[redacted]" in rejected["error"] and KEY not in json.dumps(rejected)
    # Payload text is data: an interpolation in it is never resolved against the environment.
    fake_openai.responder = questions_with_latency(0)
    injected = "${oc.env:OPENAI_COMPATIBLE_API_KEY}"
    response = run(payload(fake_openai, num_queries=1, language=injected, assistant_id=injected))
    assert response["success"] is True, response
    assert (response["datasets"][0]["language"], response["datasets"][0]["assistant_id"]) == (injected, injected)
    assert KEY not in json.dumps(response)


def test_module_reads_a_payload_on_stdin_and_prints_the_response(fake_openai: FakeOpenAI) -> None:
    fake_openai.responder = questions_with_latency(0)
    ok = subprocess.run(
        [sys.executable, "-m", "synthgen.handler"],
        input=json.dumps(payload(fake_openai, num_queries=1)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ok.returncode == 0, ok.stderr
    response = json.loads(ok.stdout)
    assert (response["success"], response["total_datasets"], response["total_batches"]) == (True, 1, 2)
    bad = subprocess.run(
        [sys.executable, "-m", "synthgen.handler"], input="{not json", capture_output=True, text=True, timeout=300
    )
    assert bad.returncode == 1 and json.loads(bad.stdout)["error"].startswith("stdin is not JSON")


@pytest.mark.local_model
def test_default_payload_runs_on_the_embedded_model() -> None:
    response = run({"context": CONTEXT, "config": {"num_queries": 1, "max_chunk_size": 4000}})
    assert response["success"] is True, response
    [dataset] = response["datasets"]
    assert response["total_batches"] == len(dataset["conversation"]) >= 1
    assert all(turn["query"].strip() for turn in dataset["conversation"])
