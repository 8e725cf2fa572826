"""Adaptive concurrency benchmark: throughput against a server that serves N requests at once, L seconds each.

Usage: .venv/bin/python benchmarks/adaptive.py [--runs 3] [--seconds 15] [--ceiling 64] [--case N L ...]

For each (N, L) it runs real litellm calls through an AdaptiveLimit whose ceiling is far above N (the limit
must find N from the 429s), and the same calls through a fixed bound of exactly N (the best a user who knew N
could set). It prints the median calls per second of each next to the ideal N / L, the median ratio of adaptive
to fixed over runs made in turn (the steadiest figure on a busy machine), and the 429s per call.
The server runs in a process of its own so it does not share this process's GIL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"

from synthgen.models.adaptive import AdaptiveLimit  # noqa: E402  (after the path and environment set-up)
from tests.adaptive_calls import run_calls  # noqa: E402

CASES = [(4, 0.2), (8, 0.5), (16, 0.5), (32, 1.0)]


class Server:
    """The concurrency-limited fake server in its own process."""

    def __init__(self, slots: int, latency: float) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.fake_limited_server", "--slots", str(slots), "--latency", str(latency)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()

    def rejected(self) -> int:
        with urllib.request.urlopen(self.url.removesuffix("/v1") + "/counts", timeout=10) as response:
            return int(json.load(response)["rejected"])

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


def measure(server: Server, limit: AdaptiveLimit, calls: int) -> tuple[float, float]:
    """Calls per second and 429s per call of one run."""
    before = server.rejected()
    replies, elapsed = asyncio.run(run_calls(limit, server.url, calls))
    assert len(replies) == calls
    return calls / elapsed, (server.rejected() - before) / calls


def main() -> None:
    """Run every case and print a table of medians."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="runs per case; the median is reported")
    parser.add_argument("--seconds", type=float, default=15.0, help="ideal duration of one run (sets the call count)")
    parser.add_argument("--ceiling", type=int, default=64, help="the adaptive limit's ceiling (max_concurrency)")
    parser.add_argument("--case", nargs=2, action="append", metavar=("N", "L"), help="only this N and L (repeatable)")
    args = parser.parse_args()
    cases = [(int(slots), float(latency)) for slots, latency in args.case] if args.case else CASES
    print(
        f"{'N':>3} {'L':>5} {'calls':>5} {'ideal/s':>8} {'fixed N/s':>9} {'adaptive/s':>10} "
        f"{'adaptive/ideal':>14} {'adaptive/fixed':>14} {'429s/call':>9} {'final allowed':>13}"
    )
    for slots, latency in cases:
        ideal = slots / latency
        calls = int(ideal * args.seconds)
        server = Server(slots, latency)
        fixed, adaptive, rejections, allowed = [], [], [], []
        try:
            for _ in range(args.runs):  # interleaved, so a change in the machine's load hits both alike
                fixed.append(measure(server, AdaptiveLimit(slots, adaptive=False), calls)[0])
                limit = AdaptiveLimit(args.ceiling)
                rate, rejected = measure(server, limit, calls)
                adaptive.append(rate)
                rejections.append(rejected)
                allowed.append(limit.allowed)
        finally:
            server.stop()
        median = statistics.median(adaptive)
        ratio = statistics.median(a / f for a, f in zip(adaptive, fixed, strict=True))
        print(
            f"{slots:>3} {latency:>5} {calls:>5} {ideal:>8.1f} {statistics.median(fixed):>9.1f} {median:>10.1f} "
            f"{median / ideal:>14.1%} {ratio:>14.1%} {statistics.median(rejections):>9.2f} "
            f"{statistics.median(allowed):>13}",
            flush=True,
        )


if __name__ == "__main__":
    main()
