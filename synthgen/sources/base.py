"""The loader extension point: a `loader` option names a subclass of `Loader` with `_target_`; it yields Chunks."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from synthgen.config.schema import LoaderSettings
from synthgen.config.targets import require_class
from synthgen.core.errors import UserError
from synthgen.sources.files import Document, load_documents


@dataclass(frozen=True)
class Chunk:
    """A piece of a document small enough to generate from."""

    id: str  # unique across the run, stable for the same inputs and settings
    document: str  # Document.name
    header_path: tuple[str, ...]  # e.g. ("Guide", "Install"); () before any header and for plain text
    text: str
    index: int  # 0-based position within its document
    pages: tuple[int, ...] = ()  # PDF pages the chunk's text comes from; () for sources without pages

    @property
    def header(self) -> str:
        """The header path as one line, e.g. 'Guide > Install'."""
        return " > ".join(self.header_path)


@dataclass(frozen=True)
class Section:
    """A contiguous slice of a document under one header path, before size rules."""

    header_path: tuple[str, ...]
    text: str
    has_body: bool  # False for a header line with nothing under it


class Loader(LoaderSettings, ABC):
    """Reads the files of a source and splits each into chunks; its fields are the option's settings."""

    def documents(self, source: str | Sequence[str]) -> Iterator[Document]:
        """The source's documents, read one at a time (override to read other formats)."""
        return load_documents(source, self.extensions)

    @abstractmethod
    def split(self, document: Document) -> list[Chunk]:
        """The chunks of one document, in order, with stable ids."""

    def chunks(self, source: str | Sequence[str]) -> Iterator[Chunk]:
        """Every chunk of every document of `source`, lazily."""
        for document in self.documents(source):
            yield from self.split(document)

    def skipped(self) -> list[SkippedFile]:
        """The files `chunks` passed over as unreadable (a loader that skips bad files lists them here)."""
        return []


@dataclass(frozen=True)
class SkippedFile:
    """A source file a loader could not read, and why (one line naming the fix)."""

    document: str
    error: UserError


def as_loader(settings: LoaderSettings) -> Loader:
    """The validated `loader` option as a Loader, or a UserError naming the fix."""
    return require_class(settings, Loader, "loader")  # type: ignore[type-abstract]
