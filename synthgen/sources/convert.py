"""Convert the documents users have (PDF, DOCX, PPTX, XLSX, HTML, EPUB) to Markdown, cached per file content.

PDFs go through `synthgen.sources.pdf` page by page so every chunk can name its pages; the other formats use
markitdown's converter for their suffix, which keeps headings, lists and tables as Markdown.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from synthgen.core.errors import UserError
from synthgen.sources.pdf import pdf_pages_markdown

SUPPORTED_SUFFIXES: tuple[str, ...] = (".pdf", ".docx", ".pptx", ".xlsx", ".html", ".htm", ".epub")

_PAGE_SEPARATOR = "\n\n"
_FORMAT_NAMES = {".docx": "Word", ".pptx": "PowerPoint", ".xlsx": "Excel", ".html": "HTML", ".htm": "HTML"}
_CACHE_FORMAT = 1  # bump when the conversion output changes, so cached entries are converted again


@dataclass(frozen=True)
class PageSpan:
    """The characters [start, end) of a converted PDF's Markdown that came from page `page` (1-based)."""

    start: int
    end: int
    page: int


@dataclass(frozen=True)
class Converted:
    """A document as Markdown; `pages` maps spans of it to PDF pages (empty for formats without pages)."""

    markdown: str
    pages: tuple[PageSpan, ...] = ()


def convert_file(path: Path, *, cache_dir: Path | None) -> Converted:
    """The Markdown of the document at `path`, converted once per content (sha256) and kept under
    `cache_dir / "converted"` (no cache when `cache_dir` is None).

    Raises UserError, one line naming the file and the fix, for an unsupported suffix, an unreadable, damaged
    or encrypted file, a PDF without a text layer, or a document with no text.
    """
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UserError(
            f"{path}: cannot convert {f'{suffix!r} files' if suffix else 'a file without a suffix'}; fix: use one of "
            f"{', '.join(SUPPORTED_SUFFIXES)} (or export the document to PDF)"
        )
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise UserError(
            f"{path}: cannot read the file ({exc.strerror}); fix: check the path and its permissions"
        ) from None
    entry = None
    if cache_dir is not None:
        entry = cache_dir / "converted" / f"{hashlib.sha256(content).hexdigest()}{suffix}.json"
        if (cached := _load(entry)) is not None:
            return cached
    converted = _convert_pdf(path, content) if suffix == ".pdf" else _convert_with_markitdown(path, content, suffix)
    if not converted.markdown.strip():
        raise UserError(f"{path}: the document has no text; fix: check that it is the right file, or remove it")
    if entry is not None:
        _store(entry, converted)
    return converted


def pages_of(converted: Converted, start: int, end: int) -> list[int]:
    """The page numbers, ascending, whose text the span [start, end) of `converted.markdown` overlaps."""
    return [span.page for span in converted.pages if span.start < end and start < span.end]


def _convert_pdf(path: Path, content: bytes) -> Converted:
    """A PDF's pages joined by blank lines, with the exact span of each page that has text."""
    parts: list[str] = []
    spans: list[PageSpan] = []
    offset = 0
    for number, text in enumerate(pdf_pages_markdown(path, content), start=1):
        if not text:
            continue
        if parts:
            parts.append(_PAGE_SEPARATOR)
            offset += len(_PAGE_SEPARATOR)
        parts.append(text)
        spans.append(PageSpan(offset, offset + len(text), number))
        offset += len(text)
    return Converted("".join(parts), tuple(spans))


def _convert_with_markitdown(path: Path, content: bytes, suffix: str) -> Converted:
    """A DOCX, PPTX, XLSX, HTML or EPUB file's `content` through markitdown's converter for its suffix."""
    from markitdown import StreamInfo
    from markitdown.converters import DocxConverter, EpubConverter, HtmlConverter, PptxConverter, XlsxConverter

    converters = {
        ".docx": DocxConverter,
        ".pptx": PptxConverter,
        ".xlsx": XlsxConverter,
        ".html": HtmlConverter,
        ".htm": HtmlConverter,
        ".epub": EpubConverter,
    }
    info = StreamInfo(extension=suffix, filename=path.name, local_path=str(path))
    try:
        result = converters[suffix]().convert(io.BytesIO(content), info)
    except Exception as exc:  # a damaged file surfaces as whatever its parser trips over
        kind = _FORMAT_NAMES.get(suffix, suffix.lstrip(".").upper())
        detail = " ".join(str(exc).split()) or "no details"
        raise UserError(
            f"{path}: cannot read this {kind} file ({type(exc).__name__}: {detail}); fix: open it and save it "
            f"again as {suffix}, or remove it from the source"
        ) from None
    return Converted(result.markdown.strip())


def _cache_stamp() -> str:
    """What produced a cached conversion: entries made by other versions are converted again."""
    return f"{_CACHE_FORMAT}/markitdown-{version('markitdown')}/pdfminer.six-{version('pdfminer.six')}"


def _load(entry: Path) -> Converted | None:
    """The cached conversion in `entry`, or None if it is missing, stale or unreadable."""
    try:
        data: Any = json.loads(entry.read_text(encoding="utf-8"))
        if data["stamp"] != _cache_stamp():
            return None
        markdown = data["markdown"]
        pages = tuple(PageSpan(int(start), int(end), int(page)) for start, end, page in data["pages"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(markdown, str) or any(not 0 <= s.start <= s.end <= len(markdown) for s in pages):
        return None
    return Converted(markdown, pages)


def _store(entry: Path, converted: Converted) -> None:
    """Write `converted` to `entry` atomically (a unique temporary file, then a rename)."""
    data = {
        "stamp": _cache_stamp(),
        "markdown": converted.markdown,
        "pages": [[span.start, span.end, span.page] for span in converted.pages],
    }
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=entry.parent, suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(data, stream, ensure_ascii=False)
            os.replace(tmp, entry)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise UserError(
            f"cannot write the conversion cache {entry} ({exc.strerror}); fix: free disk space or set "
            "SYNTHGEN_CACHE_DIR to a writable directory"
        ) from None
