"""A trial's source: the Fair-Forge `Dataset` records of a document-mode run directory, its datasets.jsonl, a sweep
directory (every job's datasets.jsonl), or any JSONL of such records; every record validated on the way in."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from synthgen.core.errors import UserError
from synthgen.pipelines.documents.records import Dataset

DATASETS = "datasets.jsonl"
FIX = "point source= at a document-mode run directory, its datasets.jsonl, a sweep directory or a Dataset JSONL"


@dataclass(frozen=True)
class SourceDataset:
    """One record as read (kept whole, so fields synthgen does not know pass through) and where it came from."""

    record: dict[str, Any]
    file: str
    line: int


def read_sources(source: str | list[str]) -> list[SourceDataset]:
    """Every record of the source files, in order; a session id read twice (the same set given twice) is kept once."""
    paths = [source] if isinstance(source, str) else source
    files = [file for path in paths for file in dataset_files(Path(path).expanduser())]
    read: dict[str, SourceDataset] = {}
    for file in files:
        for dataset in read_dataset_file(file):
            read.setdefault(dataset.record["session_id"], dataset)
    if not read:
        raise UserError(f"the source {', '.join(map(str, files))} holds no dataset (fix: {FIX})")
    return list(read.values())


def dataset_files(path: Path) -> list[Path]:
    """The Dataset JSONL files a source path names."""
    if path.is_file():
        if path.suffix != ".jsonl":
            raise UserError(f"the source {path} is not a JSONL file (fix: {FIX})")
        return [path]
    if not path.is_dir():
        raise UserError(f"the source {path} does not exist (fix: {FIX})")
    if (path / DATASETS).is_file():
        return [path / DATASETS]
    if (path / "records.jsonl").is_file():
        raise UserError(
            f"the source {path} is a facts-mode run (records.jsonl, no {DATASETS}): a trial answers the questions "
            f"of a document-mode set (fix: {FIX})"
        )
    jobs = sorted(path.glob(f"*/{DATASETS}"), key=lambda file: _job_order(file.parent.name))
    if not jobs:
        raise UserError(f"the source {path} holds no {DATASETS}, nor do its job directories (fix: {FIX})")
    return jobs


def read_dataset_file(file: Path) -> list[SourceDataset]:
    """The validated records of one JSONL file; every bad record makes one line of the error (the first shown)."""
    datasets: list[SourceDataset] = []
    problems: list[str] = []
    with file.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            problem, record = _parse(line)
            if problem:
                problems.append(f"line {number} {problem}")
            else:
                datasets.append(SourceDataset(record, str(file), number))
    if problems:
        more = f" ({len(problems)} bad records in all)" if len(problems) > 1 else ""
        raise UserError(f"the source {file}: {problems[0]}{more} (fix: {FIX})")
    return datasets


def _parse(line: str) -> tuple[str | None, dict[str, Any]]:
    """(what is wrong with the line, or None; the record)."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        return f"is not JSON ({error.msg}): the file is not JSONL", {}
    if not isinstance(record, dict):
        return "is not a JSON object", {}
    try:
        dataset = Dataset.model_validate(record)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "record"
        return f"is not a Fair-Forge Dataset record ({where}: {first['msg']})", {}
    if not dataset.conversation:
        return "is a Dataset with an empty conversation: nothing to answer", {}
    return None, record


def _job_order(name: str) -> tuple[int, str]:
    return (int(name), name) if name.isdigit() else (1 << 30, name)
