"""Update against full regeneration, on two releases of a real documentation set: pip's own docs.

Usage: .venv/bin/python benchmarks/update.py [--old 23.3] [--new 24.2] [--folders topics ...]

pip ships its documentation (MyST Markdown, docs/html/) in its sdist. The script downloads the two releases'
sdists with pip itself (`pip download --no-binary :all: --no-deps`), takes the pages of the same folders of
docs/html from each (a page only one release has is a document added or removed), and runs
synthgen against the scripted fake server (tests.fake_documents.DocumentModel) on 127.0.0.1: the old release in
full, then the new release twice, in full (no baseline) and as an update (`baseline=` the old run), the call
cache off. It prints kept / retired (by reason) / new items, chunks added / changed / removed, the calls each
run made, and the cost of each as the dry run prices it for `model=gpt41_mini` (litellm's price table).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fake_documents import DocumentModel  # noqa: E402
from tests.fake_openai import FakeOpenAI  # noqa: E402

ENV = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "PYTHONPATH": str(ROOT), "OPENAI_API_KEY": "sk-fake"}
FOLDERS = ("topics",)
SHOWN_RETIRED = 4  # retired items printed with their old and new passage


def pip_docs(version: str, folders: tuple[str, ...], folder: Path) -> Path:
    """The Markdown pages of `folders` of pip `version`'s docs/html, from its sdist, in `folder/pip-<version>`."""
    downloads = folder / "sdists"
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
         f"pip=={version}", "-d", str(downloads)],
        check=True,
    )  # fmt: skip
    docs = folder / f"pip-{version}"
    prefix = f"pip-{version}/docs/html/"
    with tarfile.open(downloads / f"pip-{version}.tar.gz") as archive:
        for member in archive.getmembers():
            page = member.name.removeprefix(prefix)
            if member.isfile() and page.endswith(".md") and page.split("/")[0] in folders:
                content = archive.extractfile(member)
                assert content is not None
                target = docs / page
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content.read())
    return docs


def synthgen(server: FakeOpenAI, docs: Path, out: Path, *extra: str) -> dict[str, Any]:
    """Run synthgen on `docs` into `out` against the fake server; returns its stats and the calls it made."""
    before = len(server.requests)
    args = [
        "model=gpt41_mini", f"model.api_base={server.url}", "model.retries=0", f"source={docs}",
        "mode.answers=true", "cache.mode=off", "report=false", "--quiet", f"hydra.run.dir={out}", *extra,
    ]  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "synthgen", *args], cwd=ROOT, env=ENV, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"synthgen failed: {result.stderr.strip()}")
    calls = len(server.requests) - before
    stats = json.loads((out / "stats.json").read_text()) if (out / "stats.json").is_file() else {}
    return {"calls": calls, "stats": stats}


def dry_run_cost(server: FakeOpenAI, docs: Path, out: Path, *extra: str) -> str:
    """The total estimated cost line of the dry run (calls and cost) for the same run."""
    synthgen(server, docs, out, "dry_run=true", *extra)
    total = next(line for line in (out / "plan.txt").read_text().splitlines() if line.startswith("total")).split()
    return f"{total[1]} calls, {total[2]} prompt + {total[3]} completion tokens, {total[4]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", default="23.3", help="the older pip release")
    parser.add_argument("--new", default="24.2", help="the newer pip release")
    parser.add_argument("--folders", nargs="+", default=list(FOLDERS), help="folders of docs/html/")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        old_docs, new_docs = (pip_docs(version, tuple(args.folders), folder) for version in (args.old, args.new))
        pages = sorted({str(p.relative_to(d)) for d in (old_docs, new_docs) for p in d.rglob("*.md")})
        server = FakeOpenAI(DocumentModel()).start()
        try:
            old = synthgen(server, old_docs, folder / "old")
            full = synthgen(server, new_docs, folder / "full")
            update = synthgen(server, new_docs, folder / "update", f"baseline={folder / 'old'}")
            costs = {
                "full": dry_run_cost(server, new_docs, folder / "full-dry"),
                "update": dry_run_cost(server, new_docs, folder / "update-dry", f"baseline={folder / 'old'}"),
            }
        finally:
            server.stop()
        changes = json.loads((folder / "update" / "changes.json").read_text())
        retired = [json.loads(line) for line in (folder / "update" / "retired.jsonl").read_text().splitlines()]
    print(f"pip {args.old} -> {args.new}, {len(pages)} pages: {', '.join(pages)}")
    print(f"old release, full run: {old['stats']['produced']['queries']} items, {old['calls']} calls")
    print(
        f"update: kept {changes['kept']}, retired {changes['retired']} {changes['retired_by_reason']}, "
        f"new {changes['new']}"
    )
    print(
        f"{'document':<36}{'kept':>6}{'retired':>9}{'new':>6}{'added':>7}{'changed':>9}{'moved':>7}{'same':>6}{'removed':>9}"
    )
    for row in changes["documents"]:
        counts = [row[key] for key in ("kept", "retired", "new", "chunks_added", "chunks_changed", "chunks_moved",
                                       "chunks_unchanged", "chunks_removed")]  # fmt: skip
        print(
            f"{row['document']:<36}"
            + "".join(f"{value:>{width}}" for value, width in zip(counts, (6, 9, 6, 7, 9, 7, 6, 9)))
        )
    passages = {(p["old"], p["new"], item["reason"], item["document"]) for item in retired for p in item["passages"]}
    for old_text, new_text, reason, document in sorted(passages)[:SHOWN_RETIRED]:
        print(f"retired ({reason}, {document}):\n  was: {' '.join(old_text.split())}\n  now: {new_text}")
    ratio = update["calls"] / full["calls"] if full["calls"] else 0.0
    print(f"calls: full regeneration {full['calls']}, update {update['calls']} ({ratio:.0%} of full)")
    print(
        f"items: full regeneration {full['stats']['produced']['queries']}, "
        f"update {update['stats']['produced']['queries']}"
    )
    print(f"dry-run estimate (gpt41_mini): full {costs['full']}; update {costs['update']}")


if __name__ == "__main__":
    main()
