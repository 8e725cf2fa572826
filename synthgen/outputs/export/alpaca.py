"""Alpaca rows: `{instruction, input, output}`, plus `system` and `history` when a chat has them.

A multi-turn chat is one row: its last question and answer are `instruction` and `output`, the earlier turns
are `history` as `[question, answer]` pairs (the convention of LLaMA-Factory's alpaca format). With
`include_context` the context is the `input`; otherwise `input` is "".
"""

from __future__ import annotations

from typing import Any, ClassVar

from synthgen.outputs.export.chat import Chat, PromptedChatExporter


class AlpacaExporter(PromptedChatExporter):
    """Writes Alpaca instruction rows."""

    name: ClassVar[str] = "alpaca"

    def row(self, chat: Chat) -> dict[str, Any]:
        """The chat as one Alpaca row."""
        *earlier, (question, answer) = chat.turns
        row: dict[str, Any] = {"instruction": question, "input": chat.context or "", "output": answer}
        if chat.system:
            row["system"] = chat.system
        if earlier:
            row["history"] = [[q, a] for q, a in earlier]
        return row
