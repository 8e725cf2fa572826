"""Splitting documents into chunks: headers, fences, sizes, overlap, merging, ids."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthgen.sources.base import Chunk
from synthgen.sources.files import Document
from synthgen.sources.markdown import MarkdownLoader
from synthgen.sources.text import TextLoader

REPO = Path(__file__).resolve().parents[1]


def doc(text: str, name: str = "doc.md") -> Document:
    return Document(Path("/src") / name, name, text)


def md_settings(**options: object) -> MarkdownLoader:
    """A markdown loader with min_chunk_size 0 unless given, so sections are not merged."""
    return MarkdownLoader.model_validate({"min_chunk_size": 0, **options})


def text_settings(**options: object) -> TextLoader:
    return TextLoader.model_validate({"min_chunk_size": 0, **options})


def split_markdown(document: Document, loader: MarkdownLoader) -> list[Chunk]:
    return loader.split(document)


def split_text(document: Document, loader: TextLoader) -> list[Chunk]:
    return loader.split(document)


def markdown(text: str, name: str = "doc.md", **options: object) -> list[Chunk]:
    return split_markdown(doc(text, name), md_settings(**options))


def headers(chunks: list[Chunk]) -> list[tuple[str, ...]]:
    return [c.header_path for c in chunks]


def words(count: int, length: int = 5) -> str:
    """`count` distinct words: 'w' and a letter pair repeated `length` times, e.g. words(2, 2) == 'waaaa wabab'."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    return " ".join("w" + (letters[i // 26 % 26] + letters[i % 26]) * length for i in range(count))


def shared_prefix(previous: str, following: str) -> str:
    """The longest start of `following` that `previous` ends with."""
    return next((following[:k] for k in range(len(following), 0, -1) if previous.endswith(following[:k])), "")


def non_space_subsequence(original: str, chunks: list[Chunk]) -> bool:
    """Whether the original's non-whitespace characters appear, in order, in the chunks."""
    pieces = iter("".join(c.text for c in chunks))
    return all(any(p == ch for p in pieces) for ch in original if not ch.isspace())


# --- markdown structure -------------------------------------------------------------------------


def test_header_paths_follow_a_level_stack() -> None:
    text = (
        "Intro line.\n# Guide\nA\n## Install\nB\n### Linux\nC\n## Use\nD\n# Other\nE\n### Deep ###\nF\n## C# tips\nG\n"
    )
    chunks = markdown(text)
    assert headers(chunks) == [
        (),
        ("Guide",),
        ("Guide", "Install"),
        ("Guide", "Install", "Linux"),
        ("Guide", "Use"),
        ("Other",),
        ("Other", "Deep"),
        ("Other", "C# tips"),
    ]
    assert [c.text for c in chunks[:3]] == ["Intro line.", "# Guide\nA", "## Install\nB"]
    assert chunks[6].header == "Other > Deep"
    assert [c.index for c in chunks] == list(range(8))


def test_lines_that_are_not_atx_headers_stay_body_text() -> None:
    text = "# Real\n#hashtag\n    # indented code\n> # quoted\n#\n####### seven\nbody\n"
    [chunk] = markdown(text)
    assert chunk.header_path == ("Real",)
    assert chunk.text == text.rstrip()


@pytest.mark.parametrize(
    "fenced",
    [
        "```bash\n# install\n## not a header\n```",
        "~~~\n# comment\n~~~",
        "````md\n```\n# inner\n```\n# still inside\n````",  # a shorter fence does not close a longer one
        "~~~\n```\n# inside\n~~~",  # a backtick fence does not close a tilde fence
        "  ```\n# indented fence\n  ```",
    ],
)
def test_header_lines_inside_code_fences_do_not_split(fenced: str) -> None:
    text = f"# Setup\nRun this:\n{fenced}\nDone.\n# Next\nMore."
    chunks = markdown(text)
    assert headers(chunks) == [("Setup",), ("Next",)]
    assert fenced in chunks[0].text


