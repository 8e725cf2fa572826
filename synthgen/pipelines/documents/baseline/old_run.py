"""Reading the baseline run: the config it was made with, its written items, and the chunks it generated from.

Only written files are read (datasets.jsonl, chunks.jsonl, the saved config), so a baseline made by an earlier
version of the pipeline reads the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from synthgen.core.errors import UserError
from synthgen.core.jsonl import read_jsonl
from synthgen.outputs.changes import CHUNKS, ChunkRecord
from synthgen.pipelines.documents.records import Agentic, Batch

FINGERPRINT = Path(".synthgen") / "fingerprint.json"
HYDRA_CONFIG = Path(".hydra") / "config.yaml"


@dataclass(frozen=True)
class OldTurn:
    """One written item of the baseline: its turn record, its dataset, and its position in the conversation."""

    batch: Batch
    agentic: Agentic
    session_id: str
    position: int  # 0-based turn of its dataset's conversation

    @property
    def qa_id(self) -> str:
        """The item's id, kept when the item is."""
        return self.batch.qa_id


@dataclass(frozen=True)
class OldRun:
    """The baseline: its directory, its output settings, its items in order, and its chunks (None when the run
    predates chunks.jsonl)."""

    path: Path
    config: dict[str, Any]
    turns: list[OldTurn]
    chunks: list[ChunkRecord] | None

    def datasets(self) -> dict[str, list[OldTurn]]:
        """The items of each dataset (conversation), in order."""
        grouped: dict[str, list[OldTurn]] = {}
        for turn in self.turns:
            grouped.setdefault(turn.session_id, []).append(turn)
        return grouped


def read_old_run(path: Path) -> OldRun:
    """The baseline run at `path`, or a UserError naming the fix."""
    fix = "(fix: set baseline= to the directory of a finished document run)"
    if not path.is_dir():
        raise UserError(f"baseline={path}: no such directory {fix}")
    datasets = path / "datasets.jsonl"
    if not datasets.is_file():
        raise UserError(f"baseline={path} holds no datasets.jsonl {fix}")
    turns = []
    for number, row in enumerate(read_jsonl(datasets), start=1):
        try:
            for position, turn in enumerate(row["conversation"]):
                batch = Batch.model_validate(turn)
                turns.append(OldTurn(batch, Agentic.model_validate(batch.agentic), row["session_id"], position))
        except (KeyError, TypeError, ValidationError) as error:
            raise UserError(
                f"baseline={path}: datasets.jsonl line {number} is not a dataset record ({error}) {fix}"
            ) from None
    chunks_file = path / CHUNKS
    chunks = None
    if chunks_file.is_file():
        try:
            chunks = [ChunkRecord.model_validate(row) for row in read_jsonl(chunks_file)]
        except ValidationError as error:
            raise UserError(f"baseline={path}: chunks.jsonl is not a chunk list ({error}) {fix}") from None
    return OldRun(path, _config(path, fix), turns, chunks)


def _config(path: Path, fix: str) -> dict[str, Any]:
    """The output settings the baseline was made with: from its fingerprint, else from Hydra's saved config."""
    fingerprint = path / FINGERPRINT
    if fingerprint.is_file():
        config = json.loads(fingerprint.read_text(encoding="utf-8")).get("config")
    elif (path / HYDRA_CONFIG).is_file():
        config = yaml.safe_load((path / HYDRA_CONFIG).read_text(encoding="utf-8"))
    else:
        raise UserError(f"baseline={path}: no saved config says how it was made (.synthgen/fingerprint.json) {fix}")
    if not isinstance(config, dict):
        raise UserError(f"baseline={path}: its saved config is not a mapping {fix}")
    return config
