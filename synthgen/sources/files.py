"""Find source documents (files, directories, globs) and read them lazily as UTF-8 text."""

from __future__ import annotations

import codecs
import errno
import glob
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from synthgen.core.errors import UserError

_GLOB_CHARS = re.compile(r"[*?[]")
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


@dataclass(frozen=True)
class Document:
    """One source file's text."""

    path: Path  # absolute path of the file
    name: str  # path relative to the source root it came from (posix); for a single-file source, the file name
    text: str


@dataclass(frozen=True)
class SourceFile:
    """A file a source reached, not read yet: its absolute path, its name in outputs, and the path as written."""

    path: Path
    name: str
    shown: str  # the path as the user wrote it, for messages


def load_documents(source: str | Sequence[str], extensions: Sequence[str]) -> Iterator[Document]:
    """Yield the documents of a file, directory, glob, or list of these, one file read at a time.

    Directories are searched recursively (hidden files and folders skipped) and, like globs, keep only
    files whose suffix is in `extensions` (case-insensitive); a file named explicitly is read whatever
    its suffix. Sources keep their given order, each one's files sorted by name; a file reached twice
    is yielded once. Missing sources raise UserError at once, unreadable files when they are reached.
    """
    sources = as_list(source)
    return (read_text(found) for found in find_files(sources, extensions))


def find_files(sources: Sequence[str], extensions: Sequence[str]) -> list[SourceFile]:
    """The files the sources name (see load_documents), in order, each once, with unique names."""
    suffixes = tuple("." + ext.lower().lstrip(".") for ext in extensions)
    return _unique_names(_dedup(f for src in sources for f in _expand(src, suffixes)))


def as_list(source: str | Sequence[str]) -> list[str]:
    """The `source` setting as a non-empty list of paths, directories or globs."""
    sources = [source] if isinstance(source, str) else list(source)
    if not sources:
        raise UserError("no source given (fix: pass source=PATH to an existing file, directory or glob)")
    return sources


def _expand(source: str, suffixes: tuple[str, ...]) -> list[SourceFile]:
    """The files one source names, sorted by name."""
    path = Path(os.path.expanduser(source))
    if path.is_file():
        return [SourceFile(_absolute(path), path.name, source)]
    if path.is_dir():
        return _walk(source, path, suffixes)
    if _GLOB_CHARS.search(source):
        return _glob(source, suffixes)
    if path.is_symlink():  # a link to nowhere: a loop or a broken link
        try:
            path.resolve(strict=True)
        except (OSError, RuntimeError) as error:
            raise _unreachable(SourceFile(_absolute(path), path.name, source), error) from None
    raise UserError(f"source path not found: {source} (fix: pass source=PATH to an existing file, directory or glob)")


def _walk(source: str, root: Path, suffixes: tuple[str, ...]) -> list[SourceFile]:
    """The files under a directory whose suffix is wanted, skipping hidden files and folders."""
    found = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [d for d in subfolders if not d.startswith(".")]
        for file in files:
            if not file.startswith(".") and file.lower().endswith(suffixes):
                name = (Path(folder) / file).relative_to(root).as_posix()
                found.append(SourceFile(_absolute(root / name), name, os.path.join(source, name)))
    if not found:
        raise UserError(
            f"no {_listed(suffixes)} files in directory: {source} "
            "(fix: add such files, or add their suffix to loader.extensions)"
        )
    return sorted(found, key=lambda f: f.name)


def _glob(pattern: str, suffixes: tuple[str, ...]) -> list[SourceFile]:
    """The files a glob matches whose suffix is wanted, named relative to the glob's fixed prefix."""
    expanded = os.path.expanduser(pattern)
    root = _glob_root(expanded)
    found = [
        SourceFile(_absolute(Path(match)), Path(os.path.relpath(match, root)).as_posix(), match)
        for match in glob.glob(expanded, recursive=True)
        if os.path.isfile(match) and match.lower().endswith(suffixes)
    ]
    if not found:
        raise UserError(
            f"glob matches no {_listed(suffixes)} files: {pattern} "
            "(fix: correct the pattern, or add the files' suffix to loader.extensions)"
        )
    return sorted(found, key=lambda f: f.name)


