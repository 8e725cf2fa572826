"""Decoding speed of the embedded model under each speed setting, on the question prompt `make run` sends.

Usage: flock /tmp/embedded-model.lock .venv/bin/python benchmarks/embedded_decoding.py [--repeats 3]

One process per setting (llama.cpp's threads and buffers are fixed at load): it loads the default weights with
`model.local` settings changed, then asks for the bundled examples' first question call (its real prompt and
reply schema, passages cited by number) `--repeats` times with the cache off, and prints the median
tokens/s of the replies and of the whole call. The reference (the defaults) runs in the same invocation. The
machine's load average is printed with each row: llama.cpp's spinning threads make the figures depend on it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = {  # name -> model.local overrides
    "defaults": {},
    "threads=all cores": {"n_threads": os.cpu_count() or 1},
    "prompt_lookup=10": {"prompt_lookup": 10},
    "n_batch=128": {"n_batch": 128},
}

ONE_SETTING = """
import asyncio, json, statistics, sys, time
from synthgen.core.paths import EXAMPLES_DIR
from synthgen.models.client import ModelClient
from synthgen.models.providers.local import EmbeddedModel
from synthgen.models.providers.local.options import LocalModelSettings
from synthgen.models.usage import Usage
from synthgen.pipelines.documents.citing import Citing
from synthgen.pipelines.documents.passages import number
from synthgen.pipelines.documents.questions import excerpts, reply_schema
from synthgen.pipelines.prompts import render_prompt
from synthgen.sources.markdown import MarkdownLoader

overrides, repeats = json.loads(sys.argv[1]), int(sys.argv[2])
chunk = next(MarkdownLoader().chunks(str(sorted(EXAMPLES_DIR.glob("*.md"))[0])))
prompt = render_prompt("queries.j2", count=3, language="english", instructions="Factual: ask for a fact.",
    slots=[], seed_examples=[], written=[], excerpts=excerpts([chunk], 15), answerable=True, cite="number",
    fields={})
schema = reply_schema((), Citing("number", tuple(number([chunk], 15))), 3)
model = EmbeddedModel(name="local", model="synthgen-local/qwen2.5-coder-0.5b-instruct", max_concurrency=1,
    local=LocalModelSettings(**overrides))
rates, seconds = [], []
for draw in range(repeats + 1):  # the first call loads the weights: not counted
    usage = Usage()
    started = time.monotonic()
    try:
        asyncio.run(ModelClient(model, usage).structured([{"role": "user", "content": prompt}], schema,
            stage="q", draw=draw, max_tokens=272))
    except Exception:
        pass
    took = time.monotonic() - started
    if draw:
        rates.append(usage.stage("q").completion_tokens / took)
        seconds.append(took)
print(json.dumps({"tokens_per_s": statistics.median(rates), "call_s": statistics.median(seconds)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    print("| setting | reply tokens/s (median) | call, s (median) | load average |")
    print("|---|--:|--:|--:|")
    for name, overrides in SETTINGS.items():
        result = subprocess.run(
            [sys.executable, "-c", ONE_SETTING, json.dumps(overrides), str(args.repeats)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        row = json.loads(result.stdout.strip().splitlines()[-1])
        load = os.getloadavg()[0]
        print(f"| {name} | {row['tokens_per_s']:.1f} | {row['call_s']:.1f} | {load:.1f} |", flush=True)


if __name__ == "__main__":
    main()
