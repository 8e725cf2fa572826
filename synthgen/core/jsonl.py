"""Append-only JSONL outputs and the stats file, all inside the run directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO

import jsonlines

from synthgen.core.errors import UserError


class JsonlOutput:
    """A JSONL file appended one flushed line at a time, so a crash keeps every finished record.

    Nothing is touched until `begin` or the first `write`; a `fresh` output then replaces what an earlier
    attempt left in the file, others append to it.
    """

    def __init__(self, path: Path, *, fresh: bool = False) -> None:
        self.path = path
        self.count = 0
        self.fresh = fresh
        self._file: TextIO | None = None
        self._writer: jsonlines.Writer | None = None

    def begin(self) -> None:
        """Open the file now (emptied if `fresh`), so it exists even if no record is written."""
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("w" if self.fresh else "a", encoding="utf-8")
            self._writer = jsonlines.Writer(self._file, compact=True, sort_keys=False, flush=True)

    def write(self, record: dict[str, Any]) -> None:
        """Append one record and flush it to disk."""
        self.begin()
        assert self._writer is not None
        self._writer.write(record)
        self.count += 1

    def close(self) -> None:
        """Close the file if it was opened."""
        if self._writer is not None and self._file is not None:
            self._writer.close()
            self._file.close()
            self._writer = self._file = None


def recover_jsonl(path: Path) -> list[dict[str, Any]]:
    """The complete records of a JSONL file; a line torn by a crash is cut off the file."""
    if not path.exists():
        return []
    data = path.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    if len(complete) != len(data):
        with path.open("r+b") as file:
            file.truncate(len(complete))
    return [json.loads(line) for line in complete.decode("utf-8").splitlines() if line.strip()]


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write a JSON document atomically (temp file, then rename)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)


def read_jsonl(path: Path, *, missing_ok: bool = False) -> list[dict[str, Any]]:
    """The JSON objects of a run's JSONL file; a bad line (or a missing file, unless `missing_ok`) is a UserError."""
    if not path.is_file():
        if missing_ok:
            return []
        raise UserError(f"{path} is missing (fix: rerun that job, or remove its directory from the merge)")
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise UserError(f"{path}:{number}: not valid JSON ({error.msg}) (fix: rerun that job)") from None
        if not isinstance(row, dict):
            raise UserError(f"{path}:{number}: not a JSON object (fix: rerun that job)")
        rows.append(row)
    return rows


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write `rows` as a JSONL file, replacing it."""
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
