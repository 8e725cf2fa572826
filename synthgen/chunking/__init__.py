"""Split documents into chunks: markdown by headers, plain text by paragraphs, both by size."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from synthgen.chunking.markdown import split_markdown
from synthgen.chunking.sizes import Chunk
from synthgen.chunking.text import split_text
from synthgen.documents import Document
from synthgen.settings import MarkdownLoaderSettings, TextLoaderSettings

__all__ = ["Chunk", "chunk_documents", "split_markdown", "split_text"]


def chunk_documents(
    documents: Iterable[Document], settings: MarkdownLoaderSettings | TextLoaderSettings
) -> Iterator[Chunk]:
    """Lazily chunk each document with the splitter settings.kind names."""
    for document in documents:
        if settings.kind == "markdown":
            yield from split_markdown(document, settings)
        else:
            yield from split_text(document, settings)
