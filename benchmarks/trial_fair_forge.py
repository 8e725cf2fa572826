"""Fair-Forge's own runner next to mode=trial, against the same fake Alquimia agent on 127.0.0.1.

Usage: /path/to/python benchmarks/trial_fair_forge.py --fair-forge-python VENV/bin/python
       [--items 200] [--latency 0.2] [--concurrency 16] [--repeats 3]

VENV is a scratch virtualenv with `pip install alquimia-fair-forge alquimia-client` (Fair-Forge's only runner,
`AlquimiaRunner`, needs the client). The same set of single-turn datasets is answered three ways against one fake
agent (tests/fake_alquimia.py: the agent waits `--latency` seconds before it streams its answer):

- `python -m synthgen mode=trial model=alquimia` (deterministic scoring, a fresh cache, process start included);
- Fair-Forge's `AlquimiaRunner.run_dataset` over the datasets one after another, as its API offers them;
- the same runner under `asyncio.gather` with a semaphore of `--concurrency`, the loop a user would write.

Each is timed from process start to exit (the Fair-Forge process imports fair_forge first) and the medians of
items per second are printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.trial import make_set  # noqa: E402
from tests.fake_alquimia import FakeAlquimia, Recorded, Turn  # noqa: E402

API_KEY = "k-bench"
ENV = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "PYTHONPATH": str(ROOT), "ALQUIMIA_API_KEY": API_KEY}
FAIR_FORGE = """
import asyncio, json, sys
from fair_forge.runners import AlquimiaRunner
from fair_forge.schemas.common import Dataset

source, url, key, concurrency = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
datasets = [Dataset.model_validate(json.loads(line)) for line in open(source)]
runner = AlquimiaRunner(base_url=url, api_key=key, agent_id="agent", channel_id="channel")

async def main():
    if concurrency <= 1:
        results = [await runner.run_dataset(dataset) for dataset in datasets]
    else:
        limit = asyncio.Semaphore(concurrency)
        async def one(dataset):
            async with limit:
                return await runner.run_dataset(dataset)
        results = await asyncio.gather(*(one(dataset) for dataset in datasets))
    assert all(summary["failures"] == 0 for _, summary in results), "a call failed"

asyncio.run(main())
"""


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=ENV, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fair-forge-python", required=True, type=Path)
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    def agent(request: Recorded) -> Turn:
        return Turn(answer=f"It weighs what the page says ({request.body['query'] if request.body else ''}).",
                    stall=args.latency)  # fmt: skip

    server = FakeAlquimia(agent, api_key=API_KEY).start()
    timings: dict[str, list[float]] = {"synthgen": [], "fair_forge_sequential": [], "fair_forge_gather": []}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            source = make_set(folder / "set.jsonl", args.items)
            fair_forge = [str(args.fair_forge_python), "-c", FAIR_FORGE, str(source), server.url, API_KEY]
            for repeat in range(args.repeats):
                timings["synthgen"].append(
                    timed(
                        [
                            sys.executable,
                            "-m",
                            "synthgen",
                            "mode=trial",
                            f"source={source}",
                            "mode.judge.enabled=false",
                            "model=alquimia",
                            f"model.alquimia.base_url={server.url}",
                            "model.alquimia.agent_id=agent",
                            "model.alquimia.channel_id=channel",
                            f"model.max_concurrency={args.concurrency}",
                            "model.adaptive=false",
                            f"cache.path={folder / f'cache{repeat}.sqlite'}",
                            f"hydra.run.dir={folder / f'run{repeat}'}",
                            "report=false",
                            "--quiet",
                        ]
                    )
                )
                timings["fair_forge_sequential"].append(timed([*fair_forge, "1"]))
                timings["fair_forge_gather"].append(timed([*fair_forge, str(args.concurrency)]))
    finally:
        server.stop()
    print(f"{args.items} items, agent latency {args.latency}s, concurrency {args.concurrency}, {args.repeats} repeats")
    for name, seconds in timings.items():
        median = statistics.median(seconds)
        print(f"{name:24} {args.items / median:7.1f} items/s  ({median:.1f} s)")


if __name__ == "__main__":
    main()
