"""ShareGPT rows: `{"conversations": [{"from": "system" | "human" | "gpt", "value": ...}, ...]}`."""

from __future__ import annotations

from typing import Any, ClassVar

from synthgen.outputs.export.chat import Chat, PromptedChatExporter

SPEAKERS = {"system": "system", "user": "human", "assistant": "gpt"}


class ShareGPTExporter(PromptedChatExporter):
    """Writes ShareGPT conversations: an optional system entry, then human and gpt turns."""

    name: ClassVar[str] = "sharegpt"

    def row(self, chat: Chat) -> dict[str, Any]:
        """The chat as ShareGPT `conversations`."""
        return {"conversations": [{"from": SPEAKERS[m["role"]], "value": m["content"]} for m in chat.messages()]}
