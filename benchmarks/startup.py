"""Process wall time of a whole synthgen run, cold and from a warm call cache, next to latteries' `par_map_async`
script and a bare OpenAI SDK loop.

Usage: .venv/bin/python benchmarks/startup.py [--calls 200] [--concurrency 16] [--latency 0.2] [--repeats 3]
                                              [--latteries-python /path/to/venv/bin/python]

Against the fake OpenAI server on 127.0.0.1 (`--latency` seconds per request): synthgen generates one question per
chunk of `--calls` one-chunk files (cold: a fresh call cache), then reruns into a new directory with the same cache
(warm: every call replayed, no request), writing its outputs and report as a user's run does. The references, each
its own process making the same number of calls at the same concurrency: a bare `openai.AsyncOpenAI` loop, and,
with `--latteries-python` (a Python with `pip install latteries`; it is not a synthgen dependency), latteries'
`OpenAICaller` under `Slist.par_map_async` with its file cache, cold and then warm from that cache, writing its
replies to a file. Medians of `--repeats` runs; the warm run is also checked for importing litellm (it should
not: nothing misses the cache).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import ENV, ROOT, Server, make_corpus

BARE_LOOP = """
import asyncio, sys
from openai import AsyncOpenAI

async def main(url, calls, concurrency):
    client = AsyncOpenAI(base_url=url, api_key="x", max_retries=0)
    gate = asyncio.Semaphore(concurrency)
    async def one(i):
        async with gate:
            await client.chat.completions.create(
                model="bench", messages=[{"role": "user", "content": f"Write exactly 1 different questions {i}"}])
    await asyncio.gather(*(one(i) for i in range(calls)))

asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
"""
# latteries' README way of making many calls: its cached caller under Slist.par_map_async, results to a file.
LATTERIES = """
import asyncio, json, sys
from openai import AsyncOpenAI
from slist import Slist
from latteries.caller import ChatHistory, InferenceConfig, OpenAICaller

async def main(url, calls, concurrency, cache, out):
    caller = OpenAICaller(cache_path=cache, openai_client=AsyncOpenAI(base_url=url, api_key="x", max_retries=0))
    config = InferenceConfig(model="bench", temperature=0.0, max_tokens=100)
    prompts = Slist(ChatHistory.from_user(f"Write exactly 1 different questions {i}") for i in range(calls))
    results = await prompts.par_map_async(lambda prompt: caller.call(prompt, config), max_par=concurrency, tqdm=True)
    await caller.flush()
    with open(out, "w") as file:
        file.writelines(json.dumps({"reply": result.first_response}) + "\\n" for result in results)

asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]))
"""


def wall(command: list[str]) -> tuple[float, str]:
    """Seconds a command takes as a process, and its stderr."""
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, env=ENV, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.monotonic() - started, done.stderr.decode()


def synthgen_run(server: Server, corpus: Path, cache: Path, out: Path, concurrency: int, *python: str) -> list[str]:
    """The command line of one synthgen run into `out` with call cache `cache`."""
    return [
        sys.executable,
        *python,
        "-m",
        "synthgen",
        "model=openai_compatible",
        f"model.api_base={server.url}",
        f"model.max_concurrency={concurrency}",
        f"source={corpus}",
        "mode.num_queries_per_chunk=1",
        "mode.max_top_up_calls=0",
        f"cache.path={cache}",
        f"hydra.run.dir={out}",
    ]


def latteries_run(python: str, server: Server, calls: int, concurrency: int, cache: Path, out: Path) -> list[str]:
    """The command line of latteries' script with its cache folder `cache`, writing its replies to `out`."""
    return [python, "-c", LATTERIES, server.url, str(calls), str(concurrency), str(cache), str(out)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per request of the fake server")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--latteries-python", help="a Python with latteries installed, for its reference runs")
    options = parser.parse_args()
    times: dict[str, list[float]] = {}
    imports_litellm = False
    server = Server(options.latency)
    calls, concurrency = options.calls, options.concurrency
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            corpus = make_corpus(work / "corpus", calls)
            for repeat in range(options.repeats):
                cache = work / f"cache-{repeat}.sqlite"
                runs = {
                    "synthgen, cold cache": synthgen_run(server, corpus, cache, work / f"cold-{repeat}", concurrency),
                    "synthgen, warm cache (0 requests)": synthgen_run(
                        server, corpus, cache, work / f"warm-{repeat}", concurrency
                    ),
                    "bare openai SDK loop": [sys.executable, "-c", BARE_LOOP, server.url, str(calls), str(concurrency)],
                }
                if options.latteries_python:
                    folder, python = work / f"latteries-{repeat}", options.latteries_python
                    runs["latteries par_map_async, cold cache"] = latteries_run(
                        python, server, calls, concurrency, folder, work / f"latteries-cold-{repeat}.jsonl"
                    )
                    runs["latteries par_map_async, warm cache"] = latteries_run(
                        python, server, calls, concurrency, folder, work / f"latteries-warm-{repeat}.jsonl"
                    )
                for name, command in runs.items():  # in order: each warm run follows its cold one
                    times.setdefault(name, []).append(wall(command)[0])
            before = server.count()
            traced = synthgen_run(server, corpus, cache, work / "traced", concurrency, "-X", "importtime")
            imports_litellm = "litellm" in wall(traced)[1]
            assert server.count() == before, "the warm rerun made requests"
    finally:
        server.stop()
    medians = {name: statistics.median(values) for name, values in times.items()}
    reference = {
        "cold": medians.get("latteries par_map_async, cold cache", medians["bare openai SDK loop"]),
        "warm": medians.get("latteries par_map_async, warm cache", medians["bare openai SDK loop"]),
    }
    against = "latteries" if options.latteries_python else "bare loop"
    print(
        f"| run ({calls} calls, concurrency {concurrency}, {options.latency * 1000:.0f} ms each) | median wall s "
        f"| vs {against} |"
    )
    print("|---|---|---|")
    for name, seconds in medians.items():
        print(f"| {name} | {seconds:.2f} | {seconds / reference['warm' if 'warm' in name else 'cold']:.2f} |")
    print(f"\nwarm rerun imports litellm: {'yes' if imports_litellm else 'no'}")


if __name__ == "__main__":
    main()
