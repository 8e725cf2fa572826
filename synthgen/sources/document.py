"""`loader=document`: PDF, DOCX, PPTX, XLSX, HTML and EPUB converted to Markdown, then split like Markdown.

Markdown and text files in the same source are read as they are; an unreadable file is skipped as by every loader.
"""

from __future__ import annotations

from pydantic import Field, PrivateAttr

from synthgen.core.paths import cache_dir
from synthgen.sources.base import Chunk, SourceUnusable
from synthgen.sources.files import Document, SourceFile, read_text
from synthgen.sources.markdown import MarkdownLoader

CONVERTED_SUFFIXES = (".pdf", ".docx", ".pptx", ".xlsx", ".html", ".htm", ".epub")
_MISSING_EXTRA = (
    "loader=document needs the `documents` extra (markitdown, pdfminer.six), which is not installed "
    "(fix: pip install 'synthgen[documents]')"
)


class DocumentLoader(MarkdownLoader):
    """Office documents, PDFs, web pages and e-books as Markdown chunks; PDF chunks name their pages."""

    extensions: list[str] = Field(default_factory=lambda: [*CONVERTED_SUFFIXES, ".md", ".markdown", ".txt"])
    _pages: dict[str, tuple[tuple[int, int, int], ...]] = PrivateAttr(default_factory=dict)

    def split(self, document: Document) -> list[Chunk]:
        """Markdown chunks; those of a PDF carry the pages their text comes from."""
        chunks = super().split(document)
        spans = self._pages.get(document.name)
        return _with_pages(document.text, chunks, spans) if spans else chunks

    def read(self, found: SourceFile) -> Document:
        """A Markdown or text file as it is; another converted to Markdown (PDF pages noted)."""
        if found.path.suffix.lower() not in CONVERTED_SUFFIXES:
            return read_text(found)
        try:
            from synthgen.sources.convert import convert_file
        except ImportError:
            raise SourceUnusable(_MISSING_EXTRA) from None
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
