"""The fine-tuning rows of a kept item: chat messages (ft.jsonl) and plain text (text.jsonl)."""

from __future__ import annotations

from typing import Any


def ft_row(question: str, answer: str, system_prompt: str | None) -> dict[str, Any]:
    """`{"messages": [...]}`: an optional system message, the question, the answer."""
    system = [{"role": "system", "content": system_prompt}] if system_prompt else []
    return {"messages": [*system, {"role": "user", "content": question}, {"role": "assistant", "content": answer}]}


def text_row(answer: str, doc_tag: str | None) -> dict[str, str]:
    """`{"text": ...}`: the answer, prefixed with the document tag if one is set."""
    return {"text": f"{doc_tag} {answer}" if doc_tag else answer}
