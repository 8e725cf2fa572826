"""Process wall time of a whole synthgen run, cold and from a warm call cache, next to a bare OpenAI SDK loop.

Usage: .venv/bin/python benchmarks/startup.py [--calls 200] [--concurrency 16] [--repeats 3]

Against the fake OpenAI server on 127.0.0.1 (50 ms per request): synthgen generates one question per chunk of
`--calls` one-chunk files (cold: a fresh call cache), then reruns into a new directory with the same cache
(warm: every call replayed, no request). The reference is a bare `openai.AsyncOpenAI` loop making the same number
of calls at the same concurrency, as its own process. Medians of `--repeats` runs; the warm run is also checked
for importing litellm (it should not: nothing misses the cache).
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
        "report=false",
        f"cache.path={cache}",
        f"hydra.run.dir={out}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args()
    cold, warm, bare = [], [], []
    imports_litellm = False
    server = Server(0.05)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            corpus = make_corpus(work / "corpus", options.calls)
            for repeat in range(options.repeats):
                cache = work / f"cache-{repeat}.sqlite"
                cold.append(wall(synthgen_run(server, corpus, cache, work / f"cold-{repeat}", options.concurrency))[0])
                warm.append(wall(synthgen_run(server, corpus, cache, work / f"warm-{repeat}", options.concurrency))[0])
                bare.append(
                    wall([sys.executable, "-c", BARE_LOOP, server.url, str(options.calls), str(options.concurrency)])[0]
                )
            before = server.count()
            traced = synthgen_run(server, corpus, cache, work / "traced", options.concurrency, "-X", "importtime")
            imports_litellm = "litellm" in wall(traced)[1]
            assert server.count() == before, "the warm rerun made requests"
    finally:
        server.stop()
    cold_s, warm_s, bare_s = (statistics.median(times) for times in (cold, warm, bare))
    print(f"| run ({options.calls} calls, concurrency {options.concurrency}, 50 ms each) | median wall s | vs bare |")
    print("|---|---|---|")
    print(f"| bare openai SDK loop (reference) | {bare_s:.2f} | 1.00 |")
    print(f"| synthgen, cold cache | {cold_s:.2f} | {cold_s / bare_s:.2f} |")
    print(f"| synthgen, warm cache (0 requests) | {warm_s:.2f} | {warm_s / bare_s:.2f} |")
    print(f"\nwarm rerun imports litellm: {'yes' if imports_litellm else 'no'}")


if __name__ == "__main__":
    main()
