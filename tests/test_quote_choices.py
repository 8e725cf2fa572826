"""model.quote_choices: the reply schemas list the excerpts' passages as an enum, so a constrained model can only
quote the source word for word; what it chose is still checked like any quote."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from synthgen.pipelines.documents.evidence import Quote, locate
from synthgen.pipelines.documents.quote_choices import passages
from synthgen.sources.base import Chunk
from tests.cli import read_jsonl, run_cli
from tests.fake_documents import DocumentModel
from tests.fake_openai import FakeOpenAI, last_user_text
from tests.test_cli import DOC, ONLY_FACTUAL, fake_args

COPIED = ("mode.evidence.cite=text", "mode.generation=free", "mode.roundtrip.enabled=false")  # quotes are copied


@pytest.fixture
def doc(tmp_path: Path) -> Path:
    path = tmp_path / "moon.md"
    path.write_text(DOC)
    return path


def chunk(text: str) -> Chunk:
    return Chunk("c", "guide.md", ("Guide",), text, 0)


def test_passages_are_lines_long_ones_cut_at_sentence_ends_each_once() -> None:
    long_line = " ".join(f"Sentence number {i} says something long enough to matter here." for i in range(8))
    text = f"# Guide\n\nShort.\n{long_line}\nA line of its own, kept whole.\n\nA line of its own, kept whole.\n"
    found = passages([chunk(text)], min_chars=15)
    assert found[:2] == (
        "Sentence number 0 says something long enough to matter here.",
        "Sentence number 1 says something long enough to matter here.",
    )
    assert found[-1] == "A line of its own, kept whole." and len(found) == 9  # 8 sentences, the line once
    assert all(piece in text for piece in found)  # exact pieces of the text: found by the quote check at 1.0
    assert "# Guide" not in found and "Short." not in found  # too short to prove anything


def test_passages_hold_no_quote_mark_or_backslash_yet_are_found_by_the_quote_check() -> None:
    text = 'By default, all `Immediate` objects are "ref\'ed", see C:\\timers for the rest.'
    [passage] = passages([chunk(text)], min_chars=15)
    assert passage == "By default, all `Immediate` objects are 'ref'ed', see C:/timers for the rest."
    # llama-cpp-python's grammar from such an enum value fails to load (and llama.cpp then crashes)
    assert locate(Quote(excerpt=1, text=passage), [chunk(text)]).score == 1.0


def enums(request: dict[str, Any]) -> list[list[str]]:
    """Every enum in the request's JSON schema."""
    found: list[list[str]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "enum" in node and all(isinstance(value, str) for value in node["enum"]):
                found.append(node["enum"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(request["response_format"]["json_schema"]["schema"])
    return found


def test_calls_offer_their_excerpts_passages_and_chosen_quotes_are_kept(
    fake_openai: FakeOpenAI, doc: Path, tmp_path: Path
) -> None:
    fake_openai.responder = DocumentModel()  # quotes the longest line of an excerpt: one of the passages
    out = tmp_path / "run"
    args = fake_args(fake_openai, doc, out, *ONLY_FACTUAL, *COPIED, "mode.answers=true", "model.quote_choices=true")
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = [line.strip() for line in DOC.splitlines()]
    for request in fake_openai.requests:
        quote_enums = [values for values in enums(request) if values != ["easy", "medium", "hard"]]
        assert len(quote_enums) == 1, last_user_text(request)[:200]
        offered = quote_enums[0]
        assert offered and all(value in lines and value in last_user_text(request) for value in offered)
    turns = [turn for dataset in read_jsonl(out / "datasets.jsonl") for turn in dataset["conversation"]]
    assert len(turns) == 9
    assert all(
        e["score"] == 1.0 for turn in turns for e in turn["agentic"]["evidence"] + turn["agentic"]["answer_evidence"]
    )


def test_without_quote_choices_quotes_are_free_text(fake_openai: FakeOpenAI, doc: Path, tmp_path: Path) -> None:
    fake_openai.responder = DocumentModel()
    out = tmp_path / "run"
    assert run_cli(*fake_args(fake_openai, doc, out, *ONLY_FACTUAL, *COPIED, "limit=1"), cwd=tmp_path).returncode == 0
    assert fake_openai.requests and all(
        enums(request) == [["easy", "medium", "hard"]] for request in fake_openai.requests
    )
    assert json.loads((out / "stats.json").read_text())["produced"]["queries"] == 3
