"""A keyboard review session in the real app, timed: Debian's headless chromium driven by Playwright.

Usage: /path/to/python benchmarks/review_session.py RUN_DIR [--items 30] [--decisions FILE.json]

Starts `python -m synthgen.review RUN_DIR`, then reviews the first `--items` items as a reviewer does, with keys
only: `a` accepts (and the next item comes up), `r` + a reason number + Enter rejects, `e` + the texts +
Ctrl+Enter edits (the page stays to show the quote check) and `j` moves on. `--decisions` maps a qa_id to
"accept", "reject:N[:note]" (N the reason's number on the page) or "edit" (the texts in "question"/"answer" keys
of an object); without it every third item is rejected as vague and the others accepted. It prints the time
from the decision's first key to the next item's page being ready, per action (median and max), and the
decisions as the store holds them. The reading time of a person is not in it: these are the app's own costs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from synthgen.outputs.decisions import load_decisions  # noqa: E402
from tests.test_review_browser import CHROMIUM, free_port  # noqa: E402


def decide(page: Any, decision: Any) -> str:
    """Press the keys of one decision; returns the action's name."""
    if isinstance(decision, dict):
        page.keyboard.press("e")
        page.fill("#edit textarea[name=query]", decision["question"])
        page.fill("#edit textarea[name=answer]", decision["answer"])
        page.keyboard.press("Control+Enter")
        page.wait_for_selector("#decision.edited")
        key = page.locator("body").get_attribute("data-key")
        page.keyboard.press("j")
        page.wait_for_url(f"**after={key}**")
        return "edit"
    key = page.locator("body").get_attribute("data-key")
    if decision == "accept":
        page.keyboard.press("a")
    else:
        _, number, *note = str(decision).split(":", 2)
        page.keyboard.press("r")
        page.keyboard.press(number)
        if note:
            page.fill("#reject input[name=note]", note[0])
            page.locator("#reject input[name=note]").press("Enter")
        else:
            page.keyboard.press("Enter")
    body = page.locator("body")
    if int(body.get_attribute("data-position") or 0) + 1 < int(body.get_attribute("data-count") or 0):
        page.wait_for_url(f"**after={key}**")
    else:  # the last item: the page stays
        page.wait_for_selector("#decision.accepted" if decision == "accept" else "#decision.rejected")
    return "accept" if decision == "accept" else "reject"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--items", type=int, default=30)
    parser.add_argument("--decisions", type=Path)
    parser.add_argument("--reviewer", default="bench")
    args = parser.parse_args()
    planned = json.loads(args.decisions.read_text()) if args.decisions else {}
    from playwright.sync_api import sync_playwright

    server = subprocess.Popen(
        [sys.executable, "-m", "synthgen.review", str(args.run_dir), "--reviewer", args.reviewer,
         "--port", str(free_port())],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert server.stdout is not None
    url = server.stdout.readline().rsplit(" at ", 1)[1].strip()
    timings: dict[str, list[float]] = {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
            page = browser.new_page()
            for _ in range(100):
                try:
                    page.goto(url)
                    break
                except Exception:  # the server is still starting
                    time.sleep(0.1)
            for position in range(args.items):
                qa_id = page.locator(".where").inner_text().split(" · ")[1]
                decision = planned.get(qa_id, "reject:3" if position % 3 == 2 else "accept")
                started = time.perf_counter()
                action = decide(page, decision)
                timings.setdefault(action, []).append(time.perf_counter() - started)
            browser.close()
    finally:
        server.kill()
        server.wait()
    for action, seconds in timings.items():
        print(f"{action:7} {len(seconds):3} items  median {statistics.median(seconds):.2f} s  max {max(seconds):.2f} s")
    decisions = load_decisions(args.run_dir, args.reviewer)
    verdicts = [d.verdict for d in decisions.values()]
    print(f"store: {len(decisions)} decisions, " + ", ".join(f"{v} {verdicts.count(v)}" for v in sorted(set(verdicts))))


if __name__ == "__main__":
    main()
