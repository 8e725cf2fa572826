"""The CLI end to end against a fake OpenAI-compatible server: outputs, counts, ids, failures, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synthgen.pipelines.budgets import ANSWER_TOKENS, ROUNDTRIP_TOKENS, questions_budget
from tests.cli import read_jsonl, run_cli
from tests.fake_documents import DocumentModel, call_group, together_questions
from tests.fake_openai import FakeOpenAI, Reply, excerpts_of, last_user_text

DOC = """# Moon Guide

The Moon orbits the Earth every 27.3 days at an average distance of 384,400 km.
Its phases come from the changing angle between the Sun, the Earth and the Moon.

## Tides

The Moon's gravity raises two tidal bulges on Earth, so most coasts see two high tides a day.
Spring tides happen when the Sun and the Moon line up, at new and full moon.

## Exploration

Twelve astronauts walked on the Moon between 1969 and 1972 during the Apollo programme.
They brought back 382 kg of rock and soil, still studied in laboratories today.
"""


def fake_model(request: dict) -> Reply:
    """Questions (as many as asked, distinct per prompt, each quoting its excerpts) or a quoted answer."""
    return DocumentModel()(request)


def question_calls(server: FakeOpenAI) -> list[dict]:
    """The question calls among the requests `server` received."""
    return [r for r in server.requests if "You write questions" in last_user_text(r)]


ONLY_FACTUAL = ("~mode.question_types", "+mode.question_types={factual:1}")  # one question call per chunk


@pytest.fixture
def doc(tmp_path: Path) -> Path:
    path = tmp_path / "moon.md"
    path.write_text(DOC)
    return path


def fake_args(server: FakeOpenAI, doc: Path, out: Path, *extra: str, min_chunk_size: int = 50) -> list[str]:
    """The command-line overrides of a run of `doc` on the fake server into `out`, then `extra`."""
    return [
        "model=openai_compatible",
        f"model.api_base={server.url}",
        "model.retries=1",
        "model.backoff_base=0.01",
        f"source={doc}",
        f"loader.min_chunk_size={min_chunk_size}",
        f"hydra.run.dir={out}",
        *extra,
    ]


def test_queries_with_answers_end_to_end(fake_openai: FakeOpenAI, doc: Path, tmp_path: Path) -> None:
    fake_openai.responder = fake_model
    out = tmp_path / "run"
    result = run_cli(*fake_args(fake_openai, doc, out, "mode.answers=true", "mode.language=french"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    [dataset] = read_jsonl(out / "datasets.jsonl")
    turns = dataset["conversation"]
    chunk_ids = {t["agentic"]["chunk_id"] for t in turns}
    assert len(chunk_ids) == 3 and len(turns) == 9
    assert len({t["qa_id"] for t in turns}) == 9
    assert all(t["assistant"] == "" and t["ground_truth_assistant"].startswith("From the excerpt") for t in turns)
    assert {t["agentic"]["header_path"] for t in turns} == {
        "Moon Guide",
        "Moon Guide > Tides",
        "Moon Guide > Exploration",
    }
    assert dataset["language"] == "french" and "27.3 days" in dataset["context"]
    assert all("french" in last_user_text(r) for r in fake_openai.requests if "Which passages" not in last_user_text(r))
    stats = json.loads((out / "stats.json").read_text())
    assert stats["status"] == "completed"
    assert stats["requested"] == {"datasets": 1, "queries": 9, "answers": 9}
    assert stats["produced"] == stats["requested"] and stats["failures"] == 0
    groups = {(t["agentic"]["chunk_id"], call_group(t["agentic"]["question_type"])) for t in turns}
    assert stats["stages"]["questions"]["calls"] == len(groups)  # one call per chunk and group of alike types
    shown = {(t["agentic"]["chunk_id"], len(t["agentic"]["source_chunks"])) for t in turns}
    assert stats["stages"]["answers"]["calls"] == 9  # one per question
    assert stats["stages"]["roundtrip"]["calls"] == len(shown)  # one per chunk and excerpts shown, together
    assert stats["calls"] == len(fake_openai.requests) == len(groups) + len(shown) + 9
    assert not list(tmp_path.glob("outputs"))  # nothing written to the current directory
    assert (out / ".hydra" / "config.yaml").exists()


def test_ids_are_stable_across_runs(fake_openai: FakeOpenAI, doc: Path, tmp_path: Path) -> None:
    fake_openai.responder = fake_model
    ids = []
    for name in ("a", "b"):
        assert run_cli(*fake_args(fake_openai, doc, tmp_path / name), cwd=tmp_path).returncode == 0
        [dataset] = read_jsonl(tmp_path / name / "datasets.jsonl")
        ids.append([dataset["session_id"]] + [t["qa_id"] for t in dataset["conversation"]])
    assert ids[0] == ids[1]


def test_conversation_turns_build_on_each_other(fake_openai: FakeOpenAI, doc: Path, tmp_path: Path) -> None:
    fake_openai.responder = fake_model
    out = tmp_path / "run"
    args = fake_args(fake_openai, doc, out, "mode=conversation", "mode.num_turns=2", "mode.answers=true")
    assert run_cli(*args, cwd=tmp_path).returncode == 0
    datasets = read_jsonl(out / "datasets.jsonl")
    assert len(datasets) == 3 and len({d["session_id"] for d in datasets}) == 3  # one session per conversation
    for dataset in datasets:
        first, second = dataset["conversation"]
        assert (first["agentic"]["turn_number"], second["agentic"]["turn_number"]) == (1, 2)
        assert (first["agentic"]["builds_on"], second["agentic"]["builds_on"]) == (None, first["qa_id"])
        assert first["agentic"]["chunk_id"] == second["agentic"]["chunk_id"]
        second_answer_prompt = next(
            prompt
            for prompt in map(last_user_text, fake_openai.requests)
            if f"Question: {second['query']}" in prompt and "Answer the user's question" in prompt
        )
        assert f"User: {first['query']}" in second_answer_prompt
        assert f"Assistant: {first['ground_truth_assistant']}" in second_answer_prompt


def test_random_strategy_writes_one_dataset_per_sample(fake_openai: FakeOpenAI, doc: Path, tmp_path: Path) -> None:
    fake_openai.responder = fake_model
    out = tmp_path / "run"
    args = fake_args(
        fake_openai,
        doc,
        out,
        "strategy=random",
        "strategy.num_samples=3",
        "strategy.chunks_per_sample=2",
        "mode.num_queries_per_chunk=1",
    )
    assert run_cli(*args, cwd=tmp_path).returncode == 0
    datasets = read_jsonl(out / "datasets.jsonl")
    assert len(datasets) == 3 and all(len(d["conversation"]) == 2 for d in datasets)
    assert len({d["session_id"] for d in datasets}) == 3


def test_short_replies_are_topped_up_and_a_shortfall_is_reported(
    fake_openai: FakeOpenAI, doc: Path, tmp_path: Path
) -> None:
    def one_at_a_time(request: dict) -> Reply:
        reply = json.loads(fake_model(request).content or "{}")
        if "questions" not in reply:  # a round trip
            return Reply(content=json.dumps(reply))
        return Reply(content=json.dumps({"questions": reply["questions"][:1]}))

    fake_openai.responder = one_at_a_time
    out = tmp_path / "full"
    assert run_cli(*fake_args(fake_openai, doc, out, *ONLY_FACTUAL), cwd=tmp_path).returncode == 0
    [dataset] = read_jsonl(out / "datasets.jsonl")
    assert len(dataset["conversation"]) == 9  # three calls per chunk: one ask, two top-ups
    assert len({t["query"] for t in dataset["conversation"]}) == 9

    out = tmp_path / "short"
    args = fake_args(fake_openai, doc, out, *ONLY_FACTUAL, "mode.max_top_up_calls=0")
    assert run_cli(*args, cwd=tmp_path).returncode == 0
    stats = json.loads((out / "stats.json").read_text())
    assert stats["produced"]["queries"] == 3 and stats["shortfall"]["queries"] == 6
    assert stats["shortfall_by_type"] == {"factual": 6}
    assert {s["produced"] for s in stats["shortfalls"]} == {1}


def test_permanent_failure_is_recorded_and_the_run_goes_on(fake_openai: FakeOpenAI, doc: Path, tmp_path: Path) -> None:
    def fail_on_tides(request: dict) -> Reply:
        if "two tidal bulges" in excerpts_of(last_user_text(request))[0]:
            return Reply(status=500, body='{"error": {"message": "model crashed"}}')
        return fake_model(request)

    fake_openai.responder = fail_on_tides
    out = tmp_path / "run"
    result = run_cli(*fake_args(fake_openai, doc, out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    [failure] = read_jsonl(out / "failures.jsonl")
    assert failure["stage"] == "questions" and "model crashed" in failure["error"]
    [dataset] = read_jsonl(out / "datasets.jsonl")
    assert len(dataset["conversation"]) == 6
    stats = json.loads((out / "stats.json").read_text())
    assert stats["failures"] == 1 and stats["produced"]["queries"] == 6


def test_a_runaway_reply_is_drawn_again_and_calls_are_budgeted(
    fake_openai: FakeOpenAI, doc: Path, tmp_path: Path
) -> None:
    runaways: list[dict] = []

    def loop_once_on_tides(request: dict) -> Reply:
        if "two tidal bulges" in last_user_text(request) and not runaways:
            runaways.append(request)
            return Reply(content='{"questions": ["Why two tides? Why two tides? Why two', finish_reason="length")
        return fake_model(request)

    fake_openai.responder = loop_once_on_tides
    out = tmp_path / "run"
    result = run_cli(*fake_args(fake_openai, doc, out, "mode.answers=true"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    [dataset] = read_jsonl(out / "datasets.jsonl")
    assert len(dataset["conversation"]) == 9 and not read_jsonl(out / "failures.jsonl")
    stages = json.loads((out / "stats.json").read_text())["stages"]
    assert stages["questions"]["truncations"] == 1 and stages["questions"]["repairs"] == 0
    prompts = [last_user_text(r) for r in fake_openai.requests]
    asking = ["You write questions" in prompt for prompt in prompts]
    assert stages["questions"]["calls"] == asking.count(True)  # the cut-off reply too: it was paid for
    assert stages["answers"]["truncations"] == 0
    limits = [r["max_tokens"] for r in fake_openai.requests]
    asked = {limit for limit, ask in zip(limits, asking, strict=True) if ask}
    assert asked and asked <= {questions_budget(count, "number") for count in (1, 2, 3)}  # sized by the questions
    answering = {limit for limit, prompt in zip(limits, prompts, strict=True) if "Answer the user's" in prompt}
    assert answering == {ANSWER_TOKENS}
    choosing = {
        (limit, len(together_questions(prompt)))
        for limit, prompt in zip(limits, prompts, strict=True)
        if "Which passages" in prompt
    }
    assert choosing and all(limit == ROUNDTRIP_TOKENS * count for limit, count in choosing)  # sized by the questions


def test_every_unit_failing_exits_non_zero_with_stats(fake_openai: FakeOpenAI, doc: Path, tmp_path: Path) -> None:
    fake_openai.responder = lambda request: Reply(status=500, body='{"error": {"message": "down"}}')
    out = tmp_path / "run"
    result = run_cli(*fake_args(fake_openai, doc, out), cwd=tmp_path)
    assert result.returncode != 0
    assert "failures.jsonl" in result.stderr and "Traceback" not in result.stderr
    assert len(read_jsonl(out / "failures.jsonl")) == 3
    assert json.loads((out / "stats.json").read_text())["status"] == "failed"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["source=/nonexistent/docs"], "source path not found"),
        (["loader.overlap=5000"], "overlap"),
        (["model=gpt41"], "OPENAI_API_KEY"),
        (["model.model=nonsense-model-xyz"], "unknown model"),
        (["mode.prompt=missing.j2"], "prompt file not found"),
    ],
)
def test_bad_input_is_one_clear_line_and_a_non_zero_exit(args: list[str], message: str, tmp_path: Path) -> None:
    result = run_cli(*args, f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path, env={"OPENAI_API_KEY": None})
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("synthgen: error:")]
    assert len(errors) == 1 and message in errors[0], result.stderr


@pytest.mark.parametrize("content", [b"", b"\x00\x01binary\x00", "caf\xe9".encode("latin-1")])
def test_bad_source_files_are_named(content: bytes, tmp_path: Path) -> None:
    bad = tmp_path / "bad.md"
    bad.write_bytes(content)
    result = run_cli(f"source={bad}", f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "bad.md" in result.stderr


def test_unknown_group_option_fails_without_traceback(tmp_path: Path) -> None:
    result = run_cli("model=nope", f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "nope" in result.stderr and "local" in result.stderr  # names the options to choose from


def test_limit_caps_the_chunks_of_a_document_run(fake_openai: FakeOpenAI, doc: Path, tmp_path: Path) -> None:
    fake_openai.responder = fake_model
    out = tmp_path / "run"
    assert run_cli(*fake_args(fake_openai, doc, out, "limit=2", *ONLY_FACTUAL), cwd=tmp_path).returncode == 0
    [dataset] = read_jsonl(out / "datasets.jsonl")
    assert [t["agentic"]["chunk_index"] for t in dataset["conversation"]] == [0, 0, 0, 1, 1, 1]
    assert len(question_calls(fake_openai)) == 2


def test_a_chunk_drawn_twice_into_one_sample_gets_distinct_ids(
    fake_openai: FakeOpenAI, doc: Path, tmp_path: Path
) -> None:
    fake_openai.responder = fake_model
    out = tmp_path / "run"
    args = fake_args(
        fake_openai,
        doc,
        out,
        "strategy=random",
        "strategy.num_samples=1",
        "strategy.chunks_per_sample=6",
        "strategy.with_replacement=true",
        "mode.num_queries_per_chunk=1",
    )
    assert run_cli(*args, cwd=tmp_path).returncode == 0
    [dataset] = read_jsonl(out / "datasets.jsonl")
    chunk_ids = [t["agentic"]["chunk_id"] for t in dataset["conversation"]]
    assert len(chunk_ids) == 6 and len(set(chunk_ids)) < 6  # 6 draws from 3 chunks repeat one
    assert len({t["qa_id"] for t in dataset["conversation"]}) == 6
    assert len({t["query"] for t in dataset["conversation"]}) == 6
    stats = json.loads((out / "stats.json").read_text())
    assert stats["cache_hits"] == 0  # a repeated chunk is a new draw, not a cache hit
    # This fake answers the same prompt the same way: the repeat is a duplicate, replaced by a top-up.
    assert len(question_calls(fake_openai)) == 6 + stats["duplicates_removed"]


def test_a_key_quoted_by_the_provider_never_reaches_the_error_line_or_outputs(
    fake_openai: FakeOpenAI, doc: Path, tmp_path: Path
) -> None:
    secret = "sk-test-secret-0123456789"
    fake_openai.responder = lambda request: Reply(
        status=401, body=json.dumps({"error": {"message": f"Incorrect API key provided: {secret}"}})
    )
    out = tmp_path / "run"
    result = run_cli(*fake_args(fake_openai, doc, out), cwd=tmp_path, env={"OPENAI_COMPATIBLE_API_KEY": secret})
    assert result.returncode == 3 and "rejected the API key" in result.stderr
    written = "".join(path.read_text() for path in out.rglob("*") if path.is_file())
    assert secret not in result.stderr + result.stdout + written
    assert "[redacted]" in result.stderr
