"""The Alquimia agent provider over the real client and litellm path, against a fake agent on 127.0.0.1."""

from __future__ import annotations

import asyncio
import datetime
import json
import socket
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import litellm
import pytest
from hydra import compose, initialize_config_dir

from synthgen.config.schema import (
    ConversationModeSettings,
    FactsModeSettings,
    ModelSettings,
    Settings,
    validate_settings,
)
from synthgen.config.tree import to_plain
from synthgen.core.errors import FatalModelError, ModelUnreachable, UserError
from synthgen.core.paths import CONF_DIR
from synthgen.models.cache import CallCache
from synthgen.models.client import ModelClient
from synthgen.models.providers.alquimia.handler import as_question_list
from synthgen.models.providers.base import LiteLLMModel, as_provider
from synthgen.pipelines.documents.plan import plan_units
from synthgen.pipelines.documents.questions import ask_queries, ask_turns
from synthgen.pipelines.documents.strategies import SequentialStrategy, select_samples
from synthgen.run.stats import RunStats
from synthgen.sources.base import Chunk
from tests.cli import read_jsonl, run_cli
from tests.fake_alquimia import FakeAlquimia, Recorded, Turn, counted_question, counted_questions
from tests.fake_openai import QuestionList

KEY = "test-key"
AGENT = ["model=alquimia", "model.alquimia.agent_id=agent-7", "model.alquimia.channel_id=chan-3"]
CHUNK = Chunk(
    id="c0", document="moon.md", header_path=("Moon",), text="The Moon orbits the Earth every 27.3 days.", index=0
)
ASK = [{"role": "user", "content": "Write 2 questions."}]
TWO = json.dumps({"questions": ["How long is an orbit?", "What does the Moon orbit?"]})


@pytest.fixture
def agent(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAlquimia]:
    monkeypatch.setenv("ALQUIMIA_API_KEY", KEY)
    server = FakeAlquimia(api_key=KEY).start()
    try:
        yield server
    finally:
        server.stop()


def settings(server: FakeAlquimia, *overrides: str) -> Settings:
    """The composed config for `model=alquimia` pointed at the fake agent, with quick retries."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(
            config_name="config",
            overrides=[
                *AGENT,
                f"model.alquimia.base_url={server.url}",
                "model.retries=2",
                "model.backoff_base=0.01",
                "model.backoff_max=0.05",
                *overrides,
            ],
        )
    return validate_settings(to_plain(cfg))


def client(model: ModelSettings, cache: CallCache | None = None) -> ModelClient:
    assert isinstance(model, LiteLLMModel)
    return ModelClient(model, RunStats(model=model.name, mode="queries"), cache)


def ask(model_client: ModelClient, config: Settings, draw: int = 0) -> list[str]:
    """The question call of the chunk's unit (all its questions of one type), as the pipeline makes it."""
    mode = config.mode
    assert not isinstance(mode, FactsModeSettings)
    [unit] = plan_units(select_samples([CHUNK], SequentialStrategy()), {CHUNK.id: CHUNK}, mode, True, [], "key")
    unit = replace(unit, draw=draw, slots=tuple(replace(slot, type="factual") for slot in unit.slots))
    if isinstance(mode, ConversationModeSettings):
        drafts = asyncio.run(ask_turns(model_client, unit, unit.slots, mode, written=[], round_=0))
    else:
        drafts = asyncio.run(ask_queries(model_client, unit, unit.slots, mode, written=[], round_=0))
    return [draft.question for draft in drafts]


def questions(server: FakeAlquimia, *overrides: str, draw: int = 0) -> list[str]:
    config = settings(server, *overrides)
    return ask(client(config.model), config, draw)


