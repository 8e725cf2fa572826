"""The run directory a job owns: an exclusive lock, and the fingerprint of what its outputs were made from.

The lock is `fcntl.flock` on `.synthgen/lock`: the kernel releases it whenever its process ends (even on SIGKILL),
so it is never stale, and the file can name the holder's PID for the second run's message.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel

from synthgen.core.errors import UserError
from synthgen.core.jsonl import write_json

STATE_DIR = ".synthgen"
# With every *.jsonl: what `resume=false` deletes.
OUTPUT_FILES = ("stats.json", "plan.txt", "quality.json", "report.html")
# Settings that change how a run goes, never what it writes: a rerun may change them and still resume.
RUN_ONLY = frozenset({"cache", "max_cost_usd", "max_failure_rate", "dry_run", "resume", "quiet", "report", "export"})
MODEL_TRANSPORT = frozenset(
    {"api_base", "api_key_env", "max_concurrency", "timeout", "retries", "backoff_base", "backoff_max", "rpm", "tpm"}
)
_SHOWN_VALUE = 30  # differing values up to this length are quoted in the mismatch message


def output_settings(config: dict[str, Any]) -> dict[str, Any]:
    """The settings of a plain job config that shape its outputs (what a rerun must keep to resume)."""
    kept = {key: value for key, value in config.items() if key not in RUN_ONLY}
    if isinstance(kept.get("model"), dict):
        kept["model"] = {key: value for key, value in kept["model"].items() if key not in MODEL_TRANSPORT}
    return kept


@runtime_checkable
class Digested(Protocol):
    """A plan that hashes itself (a large one: streaming, in time linear in its size)."""

    def digest(self) -> str:
        """A hex digest of what the plan was made from."""


def fingerprint(config: dict[str, Any], plan: Any) -> dict[str, Any]:
    """What a job's outputs are made from: the settings that shape them, and a digest of its planned work units
    (the inputs as read and chunked): the plan's own `digest()`, else the digest of the plan as JSON."""
    if isinstance(plan, Digested):
        planned = plan.digest()
    else:
        planned = hashlib.sha256(plan_text(plan).encode("utf-8")).hexdigest()
    settings = json.loads(json.dumps(output_settings(config), default=str))  # as it reads back from the file
    return {"config": settings, "plan": planned}


def plan_text(plan: Any) -> str:
    """The plan as `json.dumps(plan, sort_keys=True, ensure_ascii=False, default=_plain)` writes it, each object
    written once and its text reused: the units of a plan share their dataset's chunks, which json.dumps
    would convert again in every unit (units x chunks conversions: 0.8 s for 200 one-chunk files)."""
    written: dict[int, tuple[Any, str]] = {}  # id -> (the object, kept so that its id is not reused; its text)

    def text(value: Any) -> str:
        if value is None or isinstance(value, str | int | float):
            return json.dumps(value, ensure_ascii=False)
        seen = written.get(id(value))
        if seen is None:
            seen = written[id(value)] = (value, convert(value))
        return seen[1]

    def convert(value: Any) -> str:
        if isinstance(value, dict):
            return "{" + ", ".join(f"{key(name)}: {text(item)}" for name, item in sorted(value.items())) + "}"
        if isinstance(value, list | tuple):
            return "[" + ", ".join(text(item) for item in value) + "]"
        return text(_plain(value))

    def key(name: Any) -> str:
        return json.dumps(name if isinstance(name, str) else json.dumps(name), ensure_ascii=False)

    return text(plan)


class RunDirectory:
    """A job's output directory: claimed with `claim`, checked with `check`, started with `begin`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock: int | None = None

    @property
    def _fingerprint_path(self) -> Path:
        return self.path / STATE_DIR / "fingerprint.json"

    def claim(self) -> None:
        """Create the directory if needed and take its lock, or raise a UserError naming the process that holds it."""
        if self.path.exists() and not self.path.is_dir():
            raise UserError(f"the run directory {self.path} is a file (fix: set hydra.run.dir to a directory path)")
        lock = self.path / STATE_DIR / "lock"
        try:
            lock.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise UserError(
                f"cannot create the run directory {self.path}: {error.strerror} "
                "(fix: set hydra.run.dir to a writable directory)"
            ) from None
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(descriptor, 32).decode("ascii", "replace").strip() or "unknown"
            os.close(descriptor)
            raise UserError(
                f"the run directory {self.path} is in use by another run (process {holder}) "
                "(fix: wait for it to finish, or choose another hydra.run.dir)"
            ) from None
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()}\n".encode("ascii"))
        self._lock = descriptor

    def release(self) -> None:
        """Give the lock up; idempotent."""
        if self._lock is not None:
            os.ftruncate(self._lock, 0)
            os.close(self._lock)  # closing the descriptor releases the flock
            self._lock = None

    def check(self, current: dict[str, Any], *, resume: bool) -> None:
        """Refuse to mix: outputs made from another config or other inputs are kept, unless `resume` is false."""
        if not resume or not self._holds_outputs():
            return
        try:
            previous = json.loads(self._fingerprint_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return  # made before fingerprints were recorded, or by hand: nothing to compare with
        if previous == current:
            return
        differing = _differences(previous.get("config", {}), current["config"])
        made_from = (
            f"another config ({'; '.join(differing[:3])})" if differing else "other inputs (the sources changed)"
        )
        raise UserError(
            f"the run directory {self.path} holds outputs made from {made_from} "
            "(fix: choose a new hydra.run.dir (or hydra.sweep.dir), or add resume=false to start it afresh)"
        )

    def begin(self, current: dict[str, Any], *, resume: bool) -> None:
        """Start an attempt: without `resume` the earlier outputs go; the fingerprint is recorded; stats.json is
        dropped, as it describes one attempt."""
        if not resume:
            for path in [*self.path.glob("*.jsonl"), *(self.path / name for name in OUTPUT_FILES)]:
                path.unlink(missing_ok=True)
        write_json(self._fingerprint_path, current)
        (self.path / "stats.json").unlink(missing_ok=True)

    def _holds_outputs(self) -> bool:
        """Whether an earlier attempt wrote any record (failures aside)."""
        return any(p.stat().st_size > 0 for p in self.path.glob("*.jsonl") if p.name != "failures.jsonl")


def _plain(value: Any) -> Any:
    """JSON for the objects of a plan: dataclasses and pydantic models by their fields, paths as text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    return str(value)


def _differences(before: Any, after: Any, prefix: str = "") -> list[str]:
    """The dotted keys whose values differ, each with both values when they are short."""
    if isinstance(before, dict) and isinstance(after, dict):
        keys = sorted(before.keys() | after.keys())
        return [line for key in keys for line in _differences(before.get(key), after.get(key), f"{prefix}{key}.")]
    if before == after:
        return []
    name = prefix.rstrip(".")
    shown = [json.dumps(value, ensure_ascii=False) for value in (before, after)]
    return [f"{name}: {shown[0]} → {shown[1]}" if max(map(len, shown)) <= _SHOWN_VALUE else name]
