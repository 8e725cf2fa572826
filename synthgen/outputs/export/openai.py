"""OpenAI chat fine-tuning rows: `{"messages": [{"role", "content"}, ...]}` (the shape of a facts run's ft.jsonl)."""

from __future__ import annotations

from typing import Any, ClassVar

from synthgen.outputs.export.chat import Chat, PromptedChatExporter


class OpenAIChatExporter(PromptedChatExporter):
    """Writes `{"messages": [...]}` rows: an optional system message, then user and assistant turns."""

    name: ClassVar[str] = "openai"

    def row(self, chat: Chat) -> dict[str, Any]:
        """The chat as OpenAI messages."""
        return {"messages": chat.messages()}
