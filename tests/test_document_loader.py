"""loader=document end to end: real PDF, DOCX and HTML files in one directory, bad files skipped and recorded."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli import read_jsonl, run_cli
from tests.fake_openai import FakeOpenAI
from tests.test_cli import fake_model
from tests.test_convert import make_docx, make_image_only_pdf, make_pdf


def args(server: FakeOpenAI, source: Path, out: Path, *extra: str) -> list[str]:
    return [
        "loader=document",
        "model=openai_compatible",
        f"model.api_base={server.url}",
        "model.retries=0",
        f"source={source}",
        "mode.num_queries_per_chunk=1",
        "report=false",
        f"hydra.run.dir={out}",
        *extra,
    ]


def test_a_mixed_directory_is_converted_and_pdf_items_name_their_pages(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.responder = fake_model
    docs = tmp_path / "docs"
    docs.mkdir()
    make_pdf(docs / "manual.pdf")
    make_docx(docs / "guide.docx")
    (docs / "page.html").write_text("<html><body><h1>Valves</h1><p>Open the valve slowly.</p></body></html>")
    (docs / "broken.pdf").write_bytes(b"%PDF-1.7\n not really a pdf")
    (docs / "notes.md").write_text("# Notes\n\nThe impeller spins clockwise.\n")
    out = tmp_path / "run"
    result = run_cli(*args(fake_openai, docs, out, "loader.min_chunk_size=0"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    [note] = [line for line in result.stdout.splitlines() if "skipped" in line]  # Hydra logs to stdout
    assert "broken.pdf" in note and "fix" in note
    [dataset] = read_jsonl(out / "datasets.jsonl")
    agentic = [turn["agentic"] for turn in dataset["conversation"]]
    assert {a["document"] for a in agentic} == {"manual.pdf", "guide.docx", "page.html", "notes.md"}
    pdf_pages = [a["pages"] for a in agentic if a["document"] == "manual.pdf"]
    assert pdf_pages and all(pages and set(pages) <= {1, 2, 4} for pages in pdf_pages)  # page 3 is blank
    assert {page for pages in pdf_pages for page in pages} == {1, 2, 4}
    assert all(a["pages"] == [] for a in agentic if a["document"] != "manual.pdf")
    assert any(a["header_path"].startswith("Pump Guide") for a in agentic if a["document"] == "guide.docx")
    [failure] = read_jsonl(out / "failures.jsonl")
    assert (failure["stage"], failure["document"]) == ("load", "broken.pdf")
    assert "broken.pdf" in failure["error"] and "fix" in failure["error"]
    stats = json.loads((out / "stats.json").read_text())
    assert stats["status"] == "completed" and stats["failures"] == 1


def test_a_single_bad_file_and_an_all_bad_directory_are_one_line_each(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    scanned = make_image_only_pdf(tmp_path / "scan.pdf")
    single = run_cli(*args(fake_openai, scanned, tmp_path / "one"), cwd=tmp_path)
    assert single.returncode == 2 and "Traceback" not in single.stderr
    assert single.stderr.strip().splitlines() == [line for line in single.stderr.strip().splitlines() if line]
    [error] = [line for line in single.stderr.splitlines() if line.startswith("synthgen: error:")]
    assert "scan.pdf" in error and "OCR" in error
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.pdf").write_bytes(b"garbage")
    (bad / "b.docx").write_bytes(b"garbage")
    every = run_cli(*args(fake_openai, bad, tmp_path / "all"), cwd=tmp_path)
    assert every.returncode == 2 and "Traceback" not in every.stderr
    [error] = [line for line in every.stderr.splitlines() if line.startswith("synthgen: error:")]
    assert "none of the 2 source files could be read" in error
    assert fake_openai.requests == []
