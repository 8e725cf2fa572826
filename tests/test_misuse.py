"""Misuse through the CLI, as a new user would commit it: each case ends in one stderr line naming the fix, a
documented exit code, no traceback, and a run directory that holds exactly what it should before and after."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli import free_port, read_jsonl, run_cli
from tests.fake_openai import FakeOpenAI, Reply, last_user_text, questions_with_latency
from tests.test_cli import ONLY_FACTUAL
from tests.test_cli import fake_args as cli_fake_args

DOC = "\n\n".join(
    f"# Topic {i}\n\nTopic {i} is about item number {i}, which weighs {i * 3} kg and costs {i * 7} euros. "
    f"It was first made in {1950 + i} and is still sold in {i + 2} countries today."
    for i in range(5)
)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "topics.md"
    path.write_text(DOC)
    return path


def fake_args(server: FakeOpenAI, source: Path, out: Path, *extra: str) -> list[str]:
    """A run of 5 chunks (one dataset, one factual-question call per chunk) with a cache of its own."""
    cache = f"cache.path={out.parent / 'calls.sqlite'}"
    return cli_fake_args(server, source, out, cache, *ONLY_FACTUAL, *extra, min_chunk_size=10)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The only line on stderr; there is no traceback."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def snapshot(directory: Path) -> dict[str, bytes] | None:
    """Every file under `directory` with its bytes (None: no such directory)."""
    if not directory.exists():
        return None
    return {str(path.relative_to(directory)): path.read_bytes() for path in directory.rglob("*") if path.is_file()}


def finished_run(server: FakeOpenAI, source: Path, out: Path, *extra: str) -> dict[str, bytes]:
    server.responder = questions_with_latency(0)
    result = run_cli(*fake_args(server, source, out, *extra), cwd=out.parent)
    assert result.returncode == 0, result.stderr
    files = snapshot(out)
    assert files is not None
    return files


def test_a_symlink_loop_in_the_source_creates_nothing(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "real.md").write_text(DOC)
    (docs / "x.md").symlink_to(docs / "y.md")
    (docs / "y.md").symlink_to(docs / "x.md")
    out = tmp_path / "run"
    result = run_cli(f"source={docs}", "dry_run=true", f"hydra.run.dir={out}", cwd=tmp_path)
    assert result.returncode == 2
    assert one_line(result).startswith("synthgen: error: symlink loop at ")
    assert snapshot(out) is None


def test_a_cache_path_that_cannot_be_created_creates_nothing(
    fake_openai: FakeOpenAI, source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    result = run_cli(*fake_args(fake_openai, source, out, "cache.path=/proc/synthgen/calls.sqlite"), cwd=tmp_path)
    assert result.returncode == 2
    line = one_line(result)
    assert "cannot open the call cache /proc/synthgen/calls.sqlite" in line and "(fix: " in line
    assert snapshot(out) is None and not fake_openai.requests


def test_a_run_directory_that_is_a_file_stays_as_it_was(tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.write_text("notes\n")
    result = run_cli("dry_run=true", f"hydra.run.dir={taken}", cwd=tmp_path)
    assert result.returncode == 2
    assert one_line(result) == (
        f"synthgen: error: the run directory {taken} is a file (fix: set hydra.run.dir to a directory path)"
    )
    assert taken.read_text() == "notes\n"


def test_a_sweep_directory_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.write_text("notes\n")
    result = run_cli("-m", "dry_run=true", "mode=queries,conversation", f"hydra.sweep.dir={taken}", cwd=tmp_path)
    assert result.returncode == 2
    assert one_line(result).startswith(f"synthgen: error: the sweep directory {taken} is a file")
    assert taken.read_text() == "notes\n"


def test_merge_shards_into_a_file_is_one_line(fake_openai: FakeOpenAI, source: Path, tmp_path: Path) -> None:
    finished_run(fake_openai, source, tmp_path / "run")
    taken = tmp_path / "taken"
    taken.write_text("notes\n")
    result = subprocess.run(
        [sys.executable, "-m", "synthgen.merge_shards", str(tmp_path / "run"), "--out", str(taken)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert one_line(result).startswith(f"synthgen.merge_shards: error: --out {taken} is a file")
    assert taken.read_text() == "notes\n"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["mode.num_queries_per_chunk=0"], "mode.num_queries_per_chunk: Input should be greater than or equal to 1"),
        (["mode.num_queries_per_chunk=100000"], "mode.num_queries_per_chunk: Input should be less than or equal to 50"),
        (["mode.max_top_up_calls=1000"], "mode.max_top_up_calls: Input should be less than or equal to 10"),
        (["model.api_base=not-a-url"], "model.api_base: 'not-a-url' is not an http(s) URL"),
        (["source=/nonexistent/docs"], "source path not found: /nonexistent/docs"),
        (["mode.prompt=missing.j2"], "prompt file not found: missing.j2"),
        (["fact_template=blue_honeyeater"], "fact_template=blue_honeyeater is set but mode=queries does not use it"),
    ],
)
def test_bad_input_leaves_a_finished_run_directory_as_it_was(
    extra: list[str], message: str, fake_openai: FakeOpenAI, source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    before = finished_run(fake_openai, source, out)
    result = run_cli(*fake_args(fake_openai, source, out, *extra), cwd=tmp_path)
    assert result.returncode == 2
    line = one_line(result)
    assert line.startswith("synthgen: error: ") and message in line and "fix" in line, line
    assert snapshot(out) == before  # .hydra/, the log, stats.json and the outputs: byte for byte


def test_a_rerun_with_another_config_is_refused_and_resume_false_starts_afresh(
    fake_openai: FakeOpenAI, source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    before = finished_run(fake_openai, source, out)
    [dataset] = read_jsonl(out / "datasets.jsonl")
    assert len(dataset["conversation"]) == 15  # 5 chunks x 3 questions

    refused = run_cli(*fake_args(fake_openai, source, out, "mode.num_queries_per_chunk=1"), cwd=tmp_path)
    assert refused.returncode == 2
    assert one_line(refused) == (
        f"synthgen: error: the run directory {out} holds outputs made from another config "
        "(mode.num_queries_per_chunk: 3 → 1) (fix: choose a new hydra.run.dir (or hydra.sweep.dir), "
        "or add resume=false to start it afresh)"
    )
    assert snapshot(out) == before

    source.write_text(DOC.replace("weighs", "weighed"))
    refused = run_cli(*fake_args(fake_openai, source, out), cwd=tmp_path)
    assert refused.returncode == 2 and "outputs made from other inputs" in one_line(refused)
    assert snapshot(out) == before

    afresh = run_cli(*fake_args(fake_openai, source, out, "mode.num_queries_per_chunk=1", "resume=false"), cwd=tmp_path)
    assert afresh.returncode == 0, afresh.stderr
    [dataset] = read_jsonl(out / "datasets.jsonl")
    assert len(dataset["conversation"]) == 5 and "weighed" in dataset["context"]
    stats = json.loads((out / "stats.json").read_text())
    assert stats["produced"] == {"datasets": 1, "queries": 5} and stats["cache_hits"] == 0


def test_a_second_run_into_a_busy_directory_is_refused(fake_openai: FakeOpenAI, source: Path, tmp_path: Path) -> None:
    fake_openai.responder = questions_with_latency(2)  # the first run takes 10 s: 5 calls, one at a time
    out = tmp_path / "run"
    args = fake_args(fake_openai, source, out, "model.max_concurrency=1", "mode.roundtrip.enabled=false")
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    first = subprocess.Popen(
        [sys.executable, "-m", "synthgen", *args], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, text=True
    )
    deadline = time.monotonic() + 120
    while not fake_openai.requests:
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.02)
    second = run_cli(*args, cwd=tmp_path)
    assert first.wait(timeout=120) == 0
    assert second.returncode == 2
    assert one_line(second) == (
        f"synthgen: error: the run directory {out} is in use by another run (process {first.pid}) "
        "(fix: wait for it to finish, or choose another hydra.run.dir)"
    )
    assert len(read_jsonl(out / "datasets.jsonl")) == 1  # the first run's dataset, once
    assert json.loads((out / "stats.json").read_text())["produced"] == {"queries": 15, "datasets": 1}
    assert len(fake_openai.requests) == 5


def test_unusable_replies_are_kept_for_diagnosis_but_never_replayed(
    fake_openai: FakeOpenAI, source: Path, tmp_path: Path
) -> None:
    fake_openai.responder = lambda request: Reply(content="Sure! Here are some questions, in no format at all.")
    out = tmp_path / "run"
    args = fake_args(fake_openai, source, out, "limit=2", "mode.roundtrip.enabled=false")  # one call per chunk
    failed = run_cli(*args, cwd=tmp_path)
    assert failed.returncode == 4
    assert "all with one cause: invalid structured output after one repair" in one_line(failed)
    with sqlite3.connect(tmp_path / "calls.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM calls").fetchone() == (0,)
        rejected = db.execute("SELECT content, error FROM rejected").fetchall()
    assert len(rejected) == 4  # each chunk's reply and its repair, with why they failed
    assert all(content.startswith("Sure!") and "not valid JSON" in error for content, error in rejected)

    fake_openai.responder = questions_with_latency(0)  # the fix; then the same command again
    calls_before = len(fake_openai.requests)
    fixed = run_cli(*args, cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stderr
    assert len(fake_openai.requests) - calls_before == 2  # asked again, not replayed
    [dataset] = read_jsonl(out / "datasets.jsonl")
    assert len(dataset["conversation"]) == 6


def test_a_server_that_is_down_is_named_at_once(tmp_path: Path, source: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    out = tmp_path / "run"
    result = run_cli(
        "model=openai_compatible",
        f"model.api_base={url}",
        f"source={source}",
        "loader.min_chunk_size=10",
        f"hydra.run.dir={out}",
        cwd=tmp_path,
    )
    assert result.returncode == 4
    line = one_line(result)
    assert line.endswith(
        f"all with one cause: cannot reach {url} (connection refused) (fix: start the server or set model.api_base)"
    ), line
    stats = json.loads((out / "stats.json").read_text())
    assert stats["status"] == "failed" and stats["failures"] == 5
    assert stats["stages"]["questions"]["retries"] == 0  # no backoff for a server that never answered
    assert line.removeprefix("synthgen: error: ") in (out / "__main__.log").read_text()  # the job log has it too


def test_ollama_needs_no_ollama_api_base_variable(tmp_path: Path, source: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = run_cli(
        "model=ollama",
        f"model.api_base={url}",
        f"source={source}",
        "limit=1",
        f"hydra.run.dir={tmp_path / 'run'}",
        cwd=tmp_path,
        env={"OLLAMA_API_BASE": None},
    )
    assert result.returncode == 4
    assert f"cannot reach {url} (connection refused)" in one_line(result)  # it tried the option's api_base


def test_a_dry_run_prices_an_api_model_without_its_key(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = run_cli("dry_run=true", "model=gpt41", f"hydra.run.dir={out}", cwd=tmp_path, env={"OPENAI_API_KEY": None})
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert "$" in (out / "plan.txt").read_text()
    assert json.loads((out / "stats.json").read_text())["status"] == "dry_run"


def test_mostly_failed_units_exit_non_zero_with_everything_written(
    fake_openai: FakeOpenAI, source: Path, tmp_path: Path
) -> None:
    def only_topic_0(request: dict) -> Reply:
        if "Topic 0 is about" in last_user_text(request):
            return questions_with_latency(0)(request)
        return Reply(status=400, body='{"error": {"message": "unsupported language"}}')

    fake_openai.responder = only_topic_0
    out = tmp_path / "run"
    result = run_cli(*fake_args(fake_openai, source, out), cwd=tmp_path)
    assert result.returncode == 6
    line = one_line(result)
    assert line.startswith("synthgen: error: 4 failures in 5 work units (80%, above max_failure_rate=0.5); ")
    assert "most often (4 times, see " in line and "unsupported language" in line and "(fix: " in line
    [dataset] = read_jsonl(out / "datasets.jsonl")
    assert len(dataset["conversation"]) == 3 and len(read_jsonl(out / "failures.jsonl")) == 4
    stats = json.loads((out / "stats.json").read_text())
    assert (stats["status"], stats["exit_code"], stats["units"], stats["failures"]) == ("failed", 6, 5, 4)

    lenient = run_cli(*fake_args(fake_openai, source, tmp_path / "lenient", "max_failure_rate=0.9"), cwd=tmp_path)
    assert lenient.returncode == 0, lenient.stderr


def test_a_crash_has_its_own_exit_code_and_its_traceback_in_the_job_log(
    fake_openai: FakeOpenAI, source: Path, tmp_path: Path
) -> None:
    plugin = tmp_path / "plugins"
    plugin.mkdir()
    (plugin / "crashing.py").write_text(
        "from synthgen.pipelines.documents import DocumentPipeline\n\n\n"
        "class CrashingPipeline(DocumentPipeline):\n"
        "    async def run(self, samples, client):\n"
        "        raise RuntimeError('a bug in the plugin')\n"
    )
    out = tmp_path / "run"
    result = run_cli(
        *fake_args(fake_openai, source, out, "mode.pipeline=crashing.CrashingPipeline"),
        cwd=tmp_path,
        env={"PYTHONPATH": os.pathsep.join([str(plugin), os.environ.get("PYTHONPATH", "")])},
    )
    assert result.returncode == 70
    log = out / "__main__.log"
    assert one_line(result) == (
        "synthgen: internal error: RuntimeError: a bug in the plugin "
        f"(this is a bug in synthgen or a plugin: the traceback is in {log})"
    )
    assert "Traceback" in log.read_text() and "a bug in the plugin" in log.read_text()
    stats = json.loads((out / "stats.json").read_text())
    assert (stats["status"], stats["exit_code"]) == ("failed", 70)


def test_help_lists_the_app_groups_and_the_composed_config(tmp_path: Path) -> None:
    result = run_cli("--help", "model=gpt41", cwd=tmp_path)
    assert result.returncode == 0 and result.stderr == ""
    assert "model: alquimia, claude, gpt41, gpt41_mini" in result.stdout
    assert "hydra/launcher" not in result.stdout  # Hydra's own groups are --hydra-help's
    assert "  model: openai/gpt-4.1" in result.stdout  # the config with the overrides applied

    mine = tmp_path / "conf" / "model" / "mine.yaml"
    mine.parent.mkdir(parents=True)
    mine.write_text("defaults: [litellm, _self_]\nname: mine\nmodel: openai/mine\n")
    result = run_cli("--config-dir", str(tmp_path / "conf"), "--help", "model=mine", cwd=tmp_path)
    assert result.returncode == 0 and result.stderr == ""
    assert (
        "model: alquimia, claude, gpt41, gpt41_mini, groq_qwen3, http, litellm, local, local_large, mine, "
        in result.stdout
    )
    assert "  name: mine" in result.stdout
