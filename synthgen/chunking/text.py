"""Plain text: paragraphs packed up to the size limit."""

from __future__ import annotations

from synthgen.chunking.sizes import Chunk, Section, build_chunks
from synthgen.documents import Document
from synthgen.settings import TextLoaderSettings


def split_text(document: Document, settings: TextLoaderSettings) -> list[Chunk]:
    """Chunks of a plain text document: blank-line paragraphs packed up to max_chunk_size, header path ()."""
    return build_chunks(document, [Section((), document.text, has_body=True)], settings)
