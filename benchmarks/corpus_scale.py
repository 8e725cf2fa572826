"""Planning scale: dry-run wall time and peak memory over generated corpora of 1 to 32 MB.

Usage: .venv/bin/python benchmarks/corpus_scale.py [--sizes 1 2 4 8 16 32] [--runs 1] [--layouts one many]
       [--reference DIR --reference-max-mb 2] [--real-run 10000]

Each corpus is generated Markdown (sections of paragraphs over a fixed vocabulary, with identifiers shared by a
few sections, so multi-hop linking has work to do), as one file or as many files of about 4.4 KB. Each dry run
(`mode=queries`, the standard question types, `model=gpt41`: priced, never called) is its own process; its wall
time and peak RSS come from `os.wait4`, and the table shows the growth ratio to the size before. `--reference`
runs another checkout (e.g. main before a change) on the same corpora in the same run, up to
`--reference-max-mb` (it may be quadratic) and within `--timeout`. `--real-run N` then runs N small files
against the fake OpenAI server (one question per file) next to the 1,000-file run of benchmarks/throughput.py.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from throughput import Server, make_corpus, synthgen_rate  # noqa: E402  (after the path set-up)

MB = 1_000_000
Measured = tuple[float, float, float] | None  # wall seconds, CPU seconds and peak MiB; None past the timeout
FILE_SIZE = 4_400  # bytes per file of the many-files layout (32 MB is about 7,500 files)
WORDS = [f"word{i}" for i in range(200)]  # the common words every section uses


def section(rng: random.Random, number: int) -> str:
    """One section: a heading and a few paragraphs, naming two identifiers shared with a few other sections."""
    names = [f"option_{rng.randrange(number // 8 + 50)}", f"module.part{rng.randrange(number // 8 + 50)}"]
    paragraphs = []
    for _ in range(rng.randint(2, 4)):
        sentences = []
        for _ in range(rng.randint(3, 6)):
            words = rng.choices(WORDS, k=rng.randint(8, 16))
            words[rng.randrange(len(words))] = rng.choice(names)
            sentences.append(" ".join(words).capitalize() + ".")
        paragraphs.append(" ".join(sentences))
    return f"## Section {number}\n\n" + "\n\n".join(paragraphs) + "\n\n"


def corpus_text(size: int, seed: int = 7) -> list[str]:
    """Sections totalling about `size` bytes."""
    rng = random.Random(seed)
    sections: list[str] = []
    total = 0
    while total < size:
        sections.append(section(rng, len(sections)))
        total += len(sections[-1])
    return sections


def write_corpus(folder: Path, size: int, layout: str) -> Path:
    """The corpus of `size` bytes as one file, or as files of about FILE_SIZE bytes; returns the source path."""
    folder.mkdir(parents=True)
    sections = corpus_text(size)
    if layout == "one":
        path = folder / "corpus.md"
        path.write_text("# Corpus\n\n" + "".join(sections), encoding="utf-8")
        return path
    files, current, number = [], "", 0
    for text in sections:
        current += text
        if len(current) >= FILE_SIZE:
            files.append(current)
            current = ""
    files.append(current)
    for number, text in enumerate(files):
        (folder / f"doc{number:05d}.md").write_text(f"# Page {number}\n\n{text}", encoding="utf-8")
    return folder


def dry_run(tree: Path, source: Path, out: Path, timeout: float) -> Measured:
    """Wall seconds, CPU seconds (user + system: steadier than wall time on a shared machine) and peak RSS (MiB)
    of one dry run of the code in `tree`, or None past `timeout`."""
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "PYTHONPATH": str(tree), "OPENAI_API_KEY": "sk-x"}
    command = [sys.executable, "-m", "synthgen", "dry_run=true", "model=gpt41", f"source={source}"]
    started = time.monotonic()
    process = subprocess.Popen(
        [*command, "quiet=true", f"hydra.run.dir={out}"], cwd=tree, env=env, stdout=subprocess.DEVNULL
    )
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() - started > timeout:
            process.kill()
            os.wait4(process.pid, 0)
            return None
        time.sleep(0.05)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"the dry run over {source} failed with exit code {process.returncode}")
    return time.monotonic() - started, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def measure(tree: Path, source: Path, work: Path, runs: int, timeout: float) -> Measured:
    """The medians over `runs` dry runs, None if one ran past `timeout`."""
    results = []
    for run in range(runs):
        result = dry_run(tree, source, work / f"run-{time.monotonic_ns()}-{run}", timeout)
        if result is None:
            return None
        results.append(result)
    wall, cpu, memory = (statistics.median(values) for values in zip(*results))
    return wall, cpu, memory


def shown(result: Measured, before: Measured, timeout: float) -> str:
    """Table cells: wall seconds, CPU seconds, MiB, and the growth ratios to the size before."""
    if result is None:
        return f"> {timeout:.0f} | – | – | – | – | –"
    cells = f"{result[0]:.1f} | {result[1]:.1f} | {result[2]:.0f}"
    if before is None:
        return f"{cells} | – | – | –"
    return cells + "".join(f" | {now / then:.2f}x" for now, then in zip(result, before))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=float, nargs="+", default=[1, 2, 4, 8, 16, 32], help="corpus sizes in MB")
    parser.add_argument("--layouts", nargs="+", default=["one", "many"], choices=["one", "many"])
    parser.add_argument("--runs", type=int, default=1, help="dry runs per size; the median is reported")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds before a dry run is stopped")
    parser.add_argument("--reference", type=Path, help="another checkout to measure on the same corpora")
    parser.add_argument("--reference-max-mb", type=float, default=2.0, help="largest corpus the reference runs")
    parser.add_argument("--real-run", type=int, default=0, help="files of a real run against the fake server")
    options = parser.parse_args()
    trees = [("this tree", ROOT)] + ([("reference", options.reference.resolve())] if options.reference else [])
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        tiny = write_corpus(work / "tiny", 2_000, "one")
        for name, tree in trees:  # the same dry run over 2 KB: imports (litellm's, for pricing), compose, checks
            startup = measure(tree, tiny, work, max(options.runs, 3), options.timeout)
            assert startup is not None
            print(f"start-up ({name}, a 2 KB corpus): {startup[0]:.1f} s, {startup[1]:.1f} CPU s, {startup[2]:.0f} MiB")
        print("\n| code | layout | MB | files | dry-run s | CPU s | peak MiB | time ratio | CPU ratio | memory ratio |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for layout in options.layouts:
            before: dict[str, Measured] = {}
            for size in options.sizes:
                source = write_corpus(work / f"{layout}-{size}", int(size * MB), layout)
                files = 1 if source.is_file() else len(list(source.iterdir()))
                for name, tree in trees:
                    if name == "reference" and size > options.reference_max_mb:
                        continue
                    result = measure(tree, source, work, options.runs, options.timeout)
                    cells = shown(result, before.get(name), options.timeout)
                    print(f"| {name} | {layout} | {size:g} | {files} | {cells} |", flush=True)
                    before[name] = result
        if options.real_run:
            real_run(work, options.real_run)


def real_run(work: Path, files: int) -> None:
    """Calls per second of a real run over `files` small files, next to the 1,000-file run (200 ms, 64 in flight)."""
    server = Server(0.2)
    try:
        print("\n| files | calls/s (200 ms latency, 64 in flight) |\n|---|---|")
        for count in (1000, files):
            corpus = make_corpus(work / f"small-{count}", count)
            rate = synthgen_rate(server, corpus, 64, work, "off", "report=false")  # see docs/scale.md
            print(f"| {count} | {rate:.1f} |", flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
