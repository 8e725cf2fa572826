"""report.html: contents, escaping, quote highlighting, and rendering in headless Chromium."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from synthgen.core.errors import UserError
from synthgen.outputs.report import write_report, write_sweep_report
from synthgen.outputs.report.command import main as report_main
from synthgen.outputs.report.highlight import Quote, highlight
from tests.run_dirs import SECRET_API_KEY, document_run, facts_run

CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium binary on PATH (Debian: apt-get install -y chromium)"
)


def open_in_chromium(page: Path, profile: Path) -> tuple[str, list[str]]:
    """The DOM headless Chromium builds for `page`, and every console message it logged (network disabled)."""
    assert CHROMIUM is not None
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
         "--enable-logging=stderr", "--v=0", "--dump-dom", page.as_uri()],
        check=False, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout, [line for line in result.stderr.splitlines() if ":CONSOLE" in line]


def visible_text(dom: str) -> str:
    """The DOM's text with tags removed and whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", dom)).split())


def test_quotes_are_marked_ignoring_case_and_spacing() -> None:
    text = "The battery   stores\nENERGY for <cloudy> days; the battery stores energy."
    quotes = [Quote("the battery stores energy", "evidence"), Quote("energy for <cloudy>", "answer-evidence"),
              Quote("not in the text", "evidence")]  # fmt: skip

    marked, found = highlight(text, quotes)

    assert found == {"the battery stores energy", "energy for <cloudy>"}
    assert str(marked) == (
        '<mark class="evidence">The battery   stores\n</mark>'
        '<mark class="answer-evidence evidence">ENERGY</mark>'
        '<mark class="answer-evidence"> for &lt;cloudy&gt;</mark> days; '
        '<mark class="evidence">the battery stores energy</mark>.'
    )


def test_a_run_report_is_one_self_contained_page_with_documents_escaped(tmp_path: Path) -> None:
    run = document_run(tmp_path / "run", mode="conversation")
    rows = (run / "datasets.jsonl").read_text().replace("the battery stores energy", "a quote the text lacks", 1)
    (run / "datasets.jsonl").write_text(rows)

    page = write_report(run)

    assert page == run / "report.html"
    content = page.read_text(encoding="utf-8")
    assert "<script" not in content.lower() and "&lt;script&gt;alert(&#39;doc 0&#39;)&lt;/script&gt;" in content
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", content)  # nothing fetched from anywhere
    assert "default-src 'none'" in content
    assert content.count("<svg") == 7 and 'class="evidence"' in content
    assert "Quotes not found in the source text: “a quote the text lacks”" in content
    assert SECRET_API_KEY not in content and "[redacted]" in content


def test_a_run_without_quality_json_says_which_figures_are_missing(tmp_path: Path) -> None:
    run = facts_run(tmp_path / "facts", items=3)

    content = write_report(run, sample_size=2).read_text(encoding="utf-8")

    assert content.count("not recorded (no `") == 7 and "<svg" not in content
    (run / "quality.json").write_text(json.dumps({"kept_by_type": ["factual"], "similarities": [0.2, "high"]}))
    assert write_report(run).read_text(encoding="utf-8").count("not recorded (no `") == 7
    assert (
        "Where does the blue honeyeater nest, case 0?" in content and "case 2?" in content and "case 1?" not in content
    )
    assert "2 of 3 items" in content


def test_a_sweep_report_has_one_row_and_colour_per_job_and_links_job_reports(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    for number, mode in enumerate(("queries", "conversation", "queries")):
        document_run(sweep / str(number), mode=mode, model=f"model{number}")
    write_report(sweep / "1")

    content = write_sweep_report(sweep).read_text(encoding="utf-8")

    jobs = re.search(r'<section id="jobs">(.*?)</section>', content, re.DOTALL)
    assert jobs is not None
    rows = re.findall(
        r"<tr>\s*<td><span class=\"swatch\" style=\"background: (#[0-9a-f]{6})\"></span>(\d)</td>", jobs[1]
    )
    assert [job for _, job in rows] == ["0", "1", "2"] and len({colour for colour, _ in rows}) == 3
    assert "model=model1 mode=conversation" in jobs[1]
    assert jobs[1].count('href="1/report.html"') == 1 and "0/report.html" not in jobs[1]
    for colour, _ in rows:  # every job's colour is drawn in the charts
        assert f"fill: {colour}" in content or f"stroke: {colour}" in content
    with pytest.raises(UserError, match="is not a run directory"):
        write_report(sweep)


def test_the_report_command_picks_run_or_sweep(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document_run(tmp_path / "sweep" / "a")
    document_run(tmp_path / "sweep" / "b")

    assert report_main([str(tmp_path / "sweep" / "a")]) == 0
    assert report_main([str(tmp_path / "sweep"), "--sample", "1"]) == 0
    assert report_main([str(tmp_path / "nothing")]) == 2

    out, err = capsys.readouterr()
    assert out.split() == [str(tmp_path / "sweep/a/report.html"), str(tmp_path / "sweep/report.html")]
    assert err.startswith(f"synthgen.report: error: not a directory: {tmp_path / 'nothing'} (fix: ")
    assert err.count("\n") == 1


@needs_chromium
def test_the_report_renders_in_chromium_without_console_messages(tmp_path: Path) -> None:
    page = write_report(document_run(tmp_path / "run", mode="queries"))

    dom, console = open_in_chromium(page, tmp_path / "profile")

    assert console == []
    text = visible_text(dom)
    expected_texts = (
        "Counts and cost",
        "chunk coverage 75.0%",
        "cost (USD) $0.0123",
        "Kept items by question type",
        "Question similarity (nearest other question)",
        "guide-0.md",
        "Question 3 about battery 1 & <tags>?",
        "<script>alert('doc 1')</script>",
    )
    for expected in expected_texts:
        assert expected in text
    charts = re.findall(r"<figure>.*?</figure>", dom, re.DOTALL)
    assert len(charts) == 7 and all("<svg" in chart for chart in charts)
    assert ">factual<" in charts[0] and ">reasoning<" in charts[0]  # the chart's own text, not a raster
    assert "<script" not in dom.replace("&lt;script", "")


@needs_chromium
def test_the_console_check_catches_a_page_that_tries_to_load_something(tmp_path: Path) -> None:
    page = write_report(document_run(tmp_path / "run"))
    page.write_text(
        page.read_text(encoding="utf-8").replace("</body>", '<img src="http://127.0.0.1:9/x.png"></body>'),
        encoding="utf-8",
    )

    _, console = open_in_chromium(page, tmp_path / "profile")

    assert len(console) == 1 and "Content Security Policy" in console[0]


def test_the_coverage_chart_of_many_documents_draws_the_least_covered(tmp_path: Path) -> None:
    run = document_run(tmp_path / "run")
    quality = json.loads((run / "quality.json").read_text())
    coverage = {f"doc-{number:02d}.md": 1.0 - number / 100 for number in range(30)}  # doc-29.md covered least
    (run / "quality.json").write_text(json.dumps({**quality, "coverage_by_document": coverage}))

    content = write_report(run).read_text(encoding="utf-8")

    chart = re.search(r"<figcaption>Chunk coverage by document.*?</figure>", content, re.DOTALL)
    assert chart is not None and "(the 20 least covered of 30)" in chart.group(0)
    drawn = set(re.findall(r">(doc-\d\d\.md)<", chart.group(0)))
    assert drawn == {f"doc-{number:02d}.md" for number in range(10, 30)}
