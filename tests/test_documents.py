"""Loading documents from files, directories, globs and lists, and the errors for bad input."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from synthgen.core.errors import UserError
from synthgen.sources.files import Document, load_documents

EXTENSIONS = [".md", ".txt"]


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def names(source: str | list[str], extensions: list[str] = EXTENSIONS) -> list[str]:
    return [doc.name for doc in load_documents(source, extensions)]


@pytest.fixture
def docs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small tree under tmp_path/docs, with tmp_path as the current directory."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "docs" / "b.md", "bee")
    write(tmp_path / "docs" / "a.txt", "ay")
    write(tmp_path / "docs" / "guide" / "install.MD", "install")
    write(tmp_path / "docs" / "guide" / "deep" / "z.md", "zed")
    write(tmp_path / "docs" / "logo.png", b"\x89PNG\0\0")
    write(tmp_path / "docs" / ".hidden.md", "hidden")
    write(tmp_path / "docs" / ".cache" / "c.md", "cached")
    return tmp_path / "docs"


def test_single_file_is_named_by_its_file_name(docs: Path) -> None:
    [doc] = load_documents(str(docs / "guide" / "install.MD"), EXTENSIONS)
    assert doc == Document(docs / "guide" / "install.MD", "install.MD", "install")
    assert doc.path.is_absolute()


def test_explicit_file_is_read_whatever_its_suffix(tmp_path: Path) -> None:
    write(tmp_path / "notes.rst", "Title\n=====\n")
    assert [d.text for d in load_documents(str(tmp_path / "notes.rst"), EXTENSIONS)] == ["Title\n=====\n"]


def test_relative_paths_are_relative_to_the_current_directory(docs: Path) -> None:
    [doc] = load_documents("docs/b.md", EXTENSIONS)
    assert doc.path == docs / "b.md"


def test_directory_is_recursive_filtered_sorted_and_skips_hidden(docs: Path) -> None:
    assert names("docs") == ["a.txt", "b.md", "guide/deep/z.md", "guide/install.MD"]


def test_extensions_match_case_insensitively_with_or_without_dot(docs: Path) -> None:
    assert names("docs", ["MD"]) == ["b.md", "guide/deep/z.md", "guide/install.MD"]


def test_glob_is_recursive_and_names_are_relative_to_its_fixed_prefix(docs: Path) -> None:
    assert names("docs/**/*.md") == ["b.md", "guide/deep/z.md"]
    assert names("docs/guide/*") == ["install.MD"]  # the glob also keeps only wanted suffixes
    docs_from_abs = load_documents(str(docs / "guide" / "**" / "*.md"), EXTENSIONS)
    assert [(d.name, d.text) for d in docs_from_abs] == [("deep/z.md", "zed")]


def test_list_keeps_source_order_and_yields_each_file_once(docs: Path) -> None:
    sources = ["docs/guide", "docs/b.md", "docs", "docs/**/*.md"]
    loaded = list(load_documents(sources, EXTENSIONS))
    assert [d.name for d in loaded] == ["deep/z.md", "install.MD", "b.md", "a.txt"]
    assert len({d.path for d in loaded}) == 4


def test_symlink_to_a_file_already_loaded_is_yielded_once(docs: Path) -> None:
    (docs / "link.md").symlink_to(docs / "b.md")
    assert names(["docs/b.md", "docs/link.md"]) == ["b.md"]


def test_order_is_deterministic(docs: Path) -> None:
    first = names(["docs/**/*.txt", "docs"])
    assert first == names(["docs/**/*.txt", "docs"])
    assert first == ["a.txt", "b.md", "guide/deep/z.md", "guide/install.MD"]


def test_clashing_names_from_different_roots_are_made_unique(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "one" / "index.md", "first")
    write(tmp_path / "two" / "index.md", "second")
    write(tmp_path / "two" / "other.md", "other")
    assert names(["one", "two"]) == ["one/index.md", "two/index.md", "other.md"]


def test_iteration_is_lazy(docs: Path) -> None:
    loaded = load_documents("docs", EXTENSIONS)
    assert isinstance(loaded, Iterator)
    write(docs / "b.md", "changed after the call")  # read only when reached
    assert [d.text for d in loaded][1] == "changed after the call"


def test_a_bad_file_fails_only_when_reached(docs: Path) -> None:
    write(docs / "zz.md", "")
    loaded = load_documents("docs", EXTENSIONS)
    assert next(loaded).name == "a.txt"
    with pytest.raises(UserError, match=r"zz\.md"):
        list(loaded)


def test_bom_is_stripped_and_line_ends_normalised(tmp_path: Path) -> None:
    path = write(tmp_path / "win.md", "\ufeff# Title\r\n\r\nBody\rend\r\n".encode())
    [doc] = load_documents(str(path), EXTENSIONS)
    assert doc.text == "# Title\n\nBody\nend\n"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("missing.md", r"source path not found: missing\.md \(fix: pass source=PATH"),
        ("nowhere/**/*.md", r"glob matches no \.md/\.txt files: nowhere/\*\*/\*\.md \(fix: "),
        ("images/*.png", r"glob matches no \.md/\.txt files: images/\*\.png \(fix: .*loader\.extensions"),
        ("images", r"no \.md/\.txt files in directory: images \(fix: .*loader\.extensions"),
    ],
)
def test_sources_that_reach_no_file_fail_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, expected: str
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "images" / "logo.png", b"\x89PNG")
    with pytest.raises(UserError, match=expected):
        load_documents(source, EXTENSIONS)


def test_empty_source_list_fails(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"no source given \(fix: "):
        load_documents([], EXTENSIONS)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", r"empty file: .*bad\.md \(fix: "),
        (b" \n\t\r\n", r"empty file: .*bad\.md \(fix: "),
        (b"text\0more", r"binary file \(contains NUL bytes\): .*bad\.md \(fix: "),
        (b"caf\xe9 au lait", r"not UTF-8: .*bad\.md \(byte 0xe9 at offset 3\) \(fix: .*iconv"),
        (b"\xef\xbb\xbfna\xefve", r"not UTF-8: .*bad\.md \(byte 0xef at offset 5\) \(fix: .*iconv"),
        ("# Hi".encode("utf-16"), r"not UTF-8: .*bad\.md \(byte 0x[0-9a-f]{2} at offset 0\) \(fix: .*UTF-16"),
    ],
)
def test_bad_file_content_names_the_file_and_the_fix(tmp_path: Path, content: bytes, expected: str) -> None:
    path = write(tmp_path / "bad.md", content)
    with pytest.raises(UserError, match=expected) as raised:
        list(load_documents(str(path), EXTENSIONS))
    assert "\n" not in str(raised.value)