def test_a_question_call_speaks_the_protocol_exactly(agent: FakeAlquimia) -> None:
    got = questions(agent, "mode.seed_examples=[How far away is it?]")
    assert got == [counted_question(i, "The Moon orbits the Earth ever") for i in (1, 2, 3)]
    infer, stream = agent.requests
    assert (infer.method, infer.path) == ("POST", "/event/infer/chan-3/agent-7")
    assert infer.query == {"chat_history": "50", "agentspace": "_default"}
    assert infer.headers["Authorization"] == f"Bearer {KEY}"
    assert infer.headers["Content-Type"] == "application/json"
    assert infer.body is not None and set(infer.body) == {"query", "session_id", "extra_data", "attachments"}
    assert infer.body["extra_data"] == {
        "date": datetime.date.today().isoformat(),
        "context": CHUNK.text,
        "num_queries": 3,
        "seed_examples": ["How far away is it?"],
    }
    assert infer.body["attachments"] == []
    assert infer.body["session_id"].startswith("synthgen-")
    query = infer.body["query"]
    assert "Write exactly 3 different questions" in query and CHUNK.text in query and '"questions"' in query
    assert stream.method == "GET" and stream.path.startswith("/event/stream/")  # the fake knows only its ids
    assert stream.query == {"response_only": "true"}
    assert stream.headers["Accept"] == "text/event-stream"
    assert stream.headers["Authorization"] == f"Bearer {KEY}"


def test_conversation_mode_api_version_and_endpoint_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALQUIMIA_API_KEY", KEY)
    server = FakeAlquimia(api_key=KEY, prefix="/api/v2").start()
    try:
        got = questions(
            server,
            "mode=conversation",
            "mode.num_turns=2",
            "model.alquimia.api_version=/api/v2/",
            "model.alquimia.chat_history=0",
            "model.alquimia.agentspace=team",
        )
        infer = server.infers()[0]
    finally:
        server.stop()
    assert len(got) == 2
    assert infer.path == "/api/v2/event/infer/chan-3/agent-7"
    assert infer.query == {"chat_history": "0", "agentspace": "team"}
    assert infer.body is not None
    extra = {k: v for k, v in infer.body["extra_data"].items() if k != "date"}
    assert extra == {"context": CHUNK.text, "num_turns": 2, "conversation_mode": True, "seed_examples": []}


def test_a_plain_text_answer_falls_back_to_its_question_lines(agent: FakeAlquimia) -> None:
    agent.queue.append(
        Turn(
            answer="Sure! Here they are:\n1. How long is an orbit?\n2) Why are there phases?\n"
            "- What raises the tides?\n• Is it far?\nHope that helps."
        )
    )
    config = settings(agent)
    stats = RunStats(model="alquimia", mode="queries")
    got = ask(ModelClient(config.model, stats), config)
    assert got == ["How long is an orbit?", "Why are there phases?", "What raises the tides?"]
    assert stats.stage("questions").repairs == 0 and len(agent.infers()) == 1


def test_fair_forge_shapes_are_read_and_other_replies_left_alone() -> None:
    fenced = f"```json\n{TWO}\n```"
    assert as_question_list(fenced) == fenced
    assert as_question_list("I cannot help with that.") == "I cannot help with that."
    assert as_question_list('{"answer": 42}') == '{"answer": 42}'
    assert json.loads(as_question_list("What is {x} in Python?")) == {"questions": ["What is {x} in Python?"]}
    queries = {"queries": [{"query": "How long is an orbit?", "difficulty": "easy"}], "chunk_summary": "orbits"}
    turns = {"turns": [{"query": "What is a tide?", "turn_number": 1}, {"query": "Why two?", "turn_number": 2}]}
    assert json.loads(as_question_list(json.dumps(queries))) == {"questions": ["How long is an orbit?"]}
    assert json.loads(as_question_list(json.dumps(turns))) == {"questions": ["What is a tide?", "Why two?"]}


def test_a_reply_without_questions_is_repaired_in_the_same_session(agent: FakeAlquimia) -> None:
    agent.queue.extend([Turn(answer="I cannot help with that."), Turn(answer=TWO)])
    config = settings(agent)
    stats = RunStats(model="alquimia", mode="queries")
    result = asyncio.run(
        ModelClient(config.model, stats).structured(
            ASK, QuestionList, stage="q", extra_data={"context": "moon", "num_queries": 2}
        )
    )
    assert len(result.questions) == 2 and stats.stage("q").repairs == 1
    first, repair = (r.body for r in agent.infers())
    assert first is not None and repair is not None
    assert first["session_id"] == repair["session_id"]  # the agent sees the reply it is asked to fix
    assert repair["query"].startswith("That reply was not usable")


