"""Throughput, cache, start-up and memory benchmarks against a fake OpenAI server on 127.0.0.1.

Usage: .venv/bin/python benchmarks/throughput.py [--calls 1000] [--quick]

For each latency and concurrency it runs synthgen (document mode, one question per chunk, so one
call per chunk) and a bare loop of litellm.acompletion calls at the same concurrency against the
same server, and prints calls per second next to the two limits: concurrency / latency, and the
bare-litellm ceiling. Then a warm-cache rerun, start-up times, dry-run time, and peak memory of a
dry run over 10,000 generated markdown files.
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
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "PYTHONPATH": str(ROOT)}


def make_corpus(folder: Path, files: int) -> Path:
    """`files` small markdown files of one chunk each."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        (folder / f"doc{i:05d}.md").write_text(
            f"# Device {i}\n\nDevice {i} weighs {i % 50 + 1} kg and runs for {i % 9 + 2} hours on one charge. "
            f"It was released in {1990 + i % 30} and supports {i % 4 + 1} users at once.\n"
        )
    return folder


class Server:
    """The fake server in its own process, so it does not compete for this process's GIL."""

    def __init__(self, latency: float) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.fake_openai", "--latency", str(latency)],
            cwd=ROOT,
            env=ENV,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()

    def count(self) -> int:
        with urllib.request.urlopen(self.url.removesuffix("/v1") + "/count", timeout=10) as response:
            return int(json.load(response)["requests"])

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


def run_synthgen(args: list[str], out: Path) -> dict:
    """Run the CLI, return its stats.json."""
    subprocess.run(
        [sys.executable, "-m", "synthgen", *args, f"hydra.run.dir={out}"],
        cwd=ROOT,
        env=ENV,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return json.loads((out / "stats.json").read_text())


def synthgen_rate(server: Server, corpus: Path, concurrency: int, work: Path, cache: str, *extra: str) -> float:
    stats = run_synthgen(
        [
            *extra,
            "model=openai_compatible",
            f"model.api_base={server.url}",
            f"model.max_concurrency={concurrency}",
            "model.timeout=120",
            f"source={corpus}",
            "mode.num_queries_per_chunk=1",
            "mode.max_top_up_calls=0",
            f"cache.mode={cache}",
            f"cache.path={work / 'cache.sqlite'}",
        ],
        work / f"run-{concurrency}-{cache}-{time.monotonic_ns()}",
    )
    stage = stats["stages"]["questions"]
    return (stage["calls"] + stage["cache_hits"]) / stage["wall_seconds"]


def bare_litellm_rate(url: str, concurrency: int, calls: int) -> float:
    """The ceiling: a bare loop of litellm.acompletion calls, nothing else."""
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    import litellm

    async def loop() -> float:
        gate = asyncio.Semaphore(concurrency)

        async def one(i: int) -> None:
            async with gate:
                await litellm.acompletion(
                    model="openai/bench",
                    api_base=url,
                    api_key="x",
                    max_retries=0,
                    num_retries=0,
                    messages=[{"role": "user", "content": f"Write exactly 1 different questions {i}"}],
                )

        started = time.monotonic()
        await asyncio.gather(*(one(i) for i in range(calls)))
        return calls / (time.monotonic() - started)

    return asyncio.run(loop())


def timed(command: list[str], repeats: int = 5) -> float:
    """Median wall seconds of a command."""
    times = []
    for _ in range(repeats):
        started = time.monotonic()
        subprocess.run(command, cwd=ROOT, env=ENV, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.monotonic() - started)
    return statistics.median(times)


def peak_memory_of_dry_run(corpus: Path, out: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of a dry run over `corpus`, in a fresh child process."""
    code = (
        "import resource, subprocess, sys, time; t = time.monotonic(); "
        f"subprocess.run([sys.executable, '-m', 'synthgen', 'dry_run=true', 'source={corpus}', "
        f"'model=gpt41', 'hydra.run.dir={out}'], check=True, stdout=subprocess.DEVNULL); "
        "print(time.monotonic() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**ENV, "OPENAI_API_KEY": "sk-bench"},
        check=True,
        capture_output=True,
        text=True,
    )
    seconds, mib = result.stdout.split()
    return float(seconds), float(mib)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=1000, help="calls per throughput run (default 1000)")
    parser.add_argument("--latencies", type=float, nargs="+", default=[0.2, 1.0], help="seconds per request")
    parser.add_argument("--concurrencies", type=int, nargs="+", default=[16, 64, 256])
    parser.add_argument("--quick", action="store_true", help="200 ms, concurrency 16, 1,000 files: a smoke test")
    options = parser.parse_args()
    latencies = [0.2] if options.quick else options.latencies
    concurrencies = [16] if options.quick else options.concurrencies
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        corpus = make_corpus(work / "corpus", options.calls)
        print(
            "| latency | concurrency | synthgen calls/s | same, model.adaptive=false | concurrency/latency "
            "| bare litellm calls/s | synthgen / lower limit | fixed / lower limit |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for latency in latencies:
            server = Server(latency)
            try:
                for concurrency in concurrencies:
                    ours = synthgen_rate(server, corpus, concurrency, work, "off")
                    fixed = synthgen_rate(server, corpus, concurrency, work, "off", "model.adaptive=false")
                    bare = bare_litellm_rate(server.url, concurrency, options.calls)
                    lower = min(concurrency / latency, bare)
                    print(
                        f"| {latency * 1000:.0f} ms | {concurrency} | {ours:.1f} | {fixed:.1f} | "
                        f"{concurrency / latency:.1f} | {bare:.1f} | {ours / lower:.0%} | {fixed / lower:.0%} |",
                        flush=True,
                    )
            finally:
                server.stop()

        server = Server(0.2)
        try:
            synthgen_rate(server, corpus, 64, work, "use")
            before = server.count()
            warm = synthgen_rate(server, corpus, 64, work, "use")
            print(
                f"\nwarm cache: {warm:.0f} calls/s served from cache; server requests during the rerun: "
                f"{server.count() - before}"
            )
        finally:
            server.stop()

        help_s = timed([sys.executable, "-m", "synthgen", "--help"])
        cfg_s = timed([sys.executable, "-m", "synthgen", "--cfg", "job"])
        dry_s = timed([sys.executable, "-m", "synthgen", "dry_run=true", f"hydra.run.dir={work / 'dry'}"], 3)
        print(
            f"start-up (median): --help {help_s:.2f} s, --cfg job {cfg_s:.2f} s; "
            f"dry_run=true on examples/ {dry_s:.2f} s"
        )

        big = make_corpus(work / "big", 1000 if options.quick else 10_000)
        seconds, mib = peak_memory_of_dry_run(big, work / "big-dry")
        print(f"dry run over {len(list(big.iterdir()))} markdown files: {seconds:.1f} s, peak RSS {mib:.0f} MiB")


if __name__ == "__main__":
    main()
