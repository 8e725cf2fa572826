"""The loader extension point: a `loader` option names a subclass of `Loader` with `_target_`; it yields Chunks.

In a source of several files, a file that cannot be read is skipped with a warning (listed by `skipped()`, so the
run records it in failures.jsonl and stats.json) unless every file is bad or `loader.strict` is set.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from pydantic import PrivateAttr

from synthgen.config.schema import LoaderSettings
from synthgen.config.targets import require_class
from synthgen.core.errors import UserError
from synthgen.sources.files import Document, SourceFile, as_list, find_files, read_text

log = logging.getLogger(__name__)


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

    _skipped: list[SkippedFile] = PrivateAttr(default_factory=list)
    _without_body: int = PrivateAttr(0)

    def documents(self, source: str | Sequence[str]) -> Iterator[Document]:
        """The source's documents, read one at a time; in a source of several files a bad file is skipped, unless
        all are or `strict` is set."""
        files = find_files(as_list(source), self.extensions)
        read = 0
        for found in files:
            try:
                document = self.read(found)
            except UserError as error:
                if len(files) == 1 or self.strict or isinstance(error, SourceUnusable):
                    raise
                log.warning("skipped %s: %s", found.shown, error)
                self._skipped.append(SkippedFile(found.name, error))
                continue
            read += 1
            yield document
        if files and not read:
            raise UserError(f"none of the {len(files)} source files could be read; the first: {self._skipped[0].error}")

    def read(self, found: SourceFile) -> Document:
        """One file as a document (override to read other formats); a UserError names what is wrong with it."""
        return read_text(found)

    @abstractmethod
    def split(self, document: Document) -> list[Chunk]:
        """The chunks of one document, in order, with stable ids."""

    def chunks(self, source: str | Sequence[str]) -> Iterator[Chunk]:
        """Every chunk of every document of `source`, lazily."""
        for document in self.documents(source):
            yield from self.split(document)

    def skipped(self) -> list[SkippedFile]:
        """The files `chunks` passed over as unreadable, so far."""
        return list(self._skipped)

    def without_body(self) -> int:
        """How many parts `chunks` dropped as headings with no text under them (nothing to ask about), so far."""
        return self._without_body

    def count_without_body(self, count: int) -> None:
        """Count `count` more parts dropped for having no body text."""
        self._without_body += count


class SourceUnusable(UserError):
    """A loader error no other file would avoid (e.g. a missing extra): the run stops at once, no file skipped."""


@dataclass(frozen=True)
class SkippedFile:
    """A source file a loader could not read, and why (one line naming the fix)."""

    document: str
    error: UserError


def as_loader(settings: LoaderSettings) -> Loader:
    """The validated `loader` option as a Loader, or a UserError naming the fix."""
    return require_class(settings, Loader, "loader")  # type: ignore[type-abstract]