def test_sessions_are_stable_per_call_and_never_shared_between_samples(agent: FakeAlquimia) -> None:
    questions(agent, draw=0)
    questions(agent, draw=0)
    questions(agent, draw=1)
    sessions = [r.body["session_id"] for r in agent.infers() if r.body]
    assert sessions[0] == sessions[1] != sessions[2]


def test_the_cache_replays_a_call_and_keys_its_context(agent: FakeAlquimia, tmp_path: Path) -> None:
    cache = CallCache(tmp_path / "calls.sqlite", "use")
    model = settings(agent).model

    def ask(context: str) -> None:
        asyncio.run(
            client(model, cache).structured(
                ASK, QuestionList, stage="q", extra_data={"context": context, "num_queries": 2}
            )
        )

    ask("moon")
    ask("moon")
    assert len(agent.infers()) == 1  # replayed from the cache
    ask("sun")
    assert len(agent.infers()) == 2  # another context is another call
    cache.close()


@pytest.mark.parametrize(
    ("failure", "waits"),
    [
        (Turn(infer_status=429, headers={"Retry-After": "0.3"}), 0.3),
        (Turn(infer_status=500), 0.0),
        (Turn(stream_status=503), 0.0),
        (Turn(stream_status=404), 0.0),  # a lost stream is the server's fault, not a setup mistake
    ],
)
def test_rate_limits_and_server_errors_are_retried(agent: FakeAlquimia, failure: Turn, waits: float) -> None:
    agent.queue.extend([failure, Turn(answer=TWO)])
    model = settings(agent, "model.backoff_max=5").model
    stats = RunStats(model="alquimia", mode="queries")
    started = time.monotonic()
    result = asyncio.run(ModelClient(model, stats).structured(ASK, QuestionList, stage="q"))
    assert time.monotonic() - started >= waits
    assert len(result.questions) == 2
    assert (stats.stage("q").retries, stats.stage("q").calls, len(agent.infers())) == (1, 1, 2)


def test_an_unreachable_server_fails_at_once_naming_it(agent: FakeAlquimia) -> None:
    with socket.socket() as probe:  # a port nobody listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    model = settings(agent, f"model.alquimia.base_url={closed}", "model.retries=1").model
    stats = RunStats(model="alquimia", mode="queries")
    with pytest.raises(ModelUnreachable, match=rf"cannot reach Alquimia at {closed}: .* \(connection refused\)$"):
        asyncio.run(ModelClient(model, stats).text(ASK, stage="a"))
    assert stats.stage("a").retries == 0  # a server that never answered is not waited for