def _glob_root(pattern: str) -> str:
    """The leading folders of a glob pattern that hold no wildcard ('.' if none)."""
    fixed = []
    for part in Path(pattern).parts[:-1]:
        if _GLOB_CHARS.search(part):
            break
        fixed.append(part)
    return os.path.join(*fixed) if fixed else "."


def _dedup(found: Iterator[SourceFile]) -> list[SourceFile]:
    """Keep the first of the entries that reach the same file (after resolving symlinks)."""
    seen: set[Path] = set()
    unique = []
    for f in found:
        try:
            real = f.path.resolve(strict=True)
        except (OSError, RuntimeError) as error:  # Python 3.11 raises RuntimeError for a symlink loop
            raise _unreachable(f, error) from None
        if real not in seen:
            seen.add(real)
            unique.append(f)
    return unique


def _unique_names(found: list[SourceFile]) -> list[SourceFile]:
    """Rename files whose names clash (e.g. two roots' index.md): first to their cwd-relative path, then absolute."""
    renames: tuple[Callable[[Path], str], ...] = (lambda p: Path(os.path.relpath(p)).as_posix(), Path.as_posix)
    for rename in renames:
        counts = Counter(f.name for f in found)
        found = [replace(f, name=rename(f.path)) if counts[f.name] > 1 else f for f in found]
    return found


def read_text(found: SourceFile) -> Document:
    """Read one file as text: BOM stripped, line ends normalised, clear errors for bad content."""
    try:
        data = found.path.read_bytes()
    except OSError as error:
        raise _unreachable(found, error) from None
    if data.startswith(_UTF16_BOMS):
        raise _not_utf8(found, data, 0, "UTF-16")
    if b"\0" in data:
        raise UserError(
            f"binary file (contains NUL bytes): {found.shown} "
            "(fix: remove it from source, or narrow the source glob or loader.extensions)"
        )
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        text = data[bom:].decode("utf-8")
    except UnicodeDecodeError as error:
        raise _not_utf8(found, data, bom + error.start, "WINDOWS-1252") from None
    if not text.strip():
        raise UserError(f"empty file: {found.shown} (fix: add text to it, or remove it from source)")
    return Document(found.path, found.name, text.replace("\r\n", "\n").replace("\r", "\n"))


def _unreachable(found: SourceFile, error: OSError | RuntimeError) -> UserError:
    """The error for a file that cannot be opened: a symlink loop, a broken link, or no permission."""
    if isinstance(error, RuntimeError) or error.errno == errno.ELOOP:
        return UserError(f"symlink loop at {found.shown} (fix: repair or remove the link, or leave it out of source)")
    if error.errno == errno.ENOENT:
        return UserError(f"broken symlink: {found.shown} (fix: repair or remove the link, or leave it out of source)")
    return UserError(f"cannot read {found.shown}: {error.strerror} (fix: check the file's permissions)")


def _not_utf8(found: SourceFile, data: bytes, offset: int, likely: str) -> UserError:
    """The error for a file that is not UTF-8, naming the first bad byte."""
    return UserError(
        f"not UTF-8: {found.shown} (byte 0x{data[offset]:02x} at offset {offset}) "
        f"(fix: convert it to UTF-8, e.g. with iconv -f {likely} -t UTF-8)"
    )


def _absolute(path: Path) -> Path:
    """An absolute, normalised path (symlinks kept, so names stay relative to their root)."""
    return Path(os.path.abspath(path))


def _listed(suffixes: tuple[str, ...]) -> str:
    """Suffixes for a message, e.g. '.md/.txt'."""
    return "/".join(suffixes) or "(no extensions configured)"
