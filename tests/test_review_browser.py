"""The review app in Debian's headless chromium (Playwright, never a browser download): a keyboard review,
SIGKILL and restart with nothing acknowledged lost, a second tab's stale save refused, hostile text inert,
an export that honours the review, and an update run's new items first. Saves docs/images/review.png."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from synthgen.outputs.decisions import DecisionStore, load_decisions
from tests.fake_documents import DocumentModel
from tests.fake_openai import FakeOpenAI
from tests.run_dirs import document_run

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`python -m synthgen.review` in a subprocess; `url` is the address it printed (with its token)."""

    def __init__(self, run: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "synthgen.review", str(run), "--reviewer", "alice", "--port", str(free_port())],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        self.url = line.rsplit(" at ", 1)[1].strip()
        import httpx

        for _ in range(100):  # wait until it listens
            try:
                httpx.get(self.url, timeout=1)
                break
            except httpx.HTTPError:
                import time

                time.sleep(0.1)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


@pytest.fixture
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield instance
        instance.close()


def hostile_run(path: Path) -> Path:
    document_run(path, sessions=2, turns=3)
    rows = [json.loads(line) for line in (path / "datasets.jsonl").read_text().splitlines()]
    rows[0]["context"] += "\n<img src=x onerror=\"document.title='pwned'\"><script>document.title='pwned'</script>"
    (path / "datasets.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_keyboard_review_survives_sigkill_and_refuses_a_stale_tab(tmp_path: Path, browser: object) -> None:
    run = hostile_run(tmp_path / "run")
    server = Server(run)
    page = browser.new_page()  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(server.url)
    assert page.title() != "pwned" and page.locator(".context img").count() == 0
    assert "<script>" in page.locator(".context").inner_text()  # shown as text
    assert page.locator("mark.evidence").count() >= 1 and page.locator("kbd").count() >= 6
    assert page.locator("#progress").inner_text().startswith("reviewed 0 of 6")

    page.keyboard.press("a")  # accept the first item: saved, then on to the second, which says so
    page.wait_for_url("**after=0**")
    assert page.locator("#status").inner_text() == "saved: q0-0 accepted"
    assert "reviewed 1 of 6" in page.locator("#progress").inner_text()
    assert page.locator("#decision").inner_text() == "unreviewed"

    page.keyboard.press("r")  # reject the second: vague (3), with a note
    page.keyboard.press("3")
    page.fill("#reject input[name=note]", "which battery?")
    page.locator("#reject input[name=note]").press("Enter")
    page.wait_for_url("**after=1**")
    assert page.locator("#status").inner_text() == "saved: q0-1 rejected · vague · which battery?"
    page.keyboard.press("k")
    page.wait_for_url("**before=2**")
    assert page.locator("#decision").inner_text().startswith("rejected · vague · which battery?")

    page.keyboard.press("j")  # edit the third: the page stays to show the quote check
    page.wait_for_url("**after=1**")
    page.keyboard.press("e")
    page.fill("#edit textarea[name=query]", "How long does the battery last when charged to 80 percent?")
    page.fill("#edit textarea[name=answer]", "It lasts longer: charge it to 80 percent.")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#status:text('saved')")
    assert "edited · quote check: passed" in page.locator("#decision").inner_text()
    assert page.locator("#question").inner_text().startswith("How long does the battery last")
    Path(ROOT / "docs" / "images").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ROOT / "docs" / "images" / "review.png"), full_page=True)

    stale = browser.new_page()  # type: ignore[attr-defined]
    stale.goto(server.url + "&i=3")
    page.keyboard.press("j")
    page.wait_for_url("**after=2**")
    page.keyboard.press("a")
    page.wait_for_url("**after=3**")
    stale.keyboard.press("r")
    stale.keyboard.press("1")
    stale.keyboard.press("Enter")
    stale.wait_for_selector("#status.error")
    assert "saved elsewhere" in stale.locator("#status").inner_text()

    server.kill()  # SIGKILL: every acknowledged decision must be on disk
    decisions = load_decisions(run, "alice")
    assert {qa_id: d.verdict for qa_id, d in decisions.items()} == {
        "q0-0": "accepted",
        "q0-1": "rejected",
        "q0-2": "edited",
        "q1-0": "accepted",
    }
    restarted = Server(run)
    page.goto(restarted.url + "&i=2")
    assert "edited" in page.locator("#decision").inner_text()
    assert "reviewed 4 of 6 · accepted 2 · edited 1 · rejected 1" in page.locator("#progress").inner_text()
    page.goto(restarted.url + "&decision=rejected")
    assert page.locator("#question").inner_text() == "Question 2 about battery 0"
    assert page.title() != "pwned" and not errors
    restarted.kill()

    subprocess.run(
        [sys.executable, "-m", "synthgen.export", str(run), "--to", "openai"],
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    text = "".join(path.read_text() for path in (run / "export" / "openai").rglob("*.jsonl"))
    assert "Question 2 about battery 0" not in text
    assert "How long does the battery last when charged to 80 percent?" in text


def test_page_without_token_is_refused(tmp_path: Path, browser: object) -> None:
    server = Server(document_run(tmp_path / "run"))
    page = browser.new_page()  # type: ignore[attr-defined]
    response = page.goto(server.url.split("?")[0])
    assert response is not None and response.status == 403 and "needs the token" in page.content()
    response = page.goto(server.url.replace("/?token=", "/files/../stats.json?token="))
    assert response is not None and response.status in (403, 404)
    server.kill()


def test_after_an_update_the_new_items_come_first_marked_to_review(
    fake_openai: FakeOpenAI, tmp_path: Path, browser: object
) -> None:
    from tests.test_update import by_section, run, turns, version_one, version_two

    def generate(out: str, *extra: str) -> int:  # in a thread of its own: Playwright's loop runs in this one
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(run, fake_openai, docs, tmp_path / out, *extra).result()

    fake_openai.responder = DocumentModel()
    docs = version_one(tmp_path / "docs")
    assert generate("v1") == 0
    old_ids = {turn["qa_id"] for turn in turns(tmp_path / "v1")}
    store = DecisionStore(tmp_path / "v1")
    for qa_id in sorted(old_ids):
        store.save(qa_id, "alice", "accepted", expected_version=0)  # the whole baseline was reviewed
    store.close()
    version_two(docs)
    assert generate("v2", f"baseline={tmp_path / 'v1'}") == 0
    rows = turns(tmp_path / "v2")
    new = [row["qa_id"] for row in rows if row["qa_id"] not in old_ids]
    assert new and len(new) < len(rows)
    assert {row["qa_id"] for row in by_section(rows)["Transport"]} <= set(new)  # the section added

    server = Server(tmp_path / "v2")
    page = browser.new_page()  # type: ignore[attr-defined]
    shown = []
    for position in range(len(rows)):
        page.goto(f"{server.url}&i={position}")
        shown.append(page.locator(".where").inner_text().split(" · ")[1])
        marked = page.locator("#new").count() == 1
        assert marked == (position < len(new)), position
        assert page.locator("#decision").inner_text() == ("unreviewed" if marked else "accepted (version 1)")
    assert sorted(shown[: len(new)]) == sorted(new) and set(shown[len(new) :]) == set(old_ids) & set(shown)
    progress = page.locator("#progress").inner_text()
    assert f"reviewed {len(rows) - len(new)} of {len(rows)}" in progress
    assert f"new since the baseline 0/{len(new)}" in progress

    page.goto(f"{server.url}&decision=unreviewed")  # the new ones: accept each, and the next comes up
    for position in range(len(new)):
        assert page.locator("#new").count() == 1 and page.locator("#decision").inner_text() == "unreviewed"
        assert f"item 1 of {len(new) - position}" in page.locator(".who").inner_text()  # none skipped
        key = page.locator("body").get_attribute("data-key")
        page.keyboard.press("a")
        if position + 1 < len(new):
            page.wait_for_url(f"**after={key}**")
        else:  # the last: it stays, marked accepted
            page.wait_for_selector("#decision.accepted")
    assert f"new since the baseline {len(new)}/{len(new)}" in page.locator("#progress").inner_text()
    server.kill()
    assert set(load_decisions(tmp_path / "v2", "alice")) == {row["qa_id"] for row in rows}