def test_unclosed_fence_runs_to_the_end() -> None:
    text = "# Setup\n```\n# a\n# b\nno close"
    assert headers(markdown(text)) == [("Setup",)]


def test_header_levels_not_configured_stay_text() -> None:
    text = "# A\nintro\n## B\nbody\n### C\nmore\n"
    chunks = markdown(text, header_levels=[1, 2])
    assert headers(chunks) == [("A",), ("A", "B")]
    assert chunks[1].text == "## B\nbody\n### C\nmore"
    assert headers(markdown(text, header_levels=[2])) == [(), ("B",)]


@pytest.mark.parametrize(
    "attributes",
    [
        "{ #install }",  # MkDocs attr_list
        "{: .class }",  # Python-Markdown, with the colon
        "{#id .class key=value}",  # Pandoc
        '{#id .tab data-title="Two words"}',
        "{-}",  # Pandoc: unnumbered
        "## {#closing-hashes}",
    ],
)
def test_heading_attribute_lists_stay_out_of_header_paths(attributes: str) -> None:
    text = f"# Guide\nA\n## Install {attributes}\nB\n"
    chunks = markdown(text)
    assert headers(chunks) == [("Guide",), ("Guide", "Install")]
    assert chunks[1].header == "Guide > Install"
    assert chunks[1].text == f"## Install {attributes}\nB"  # the text itself is kept as written


def test_headings_without_attributes_keep_their_ids_and_braces() -> None:
    with_attributes = markdown("# A { #a }\nx\n## B {: .note }\ny\n")
    plain = markdown("# A\nx\n## B\ny\n")
    assert [c.id for c in with_attributes] == [c.id for c in plain]
    kept = markdown("# Use {braces} here\nx\n# The {} operator\ny\n# dict {a: 1}\nz\n# f{#x}\nw\n")
    assert headers(kept) == [("Use {braces} here",), ("The {} operator",), ("dict {a: 1}",), ("f{#x}",)]


# --- ids ----------------------------------------------------------------------------------------


def test_duplicate_header_names_give_distinct_stable_ids() -> None:
    text = "# FAQ\nq1\n## Answer\na1\n# FAQ\nq2\n## Answer\na2\n"
    first, second = markdown(text), markdown(text)
    assert headers(first) == [("FAQ",), ("FAQ", "Answer")] * 2
    assert len({c.id for c in first}) == 4
    assert [c.id for c in first] == [c.id for c in second]
    assert all(len(c.id) == 16 and int(c.id, 16) >= 0 for c in first)


def test_identical_documents_get_distinct_ids() -> None:
    text = "# Same\nsame body\n"
    assert markdown(text, name="a.md")[0].id != markdown(text, name="b.md")[0].id