def test_a_rejected_key_stops_the_run_without_retrying(agent: FakeAlquimia, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALQUIMIA_API_KEY", "wrong-key")
    with pytest.raises(FatalModelError, match=r"rejected the API key: .*HTTP 401"):
        asyncio.run(client(settings(agent).model).text(ASK, stage="a"))
    assert len(agent.requests) == 1


@pytest.mark.parametrize(
    ("turn", "message"),
    [(Turn(infer_body='{"status": "queued"}'), "no stream_id"), (Turn(answer=""), "empty answer")],
)
def test_a_bad_agent_reply_is_retried_then_fails_the_call(agent: FakeAlquimia, turn: Turn, message: str) -> None:
    agent.agent = lambda request: turn
    with pytest.raises(litellm.BadGatewayError, match=message):
        asyncio.run(client(settings(agent, "model.retries=1").model).text(ASK, stage="a"))
    assert len(agent.infers()) == 2


def test_a_stalled_stream_times_out(agent: FakeAlquimia) -> None:
    agent.queue.append(Turn(answer=TWO, stall=3))
    with pytest.raises(litellm.Timeout, match=r"did not answer within 0\.5s"):
        asyncio.run(client(settings(agent, "model.timeout=0.5", "model.retries=0").model).text(ASK, stage="a"))


def test_setup_mistakes_are_clear_errors(agent: FakeAlquimia, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALQUIMIA_API_KEY")
    with pytest.raises(UserError, match=r"export ALQUIMIA_API_KEY=\.\.\."):
        as_provider(settings(agent).model).check_ready()
    with pytest.raises(UserError, match=r"model\.alquimia\.agent_id"):
        settings(agent, "model.alquimia.agent_id=null")
    with pytest.raises(UserError, match="must be 'alquimia/agent-7'"):
        settings(agent, "model.model=alquimia/other")


def document_agent(request: Recorded) -> Turn:
    """Questions for every section except Tides, whose agent answers nothing."""
    assert request.body is not None
    return Turn(answer="") if "tides" in request.body["extra_data"]["context"] else counted_questions(request)


def test_cli_end_to_end_records_a_failed_unit_and_keeps_the_rest(agent: FakeAlquimia, tmp_path: Path) -> None:
    doc = tmp_path / "moon.md"
    doc.write_text(
        "# Moon\n\nThe Moon orbits the Earth every 27.3 days at 384,400 km on average.\n\n"
        "## Tides\n\nThe Moon's gravity raises two tidal bulges, so coasts see two high tides a day.\n\n"
        "## Apollo\n\nTwelve astronauts walked on the Moon between 1969 and 1972 and brought back rock.\n"
    )
    agent.agent = document_agent
    out = tmp_path / "run"
    args = [
        *AGENT,
        f"model.alquimia.base_url={agent.url}",
        "model.retries=1",
        "model.backoff_base=0.01",
        f"source={doc}",
        "loader.min_chunk_size=10",
        "mode.evidence.enabled=false",  # a Fair-Forge agent returns plain questions, without quotes
        "~mode.question_types",  # and reads only extra_data: one call per chunk, of one type
        "+mode.question_types={factual:1}",
        f"hydra.run.dir={out}",
    ]
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    [dataset] = read_jsonl(out / "datasets.jsonl")
    assert len(dataset["conversation"]) == 6  # 2 of 3 sections x 3 questions
    assert {turn["agentic"]["header_path"] for turn in dataset["conversation"]} == {"Moon", "Moon > Apollo"}
    [failure] = read_jsonl(out / "failures.jsonl")
    assert (failure["stage"], failure["error_type"]) == ("questions", "BadGatewayError")
    assert "empty answer" in failure["error"]
    stats = json.loads((out / "stats.json").read_text())
    assert (stats["failures"], stats["produced"]["queries"], stats["stages"]["questions"]["retries"]) == (1, 6, 1)
    assert len(agent.infers()) == 4  # 2 good sections, the failing one twice (1 retry)

    agent.agent = counted_questions  # the agent answers for Tides now
    retried = run_cli(*args, cwd=tmp_path)
    assert retried.returncode == 0, retried.stderr
    assert len(agent.infers()) == 5  # a rerun replays the finished calls and retries only the failed one
    assert len(read_jsonl(out / "datasets.jsonl")[0]["conversation"]) == 9
    replayed = run_cli(*args, cwd=tmp_path, env={"ALQUIMIA_API_KEY": None})
    assert replayed.returncode == 0, replayed.stderr  # every call is in the cache: no key needed
    fresh = [*args[:-1], f"hydra.run.dir={tmp_path / 'fresh'}", "cache.mode=refresh"]  # calls needed: the key too
    missing_key = run_cli(*fresh, cwd=tmp_path, env={"ALQUIMIA_API_KEY": None})
    assert missing_key.returncode == 2
    assert missing_key.stderr.strip().splitlines() == [
        "synthgen: error: model 'alquimia' needs the Alquimia API key in the environment "
        "(fix: export ALQUIMIA_API_KEY=... and keep model.api_key_env=ALQUIMIA_API_KEY)"
    ]
