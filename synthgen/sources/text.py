"""Plain text: paragraphs packed up to the size limit."""

from __future__ import annotations

from synthgen.sources.files import Document
from synthgen.sources.sizes import Chunk, ChunkSizes, Section, build_chunks


class TextLoader(ChunkSizes):
    """`loader=text`: blank-line paragraphs packed up to max_chunk_size; no header path."""

    def split(self, document: Document) -> list[Chunk]:
        """Chunks of a plain text document."""
        return build_chunks(document, [Section((), document.text, has_body=True)], self)
