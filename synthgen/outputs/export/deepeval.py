"""deepeval goldens: JSONL rows that `deepeval.dataset.EvaluationDataset.add_goldens_from_jsonl_file` loads.

Each row has the Golden fields `input` (the question), `expected_output` (the ground-truth answer, null
without an answer stage), `context` ([the session's context]), `source_file` (the document) and
`additional_metadata` (qa_id, question_type, difficulty, persona, turn_number, history, ...). Conversation
turns are single-turn goldens with the earlier turns in `additional_metadata.history`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from synthgen.outputs.export.evaluation import EvaluationExporter, provenance
from synthgen.outputs.export.run_files import Turn


class DeepEvalExporter(EvaluationExporter):
    """Writes `goldens.jsonl` for deepeval."""

    name: ClassVar[str] = "deepeval"
    file_name: ClassVar[str] = "goldens.jsonl"

    def row(self, turn: Turn) -> dict[str, Any]:
        """One deepeval golden."""
        return {
            "input": turn.batch.get("query", ""),
            "expected_output": turn.answer,
            "context": [turn.session.get("context", "")],
            "source_file": turn.agentic["document"],
            "additional_metadata": {**provenance(turn), "persona": turn.agentic["persona"]},
        }
