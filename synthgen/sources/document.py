"""`loader=document`: PDF, DOCX, PPTX, XLSX, HTML and EPUB converted to Markdown, then split like Markdown.

Markdown and text files in the same source are read as they are. In a source of several files, a file that
cannot be read is skipped (listed by `skipped()`, so the run records it in failures.jsonl) unless every file is bad.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

from pydantic import Field, PrivateAttr

from synthgen.core.errors import UserError
from synthgen.core.paths import cache_dir
from synthgen.sources.base import Chunk, SkippedFile
from synthgen.sources.files import Document, SourceFile, as_list, find_files, read_text
from synthgen.sources.markdown import MarkdownLoader

log = logging.getLogger(__name__)
CONVERTED_SUFFIXES = (".pdf", ".docx", ".pptx", ".xlsx", ".html", ".htm", ".epub")
_MISSING_EXTRA = (
    "loader=document needs the `documents` extra (markitdown, pdfminer.six), which is not installed "
    "(fix: pip install 'synthgen[documents]')"
)


class DocumentLoader(MarkdownLoader):
    """Office documents, PDFs, web pages and e-books as Markdown chunks; PDF chunks name their pages."""

    extensions: list[str] = Field(default_factory=lambda: [*CONVERTED_SUFFIXES, ".md", ".markdown", ".txt"])
    _skipped: list[SkippedFile] = PrivateAttr(default_factory=list)
    _pages: dict[str, tuple[tuple[int, int, int], ...]] = PrivateAttr(default_factory=dict)

    def documents(self, source: str | Sequence[str]) -> Iterator[Document]:
        """Each file read or converted; in a source of several files a bad file is skipped, unless all are."""
        files = find_files(as_list(source), self.extensions)
        read = 0
        for found in files:
            try:
                document = self._read(found)
            except UserError as error:
                if len(files) == 1 or str(error) == _MISSING_EXTRA:
                    raise
                log.warning("skipped %s: %s", found.shown, error)
                self._skipped.append(SkippedFile(found.name, error))
                continue
            read += 1
            yield document
        if files and not read:
            raise UserError(f"none of the {len(files)} source files could be read; the first: {self._skipped[0].error}")

    def split(self, document: Document) -> list[Chunk]:
        """Markdown chunks; those of a PDF carry the pages their text comes from."""
        chunks = super().split(document)
        spans = self._pages.get(document.name)
        return _with_pages(document.text, chunks, spans) if spans else chunks

    def skipped(self) -> list[SkippedFile]:
        """The files skipped as unreadable so far."""
        return list(self._skipped)

    def _read(self, found: SourceFile) -> Document:
        if found.path.suffix.lower() not in CONVERTED_SUFFIXES:
            return read_text(found)
        try:
            from synthgen.sources.convert import convert_file
        except ImportError:
            raise UserError(_MISSING_EXTRA) from None
        converted = convert_file(found.path, cache_dir=cache_dir())
        if converted.pages:
            self._pages[found.name] = tuple((span.start, span.end, span.page) for span in converted.pages)
        return Document(found.path, found.name, converted.markdown)


def _with_pages(text: str, chunks: list[Chunk], spans: tuple[tuple[int, int, int], ...]) -> list[Chunk]:
    """The chunks with the pages their text overlaps; each chunk is a slice of `text`, found in order."""
    located: list[Chunk] = []
    cursor = 0
    for chunk in chunks:
        start = text.find(chunk.text, cursor)
        if start < 0:  # not a plain slice (cannot happen with the bundled splitter): no pages claimed
            located.append(chunk)
            continue
        end = start + len(chunk.text)
        pages = tuple(page for low, high, page in spans if low < end and start < high)
        located.append(Chunk(chunk.id, chunk.document, chunk.header_path, chunk.text, chunk.index, pages))
        cursor = start + 1
    return located
