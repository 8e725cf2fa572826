"""The evaluation-set formats' common writer (ragas, deepeval): one JSONL row per question of a document run.

A conversation turn is exported as its own row with the earlier turns as `history` (user / assistant
messages), so retrieval and answer metrics can score every turn against its context and reference. Facts
runs have no source context and are left out.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from synthgen.core.errors import UserError
from synthgen.core.jsonl import write_jsonl
from synthgen.outputs.export.base import ExporterOptions
from synthgen.outputs.export.run_files import Turn, find_runs, turns

log = logging.getLogger("synthgen.export")


class EvaluationExporter(ExporterOptions):
    """Writes `file_name` with one row per question; `answered_only` keeps only questions with a reference answer."""

    file_name: ClassVar[str]
    answered_only: bool = False

    @abstractmethod
    def row(self, turn: Turn) -> dict[str, Any]:
        """The format's JSON row for one question."""

    def write(self, run_dir: Path, out_dir: Path | None = None) -> list[Path]:
        """The rows of every document run under `run_dir`, in file order, to `<out_dir>/<file_name>`."""
        runs = find_runs(run_dir, self.reviewed)
        for run in runs:
            if run.facts:
                log.warning("%s: left out facts run %s (it has no source context)", self.name, run.name)
        selected = [turn for run in runs for turn in turns(run) if turn.answer or not self.answered_only]
        if not selected:
            wanted = "answered questions" if self.answered_only else "questions"
            raise UserError(
                f"{run_dir} has no {wanted} from documents to export as {self.name} "
                "(fix: export a mode=queries or mode=conversation run"
                + (" made with mode.answers=true)" if self.answered_only else ")")
            )
        path = self.output_dir(run_dir, out_dir) / self.file_name
        write_jsonl(path, [self.row(turn) for turn in selected])
        return [path]


def provenance(turn: Turn) -> dict[str, Any]:
    """Where a question comes from and what kind it is: the metadata both evaluation formats carry."""
    agentic = turn.agentic
    return {
        "qa_id": turn.batch.get("qa_id"),
        "session_id": turn.session.get("session_id"),
        "run": turn.run.name,
        "document": agentic["document"],
        "header_path": agentic["header_path"],
        "chunk_id": agentic["chunk_id"],
        "source_chunks": agentic["source_chunks"],
        "pages": agentic["pages"],
        "question_type": agentic["question_type"],
        "difficulty": agentic["difficulty"],
        "turn_number": agentic["turn_number"],
        "history": turn.history,
        "evidence": [item["quote"] for item in agentic["evidence"]],
    }
