"""ragas evaluation samples: JSONL rows that `ragas.EvaluationDataset.from_jsonl` loads as `SingleTurnSample`s.

Each row has ragas' fields `user_input` (the question), `reference` (the ground-truth answer, null without an
answer stage), `reference_contexts` ([the session's context]) and `persona_name`, plus synthgen metadata
(qa_id, question_type, difficulty, turn_number, history, ...) that ragas ignores when loading.

Conversations are exported per turn, not as ragas `MultiTurnSample`s: a MultiTurnSample holds the messages of
an agent's conversation and one reference for its outcome, with no reference contexts, so it cannot carry a
reference answer and context per turn; and one ragas dataset cannot mix the two sample kinds.
"""

from __future__ import annotations

from typing import Any, ClassVar

from synthgen.outputs.export.evaluation import EvaluationExporter, provenance
from synthgen.outputs.export.run_files import Turn


class RagasExporter(EvaluationExporter):
    """Writes `samples.jsonl` for ragas."""

    name: ClassVar[str] = "ragas"
    file_name: ClassVar[str] = "samples.jsonl"

    def row(self, turn: Turn) -> dict[str, Any]:
        """One ragas single-turn sample with synthgen's metadata."""
        return {
            "user_input": turn.batch.get("query", ""),
            "reference": turn.answer,
            "reference_contexts": [turn.session.get("context", "")],
            "persona_name": turn.agentic["persona"],
            **provenance(turn),
        }
