"""Prompt characters and calls per kept item: synthgen's defaults next to Fair-Forge's `generate_dataset`, in one
run, on one generated document, against the same fake OpenAI-compatible server on 127.0.0.1.

Usage: .venv/bin/python benchmarks/prompt_chars.py [--sections 20] [--section-chars 600]

The document has `--sections` sections of about `--section-chars` characters. synthgen runs as a user runs it
(`python -m synthgen model=openai_compatible ...`, the default mode and type mix, 3 questions per chunk, a fresh
cache); its replies come from tests/fake_documents.py (questions quoting their excerpts, round trips coming back
to them, so every check can pass). Fair-Forge's `BaseGenerator.generate_dataset` (3 queries per chunk, one call
per chunk) runs with a LangChain `ChatOpenAI` on the same server, parsing JSON from the reply
(`use_structured_output=False`: the fake server does not speak tool calls). Prompt characters are those of every
message a request carries. Fair-Forge checks nothing and keeps every query; synthgen's kept items are those its
checks passed. The last line counts the free-text string fields without `maxLength` in synthgen's reply schemas.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fake_documents import DocumentModel  # noqa: E402
from tests.fake_openai import FakeOpenAI, Reply  # noqa: E402

FAIR_FORGE_MODEL = "fair-forge-generator"
WORDS = ["timer", "callback", "delay", "interval", "event", "loop", "process", "handle"]
WORDS += ["queue", "promise", "signal", "abort", "value", "option"]


def document(sections: int, chars: int) -> str:
    """A Markdown document of `sections` sections of about `chars` characters, each sentence distinct."""
    parts = ["# Scheduler Guide"]
    for number in range(1, sections + 1):
        sentences: list[str] = []
        size = 0
        while size < chars:
            index = len(sentences)
            a, b = WORDS[(number + index) % len(WORDS)], WORDS[(number * 3 + index) % len(WORDS)]
            sentence = f"Section {number} rule {index}: the {a} waits {number * 10 + index} ms before the {b} runs."
            sentences.append(sentence)
            size += len(sentence) + 1
        parts.append(f"## Part {number}\n\n" + " ".join(sentences))
    return "\n\n".join(parts) + "\n"


def respond(request: dict[str, Any]) -> Reply:
    """Fair-Forge's calls get three queries as JSON; synthgen's the scripted document model's replies."""
    if request.get("model") == FAIR_FORGE_MODEL:
        queries = [{"query": f"Question {n}?", "difficulty": "easy", "query_type": "factual"} for n in range(3)]
        return Reply(content=json.dumps({"queries": queries, "chunk_summary": "A part of the guide."}))
    return DocumentModel()(request)


def prompt_chars(requests: list[dict[str, Any]]) -> int:
    """The characters of every message of `requests`."""
    return sum(len(str(message.get("content") or "")) for request in requests for message in request["messages"])


def unbounded_strings(schema: Any) -> int:
    """Free-text string fields (no enum, no maxLength) anywhere in a JSON schema."""
    if isinstance(schema, list):
        return sum(unbounded_strings(part) for part in schema)
    if not isinstance(schema, dict):
        return 0
    own = int(schema.get("type") == "string" and "enum" not in schema and "maxLength" not in schema)
    return own + sum(unbounded_strings(value) for value in schema.values())


def run_synthgen(server: FakeOpenAI, doc: Path, out: Path) -> int:
    """Run synthgen with its defaults on `doc`; its kept items."""
    command = [
        sys.executable, "-m", "synthgen", "model=openai_compatible", f"model.api_base={server.url}",
        f"source={doc}", f"hydra.run.dir={out}", f"cache.path={out.parent / 'calls.sqlite'}",
        "report=false", "--quiet",
    ]  # fmt: skip
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "OPENAI_API_KEY": "sk-bench"}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"synthgen exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return int(json.loads((out / "stats.json").read_text())["counts"]["kept"])


def run_fair_forge(server: FakeOpenAI, doc: Path) -> int:
    """Fair-Forge's generate_dataset on `doc`; the queries it returns (all of them: it checks nothing)."""
    from fair_forge.generators.context_loaders.local_markdown import LocalMarkdownLoader
    from fair_forge.schemas.generators import BaseGenerator
    from langchain_openai import ChatOpenAI

    model = ChatOpenAI(model=FAIR_FORGE_MODEL, base_url=server.url, api_key="sk-bench", max_retries=0)
    generator = BaseGenerator(model=model, use_structured_output=False)
    datasets = asyncio.run(
        generator.generate_dataset(LocalMarkdownLoader(), str(doc), "bench", num_queries_per_chunk=3)
    )
    return sum(len(dataset.conversation) for dataset in datasets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", type=int, default=20)
    parser.add_argument("--section-chars", type=int, default=600)
    args = parser.parse_args()
    server = FakeOpenAI(respond).start()
    try:
        with tempfile.TemporaryDirectory() as scratch:
            doc = Path(scratch) / "guide.md"
            doc.write_text(document(args.sections, args.section_chars))
            kept = run_synthgen(server, doc, Path(scratch) / "run")
            ours, server.requests[:] = list(server.requests), []
            returned = run_fair_forge(server, doc)
            theirs = list(server.requests)
    finally:
        server.stop()
    rows = [("synthgen (defaults)", ours, kept), ("Fair-Forge generate_dataset", theirs, returned)]
    print("| tool | calls | calls per chunk | prompt chars | items kept | prompt chars per kept item |")
    print("|---|--:|--:|--:|--:|--:|")
    per_item = {}
    for name, requests, items in rows:
        per_item[name] = prompt_chars(requests) / max(items, 1)
        print(
            f"| {name} | {len(requests)} | {len(requests) / args.sections:.2f} | {prompt_chars(requests):,} "
            f"| {items} of {3 * args.sections} | {per_item[name]:,.0f} |"
        )
    ratio = per_item["synthgen (defaults)"] / per_item["Fair-Forge generate_dataset"]
    schemas = [r["response_format"]["json_schema"]["schema"] for r in ours if r.get("response_format")]
    print(f"\nprompt chars per kept item, synthgen / Fair-Forge: {ratio:.2f}")
    print(
        f"free-text string fields without maxLength in synthgen's {len(schemas)} reply schemas: "
        f"{sum(unbounded_strings(schema) for schema in schemas)}"
    )


if __name__ == "__main__":
    main()
