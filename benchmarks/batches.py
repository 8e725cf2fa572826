"""How many provider batches a `model.batch=true` job makes, against the fake OpenAI Files + Batches server.

Usage: .venv/bin/python benchmarks/batches.py [--chunks 120]

One markdown file of `--chunks` sections, one question per chunk, as a whole `python -m synthgen` process: once with
the defaults (questions, and top-ups for what is rejected) and once with answers and the judge on (three rounds of
dependent calls). Prints the batches each job created and the requests in each; a job should make about one batch
per round of dependent calls, not one per concurrency slot's worth of calls.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import ENV, ROOT

sys.path.insert(0, str(ROOT))
from tests.fake_batch_server import FakeBatchServer, document_replies

JOBS = {
    "defaults (questions, top-ups)": [],
    "answers and judge": ["mode.answers=true", "mode.judge.enabled=true"],
}


def batches_of(chunks: int, extra: list[str], work: Path) -> tuple[list[int], dict[str, int], float]:
    """The requests in each batch one job created, its calls per stage, and its wall seconds."""
    source = work / "topics.md"
    source.write_text(
        "\n\n".join(f"# Topic {i}\n\nTopic {i} is about item {i}, which weighs {i} kg." for i in range(chunks))
    )
    server = FakeBatchServer(document_replies).start()
    out = work / f"run-{time.monotonic_ns()}"
    command = [
        sys.executable,
        "-m",
        "synthgen",
        "model=openai_compatible",
        f"model.api_base={server.url}",
        "model.batch=true",
        "model.batch_poll_interval=0.1",
        "mode.num_queries_per_chunk=1",
        f"source={source}",
        "loader.min_chunk_size=10",
        f"cache.path={out / 'calls.sqlite'}",
        f"hydra.run.dir={out}",
        *extra,
    ]
    started = time.monotonic()
    try:
        subprocess.run(command, cwd=ROOT, env=ENV, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        sizes = [len(server.requests_of(batch)) for batch in server.created]
    finally:
        server.stop()
    stages = json.loads((out / "stats.json").read_text())["stages"]
    return sizes, {name: stage["calls"] for name, stage in stages.items()}, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=120)
    options = parser.parse_args()
    print(f"| job ({options.chunks} one-question chunks) | calls per stage | batches | requests per batch | wall s |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, extra in JOBS.items():
            sizes, calls, seconds = batches_of(options.chunks, extra, Path(tmp))
            stages = ", ".join(f"{stage} {count}" for stage, count in calls.items())
            print(f"| {name} | {stages} | {len(sizes)} | {', '.join(map(str, sizes))} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
