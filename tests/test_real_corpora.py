"""The failures of real corpora, through the CLI and the payload handler: each is one clear line (or a recorded
skip), a documented exit code, no traceback, and nothing written that should not be."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from synthgen.models.pricing import StagePlan
from synthgen.run.dry_run import large_plan
from synthgen.tools.handler import MAX_CONTEXT_CHARS, MAX_QUESTIONS, run
from tests.cli import read_jsonl, run_cli, run_module
from tests.fake_openai import FakeOpenAI, questions_with_latency
from tests.test_cli import ONLY_FACTUAL, fake_args, question_calls
from tests.test_misuse import one_line, snapshot

TOPICS = "\n\n".join(
    f"# Topic {i}\n\nTopic {i} is about item number {i}, which weighs {i * 3} kg and costs {i * 7} euros."
    for i in range(3)
)


def docs(tmp_path: Path, **files: bytes) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def test_headings_without_text_are_one_line_before_any_call(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    source = docs(tmp_path, **{"outline.md": b"# Guide\n\n## Install\n\n## Configure\n\n### Options\n"})
    out = tmp_path / "run"
    result = run_cli(*fake_args(fake_openai, source, out), cwd=tmp_path)
    assert result.returncode == 2
    line = one_line(result)
    assert "the sources hold headings with no text under them (1 such parts skipped)" in line and "fix:" in line
    assert fake_openai.requests == [] and snapshot(out) is None


def test_headings_without_text_are_skipped_and_counted(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    source = docs(tmp_path, **{"outline.md": b"# Outline\n\n## Empty\n", "topics.md": TOPICS.encode()})
    fake_openai.responder = questions_with_latency(0)
    out = tmp_path / "run"
    result = run_cli(*fake_args(fake_openai, source, out, *ONLY_FACTUAL, min_chunk_size=10), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    stats = json.loads((out / "stats.json").read_text())
    assert stats["sources"] == {"files_skipped": 0, "chunks_without_body": 1}
    assert len(question_calls(fake_openai)) == 3  # the three topics, not the outline
    assert all("Outline" not in json.dumps(request) for request in fake_openai.requests)


def test_an_unreadable_file_is_skipped_named_and_counted(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    source = docs(tmp_path, **{"binary.md": b"# Data\n\0\0\0", "topics.md": TOPICS.encode()})
    fake_openai.responder = questions_with_latency(0)
    out = tmp_path / "run"
    result = run_cli(*fake_args(fake_openai, source, out, *ONLY_FACTUAL, min_chunk_size=10), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    [warning] = [line for line in result.stdout.splitlines() if "[WARNING]" in line]  # the console log
    assert f"skipped {source / 'binary.md'}: binary file" in warning and "Traceback" not in result.stdout
    stats = json.loads((out / "stats.json").read_text())
    assert stats["sources"]["files_skipped"] == 1 and stats["produced"]["datasets"] == 1
    [failure] = read_jsonl(out / "failures.jsonl")
    assert (failure["stage"], failure["document"]) == ("load", "binary.md")


def test_loader_strict_stops_at_an_unreadable_file(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    source = docs(tmp_path, **{"binary.md": b"# Data\n\0\0\0", "topics.md": TOPICS.encode()})
    out = tmp_path / "run"
    result = run_cli(*fake_args(fake_openai, source, out, "loader.strict=true"), cwd=tmp_path)
    assert result.returncode == 2
    assert "binary file (contains NUL bytes)" in one_line(result) and "binary.md" in result.stderr
    assert fake_openai.requests == [] and snapshot(out) is None


def test_export_checks_every_format_before_writing_any(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    source = docs(tmp_path, **{"topics.md": TOPICS.encode()})
    fake_openai.responder = questions_with_latency(0)
    out = tmp_path / "run"
    assert run_cli(*fake_args(fake_openai, source, out, *ONLY_FACTUAL, min_chunk_size=10), cwd=tmp_path).returncode == 0
    before = snapshot(out)
    result = run_module("synthgen.export", str(out), "--to", "hf", "--to", "ragas", "--to", "openai", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    note, error = result.stderr.strip().splitlines()  # the note on what openai would leave out, then the error
    assert note.startswith("synthgen.export: note: openai") and "no answered questions to export as openai" in error
    assert snapshot(out) == before  # neither hf/ nor ragas/ was written
    result = run_module("synthgen.export", str(out), "--to", "hf", "--to", "ragas", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert {path.name for path in (out / "export").iterdir()} == {"hf", "ragas"}


def test_a_large_plan_is_one_warning() -> None:
    small = [StagePlan("questions", calls=10, prompt_tokens=1000, completion_tokens=2000, cost_usd=0.01)]
    assert large_plan(small) is None
    large = [StagePlan("questions", calls=10**5, prompt_tokens=10**8, completion_tokens=3 * 10**6, cost_usd=420.5)]
    assert large_plan(large) == (
        "this plan is large: 3,000,000 output tokens, about $420.50 (fix: check it is meant; limit=N, fewer "
        "questions per chunk, or max_cost_usd bound it)"
    )


def request(server: FakeOpenAI, context: str = TOPICS, **config: Any) -> dict[str, Any]:
    return {
        "context": context,
        "config": {"model": "openai_compatible", "api_base": server.url, "min_chunk_size": 10, **config},
    }


@pytest.mark.parametrize(
    ("config", "context", "message"),
    [
        ({"num_queries": 100000}, TOPICS, "config.num_queries: Input should be less than or equal to 50"),
        ({"num_queries": True}, TOPICS, "config.num_queries: Input should be a valid integer"),
        ({"api_base": "not-a-url"}, TOPICS, "config.api_base: 'not-a-url' is not an http(s) URL"),
        ({}, "# Notes\n\nText\0with a NUL.", "payload.context contains NUL characters"),
        ({}, "x" * (MAX_CONTEXT_CHARS + 1), f"more than the {MAX_CONTEXT_CHARS:,} one request takes"),
        (
            {"num_queries": 50},
            "\n\n".join(f"# Part {i}\n\nPart {i} holds item {i} of the list of parts." for i in range(41)),
            f"the request asks for 2,050 questions, more than the {MAX_QUESTIONS:,} one request may",
        ),
    ],
)
def test_the_handler_refuses_what_is_out_of_bounds_in_one_line(
    config: dict[str, Any], context: str, message: str, fake_openai: FakeOpenAI
) -> None:
    response = run(request(fake_openai, context, **config))
    assert response["success"] is False and message in response["error"], response
    error = response["error"]
    assert "\n" not in error and "/tmp" not in error and "synthgen-handler" not in error
    assert fake_openai.requests == []


def test_the_handler_as_a_library_prints_nothing(fake_openai: FakeOpenAI, capsys: pytest.CaptureFixture[str]) -> None:
    fake_openai.responder = questions_with_latency(0)
    response = run(request(fake_openai, num_queries=1))
    assert response["success"] is True and response["total_batches"] == 3, response
    assert capsys.readouterr().out == ""


def test_excerpts_longer_than_the_models_context_are_one_line_before_any_call(tmp_path: Path) -> None:
    source = docs(tmp_path, **{"long.md": ("# Long\n\n" + "A sentence of the long section. " * 120).encode()})
    out = tmp_path / "run"
    args = ["model=local", "model.local.n_ctx=1024", "loader.max_chunk_size=4000", f"source={source}"]
    result = run_cli(*args, "dry_run=true", f"hydra.run.dir={out}", cwd=tmp_path)
    assert result.returncode == 2
    line = one_line(result)
    assert "exceed the model's context of 1,024 tokens (fix: lower loader.max_chunk_size" in line, line
    assert snapshot(out) is None
    assert (
        run_cli(*args, "dry_run=true", "model.local.n_ctx=4096", f"hydra.run.dir={out}", cwd=tmp_path).returncode == 0
    )


def test_the_handler_stops_at_its_time_budget(fake_openai: FakeOpenAI) -> None:
    fake_openai.responder = questions_with_latency(30)
    response = run(request(fake_openai, num_queries=1, time_budget=1))
    assert response["success"] is False, response
    assert response["error"].startswith("the run passed its time budget of 1 s and stopped, nothing written")
    assert len(fake_openai.requests) == 3  # the calls in flight, none started after the budget
    refused = run(request(fake_openai, time_budget=5000))
    assert "config.time_budget: Input should be less than or equal to 840" in refused["error"]
