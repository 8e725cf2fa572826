"""Plain-text rows `{"text": ...}` for continued pre-training.

A facts item's row is its text.jsonl row (the answer, with the run's doc_tag); a document chat's row is its
ground-truth answers, one paragraph each.
"""

from __future__ import annotations

from typing import Any, ClassVar

from synthgen.outputs.export.chat import Chat, ChatExporter


class TextExporter(ChatExporter):
    """Writes `{"text": ...}` rows."""

    name: ClassVar[str] = "text"

    def row(self, chat: Chat) -> dict[str, Any]:
        """The chat's answer text."""
        return {"text": chat.text}
