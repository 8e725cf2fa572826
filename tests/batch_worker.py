"""Submit N calls through a BatchDispatcher and print their answers as JSON: the process a test kills and reruns."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from synthgen.models.batch import BatchDispatcher


def call(url: str, i: int) -> dict[str, Any]:
    """The litellm kwargs of call number i."""
    return {
        "model": "openai/gpt-4o-mini",
        "messages": [{"role": "user", "content": f"question {i}"}],
        "api_base": url,
        "api_key": "sk-test",
        "temperature": 0.0,
        "max_tokens": 64,
        "timeout": 30,
        "num_retries": 0,
        "max_retries": 0,
    }


async def run(db: Path, url: str, calls: range, poll: float) -> dict[str, str]:
    """Answers of the concurrent calls numbered `calls`, by key."""
    dispatcher = BatchDispatcher(db, quiet_period=0.05, poll_interval=poll, max_poll_interval=poll)
    keys = [f"key-{i}" for i in calls]
    bodies = await asyncio.gather(*(dispatcher.submit(call(url, i), key) for i, key in zip(calls, keys, strict=True)))
    await dispatcher.aclose()
    return {key: body["choices"][0]["message"]["content"] for key, body in zip(keys, bodies, strict=True)}


def main() -> None:
    """Parse the arguments, run, print the answers."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--first", type=int, default=0, help="number of the first call")
    parser.add_argument("--calls", type=int, required=True, help="how many calls")
    parser.add_argument("--poll", type=float, default=0.05)
    args = parser.parse_args()
    print(
        json.dumps(asyncio.run(run(args.db, args.url, range(args.first, args.first + args.calls), args.poll))),
        flush=True,
    )


if __name__ == "__main__":
    main()
