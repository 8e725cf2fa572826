"""Ctrl-C (SIGINT) sent to a real run in a subprocess, against a fake server that counts the requests it gets."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from synthgen.models.cache import CallCache
from tests.cli import read_jsonl, run_cli
from tests.fake_openai import FakeOpenAI, questions_with_latency
from tests.test_cli import ONLY_FACTUAL

DOC = "\n\n".join(
    f"# Topic {i}\n\nTopic {i} is about item number {i}, which weighs {i * 3} kg and costs {i * 7} euros. "
    f"It was first made in {1950 + i} and is still sold in {i + 2} countries today."
    for i in range(8)
)
UNITS = 8  # one dataset of one chunk per topic, one call each


def run_args(server: FakeOpenAI, tmp_path: Path) -> list[str]:
    source = tmp_path / "topics.md"
    source.write_text(DOC)
    return [
        "model=openai_compatible",
        f"model.api_base={server.url}",
        "model.max_concurrency=2",
        "mode.num_queries_per_chunk=2",
        "mode.roundtrip.enabled=false",  # one call per unit: each finished call is a written dataset
        *ONLY_FACTUAL,
        f"source={source}",
        "loader.min_chunk_size=10",
        "strategy=random",
        f"strategy.num_samples={UNITS}",
        "strategy.chunks_per_sample=1",
        f"cache.path={tmp_path / 'calls.sqlite'}",
        f"hydra.run.dir={tmp_path / 'run'}",
    ]


def start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    return subprocess.Popen(
        [sys.executable, "-m", "synthgen", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def wait_for_requests(server: FakeOpenAI, count: int) -> None:
    deadline = time.monotonic() + 120
    while len(server.requests) < count:
        assert time.monotonic() < deadline, "the run never reached the server"
        time.sleep(0.02)


def test_ctrl_c_writes_what_finished_and_the_rerun_repeats_no_finished_call(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    fake_openai.responder = questions_with_latency(0.4)
    args = run_args(fake_openai, tmp_path)
    process = start(args, tmp_path)
    wait_for_requests(fake_openai, 3)
    process.send_signal(signal.SIGINT)
    at_signal = len(fake_openai.requests)
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 130
    [line] = stderr.strip().splitlines()
    out = tmp_path / "run"
    assert line.startswith("synthgen: interrupted:") and f"hydra.run.dir={out}" in line, line
    assert len(fake_openai.requests) - at_signal <= 2  # at most the calls already on their way (concurrency 2)
    stats = json.loads((out / "stats.json").read_text())
    written = read_jsonl(out / "datasets.jsonl")
    assert stats["status"] == "interrupted" and stats["skipped"] > 0
    assert stats["produced"]["datasets"] == len(written) < UNITS
    finished = len(CallCache(tmp_path / "calls.sqlite", "use"))
    assert finished == len(written)  # every finished call reached the cache and wrote its dataset
    first_run = len(fake_openai.requests)

    rerun = run_cli(*args, cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    stats = json.loads((out / "stats.json").read_text())
    assert stats["cache_hits"] == finished  # every finished call is replayed from the cache, none made again
    assert stats["calls"] == len(fake_openai.requests) - first_run >= UNITS - finished
    datasets = read_jsonl(out / "datasets.jsonl")
    assert len(datasets) == len({d["session_id"] for d in datasets}) == UNITS


def test_calls_still_running_after_the_grace_period_are_cancelled(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.responder = questions_with_latency(120)  # would hold the run for two minutes
    process = start(run_args(fake_openai, tmp_path), tmp_path)
    wait_for_requests(fake_openai, 2)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)  # long before any reply could come

    assert process.returncode == 130 and "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1
    stats = json.loads((tmp_path / "run" / "stats.json").read_text())
    assert stats["status"] == "interrupted" and stats["calls"] == 0
    assert len(CallCache(tmp_path / "calls.sqlite", "use")) == 0  # a cancelled call is not a finished one


def test_a_second_ctrl_c_stops_at_once(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.responder = questions_with_latency(120)
    process = start(run_args(fake_openai, tmp_path), tmp_path)
    wait_for_requests(fake_openai, 1)
    process.send_signal(signal.SIGINT)
    time.sleep(0.3)  # two signals sent together could reach the process as one
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 130
    [line] = stderr.strip().splitlines()
    assert line.startswith("synthgen: interrupted: stopped at once") and "Traceback" not in stderr
    stats = json.loads((tmp_path / "run" / "stats.json").read_text())  # its only cleanup: how the run ended
    assert (stats["status"], stats["exit_code"]) == ("interrupted", 130)


def test_sigterm_is_handled_like_ctrl_c_and_the_rerun_resumes_exactly(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.responder = questions_with_latency(0.4)
    args = run_args(fake_openai, tmp_path)
    process = start(args, tmp_path)
    wait_for_requests(fake_openai, 3)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 143, stderr
    [line] = stderr.strip().splitlines()
    assert line.startswith("synthgen: interrupted:") and "Traceback" not in stderr, line
    out = tmp_path / "run"
    stats = json.loads((out / "stats.json").read_text())
    assert stats["status"] == "interrupted" and stats["exit_code"] == 143
    finished = len(CallCache(tmp_path / "calls.sqlite", "use"))
    assert finished == len(read_jsonl(out / "datasets.jsonl")) < UNITS
    first_run = len(fake_openai.requests)

    rerun = run_cli(*args, cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    stats = json.loads((out / "stats.json").read_text())
    assert stats["cache_hits"] == finished and stats["calls"] == len(fake_openai.requests) - first_run
    assert len(read_jsonl(out / "datasets.jsonl")) == UNITS


SLOW_THREAD = """
import asyncio, signal, sys, time
from synthgen.run.interrupt import run_interruptibly

def terminated(signum, frame):  # what the synthgen command installs outside a run
    raise SystemExit("terminated outside the run")

async def main():
    work = asyncio.to_thread(time.sleep, 120)  # as the embedded model generates: a thread that cannot be cancelled
    print("interrupted by", await run_interruptibly(work, stop=lambda: None, grace=0.1), flush=True)

signal.signal(signal.SIGTERM, terminated)
asyncio.run(main())
"""


def test_a_second_signal_stops_at_once_while_a_generation_runs_on_in_its_thread(tmp_path: Path) -> None:
    import subprocess
    import sys

    process = subprocess.Popen(
        [sys.executable, "-c", SLOW_THREAD], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    time.sleep(3)  # the interpreter has started and the thread sleeps
    process.send_signal(signal.SIGTERM)
    assert process.stdout is not None and process.stdout.readline().strip() == "interrupted by 15"
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)  # the run is over, its thread is not: before, this waited for the thread
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 143 and time.monotonic() - started < 30
    assert stderr.strip() == "synthgen: interrupted: stopped at once (to resume, rerun the command)"