def test_ids_are_stable_across_processes() -> None:
    code = (
        "from pathlib import Path\n"
        "from synthgen.sources.files import Document\n"
        "from synthgen.sources.markdown import MarkdownLoader\n"
        "d = Document(Path('/src/doc.md'), 'doc.md', '# A\\nx\\n## B\\ny\\n')\n"
        "print(' '.join(c.id for c in MarkdownLoader(min_chunk_size=0).split(d)))\n"
    )
    expected = [c.id for c in markdown("# A\nx\n## B\ny\n")]
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run(
            [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True
        )
        assert run.stdout.split() == expected


# --- merging small sections ---------------------------------------------------------------------


def test_tiny_sections_merge_into_the_next_keeping_the_first_path() -> None:
    text = "# A\none\n# B\ntwo\n# C\n" + "three " * 20
    chunks = markdown(text, min_chunk_size=30, max_chunk_size=500, overlap=0)
    assert headers(chunks) == [("A",)]
    assert chunks[0].text == text.rstrip()


def test_a_short_last_section_merges_into_the_previous_one() -> None:
    long_body = "long " * 20
    chunks = markdown(f"# A\n{long_body}\n# B\nend\n", min_chunk_size=30, max_chunk_size=500, overlap=0)
    assert headers(chunks) == [("A",)]
    assert chunks[0].text.endswith("# B\nend")


def test_merging_never_exceeds_max_chunk_size() -> None:
    big = "x " * 45
    chunks = markdown(f"# A\nsmall\n# B\n{big}", min_chunk_size=30, max_chunk_size=100, overlap=0)
    assert headers(chunks) == [("A",), ("B",)]


def test_a_header_without_body_carries_into_its_subsection() -> None:
    body = "word " * 300
    chunks = markdown(f"# Guide\n\n## Install\n{body}", max_chunk_size=600, overlap=50)
    assert chunks[0].text.startswith("# Guide\n\n## Install\nword")
    assert set(headers(chunks)) == {("Guide", "Install")}


def test_a_trailing_empty_header_joins_the_previous_section() -> None:
    chunks = markdown("# A\nbody text\n## See also\n")
    assert [(c.header_path, c.text) for c in chunks] == [(("A",), "# A\nbody text\n## See also")]


# --- size splitting -----------------------------------------------------------------------------


def test_a_huge_section_splits_on_paragraphs_with_overlap() -> None:
    paragraphs = [f"Paragraph {i}: " + words(6, 3) for i in range(20)]
    text = "# Big\n\n" + "\n\n".join(paragraphs)
    chunks = markdown(text, max_chunk_size=300, overlap=40)
    assert len(chunks) > 3
    assert all(len(c.text) <= 300 for c in chunks)
    assert all(c.header_path == ("Big",) for c in chunks)
    assert all(any(c.text.endswith(p) for p in paragraphs) for c in chunks)  # cut between paragraphs
    for previous, following in pairwise(chunks):
        assert 30 <= len(shared_prefix(previous.text, following.text)) <= 40


def test_a_long_paragraph_splits_between_sentences() -> None:
    sentences = [f"Sentence number {i} says something useful." for i in range(30)]
    [first, *rest] = split_text(doc(" ".join(sentences)), text_settings(max_chunk_size=200, overlap=0))
    assert first.text == " ".join(sentences[:4])
    assert all(c.text.endswith(".") for c in rest)


def test_one_giant_word_is_hard_split_with_exact_overlap() -> None:
    word = "".join(chr(ord("a") + i % 26) for i in range(1000))
    chunks = split_text(doc(word), text_settings(max_chunk_size=100, overlap=10))
    assert all(len(c.text) <= 100 for c in chunks)
    assert [len(c.text) for c in chunks[1:-1]] == [100] * (len(chunks) - 2)
    for previous, following in pairwise(chunks):
        assert following.text[:10] == previous.text[-10:]
    assert "".join([chunks[0].text] + [c.text[10:] for c in chunks[1:]]) == word


@pytest.mark.parametrize(("max_size", "overlap"), [(10, 9), (1, 0), (2, 1), (7, 6)])
def test_extreme_valid_settings_terminate(max_size: int, overlap: int) -> None:
    text = "# Head\n\nSome words. More words!\n\n```\n# code\n```\n" + "y" * 50
    sizes = {"max_chunk_size": max_size, "overlap": overlap, "min_chunk_size": 0}
    for chunks in (split_markdown(doc(text), md_settings(**sizes)), split_text(doc(text), text_settings(**sizes))):
        assert all(0 < len(c.text) <= max_size for c in chunks)
        assert non_space_subsequence(text, chunks)


# --- plain text ---------------------------------------------------------------------------------


def test_plain_text_packs_paragraphs_and_ignores_headers() -> None:
    paragraphs = [f"# Not a header {i}\n" + words(3, 3) for i in range(6)]
    sizes = text_settings(max_chunk_size=120, overlap=0)
    chunks = split_text(doc("\n\n".join(paragraphs), "notes.txt"), sizes)
    assert [c.text for c in chunks] == ["\n\n".join(paragraphs[i : i + 2]) for i in (0, 2, 4)]
    assert all(c.header_path == () and c.header == "" and c.document == "notes.txt" for c in chunks)


def test_whitespace_only_text_gives_no_chunk() -> None:
    assert split_text(doc(" \n\n\t"), text_settings()) == []


def test_loader_chunks_lazily_with_its_own_splitter(tmp_path: Path) -> None:
    text = "# A\nalpha\n# B\nbeta\n"
    (tmp_path / "a.md").write_text(text)
    (tmp_path / "b.md").write_bytes(b"\xff not utf-8")

    by_markdown = md_settings().chunks(str(tmp_path))
    assert [next(by_markdown).header, next(by_markdown).header] == ["A", "B"]  # b.md not read yet
    [plain] = text_settings().chunks(str(tmp_path / "a.md"))
    assert plain.text == text.rstrip() and plain.header_path == ()


def test_bundled_examples_give_four_to_six_chunks() -> None:
    loader = MarkdownLoader.model_validate({})  # the defaults a first run uses
    chunks = list(loader.chunks(str(REPO / "examples")))
    assert 4 <= len(chunks) <= 6
    assert {c.document for c in chunks} == {"solar-battery-guide.md", "team-handbook.md"}
    assert len({c.id for c in chunks}) == len(chunks)
    assert not any("battery profile" in c.header for c in chunks)  # '#' comments in the code block
    assert any("{{ battery_serial }}" in c.text for c in chunks)


# --- properties ---------------------------------------------------------------------------------

LINES = st.one_of(
    st.sampled_from(
        ["", "", "# Title", "## Sub", "### Deep ###", "#### Four", "```", "~~~", "````", "    # code", "- item"]
    ),
    st.text(alphabet=st.sampled_from("ab #.!?`~\t\n"), max_size=40),
    st.text(max_size=30),
)
TEXTS = st.lists(LINES, max_size=30).map("\n".join)


@st.composite
def chunk_sizes(draw: st.DrawFn) -> dict[str, int]:
    max_size = draw(st.integers(1, 200))
    return {
        "max_chunk_size": max_size,
        "overlap": draw(st.integers(0, max_size - 1)),
        "min_chunk_size": draw(st.integers(0, max_size)),
    }


def check_chunks(text: str, chunks: list[Chunk], max_size: int, kept: str | None = None) -> None:
    """Chunks fit, are slices of `text`, keep all of `kept` (default: the whole text) in order, and are numbered
    with unique ids."""
    assert all(0 < len(c.text) <= max_size and c.text.strip() for c in chunks)
    assert all(c.text in text for c in chunks)  # every chunk is a contiguous slice
    assert non_space_subsequence(text if kept is None else kept, chunks)
    assert len({c.id for c in chunks}) == len(chunks)
    assert [c.index for c in chunks] == list(range(len(chunks)))


@settings(max_examples=300, deadline=None)
@given(text=TEXTS, sizes=chunk_sizes(), levels=st.lists(st.integers(1, 6), min_size=1, unique=True))
def test_markdown_chunks_fit_keep_all_text_and_have_unique_ids(
    text: str, sizes: dict[str, int], levels: list[int]
) -> None:
    chunks = split_markdown(doc(text), md_settings(header_levels=levels, **sizes))
    # A heading with no text under it is dropped (and counted): every other line is kept.
    body = "\n".join(line for line in text.splitlines() if not re.match(r"^ {0,3}#{1,6}(\s|$)", line))
    check_chunks(text, chunks, sizes["max_chunk_size"], kept=body)


@settings(max_examples=200, deadline=None)
@given(text=TEXTS, sizes=chunk_sizes())
def test_text_chunks_fit_keep_all_text_and_have_unique_ids(text: str, sizes: dict[str, int]) -> None:
    chunks = split_text(doc(text), text_settings(**sizes))
    check_chunks(text, chunks, sizes["max_chunk_size"])
