"""Trial throughput against a fake assistant on 127.0.0.1, next to a bare loop of litellm calls.

Usage: /path/to/python benchmarks/trial.py [--items 400] [--latency 0.2] [--concurrency 16] [--repeats 3]

A set of single-turn datasets is answered by `mode=trial` (deterministic scoring, a fresh cache) and by a bare
asyncio loop of litellm.acompletion calls at the same concurrency against the same server (its own process); the
medians of items per second are printed with the ceiling concurrency / latency, then a warm-cache rerun.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.throughput import Server

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # the bare loop's litellm: never fetch the price map
ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "PYTHONPATH": str(ROOT)}


def make_set(path: Path, items: int) -> Path:
    rows = [
        {
            "session_id": f"s{i}",
            "assistant_id": "synthgen-assistant",
            "language": "english",
            "context": f"Device {i} weighs {i % 50 + 1} kg.",
            "conversation": [
                {
                    "qa_id": f"q{i}",
                    "query": f"How much does device {i} weigh?",
                    "assistant": "",
                    "ground_truth_assistant": f"Device {i} weighs {i % 50 + 1} kg.",
                    "agentic": {"question_type": "factual", "difficulty": "easy", "document": "devices.md"},
                }
            ],
        }
        for i in range(items)
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def run_trial(server: Server, source: Path, run_dir: Path, cache: Path, concurrency: int) -> float:
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable, "-m", "synthgen", "mode=trial", f"source={source}", "mode.judge.enabled=false",
            "model=openai_compatible", f"model.api_base={server.url}", f"model.max_concurrency={concurrency}",
            "model.adaptive=false", f"cache.path={cache}", f"hydra.run.dir={run_dir}", "report=false", "--quiet",
        ],
        cwd=ROOT, env=ENV, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return time.perf_counter() - started


async def bare_loop(server: Server, items: int, concurrency: int) -> float:
    import litellm

    limit = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with limit:
            await litellm.acompletion(
                model="openai/local-model",
                api_base=server.url,
                api_key="x",
                messages=[{"role": "user", "content": f"How much does device {i} weigh?"}],
            )

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(items)))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=400)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    server = Server(args.latency)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            source = make_set(folder / "set.jsonl", args.items)
            trial, bare, warm = [], [], []
            for repeat in range(args.repeats):
                cache = folder / f"cache{repeat}.sqlite"
                trial.append(args.items / run_trial(server, source, folder / f"run{repeat}", cache, args.concurrency))
                warm.append(args.items / run_trial(server, source, folder / f"run{repeat}", cache, args.concurrency))
                bare.append(args.items / asyncio.run(bare_loop(server, args.items, args.concurrency)))
    finally:
        server.stop()
    ceiling = args.concurrency / args.latency
    print(f"{args.items} items, latency {args.latency}s, concurrency {args.concurrency}: ceiling {ceiling:.1f}/s")
    print(f"mode=trial (process start included): {statistics.median(trial):.1f} items/s")
    print(f"bare litellm loop:                   {statistics.median(bare):.1f} items/s")
    print(f"ratio trial / bare:                  {statistics.median(trial) / statistics.median(bare):.2f}")
    print(f"warm-cache rerun:                    {statistics.median(warm):.1f} items/s")


if __name__ == "__main__":
    main()
