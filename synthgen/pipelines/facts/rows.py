"""The rows of a kept item: chat messages (ft.jsonl), plain text (text.jsonl), preference pairs (dpo.jsonl)."""

from __future__ import annotations

from typing import Any


def ft_row(question: str, answer: str, system_prompt: str | None) -> dict[str, Any]:
    """`{"messages": [...]}`: an optional system message, the question, the answer."""
    return {"messages": [*prompt_messages(question, system_prompt), _assistant(answer)]}


def dpo_row(question: str, chosen: str, rejected: str, system_prompt: str | None) -> dict[str, Any]:
    """A preference pair in the conversational form TRL's DPOTrainer reads: `{prompt, chosen, rejected}`,
    the prompt as the messages before the answer, each answer as one assistant message."""
    return {
        "prompt": prompt_messages(question, system_prompt),
        "chosen": [_assistant(chosen)],
        "rejected": [_assistant(rejected)],
    }


def text_row(answer: str, doc_tag: str | None) -> dict[str, str]:
    """`{"text": ...}`: the answer, prefixed with the document tag if one is set."""
    return {"text": f"{doc_tag} {answer}" if doc_tag else answer}


def prompt_messages(question: str, system_prompt: str | None) -> list[dict[str, str]]:
    """The messages a fine-tuned model sees before its answer: the optional system message, the question."""
    system = [{"role": "system", "content": system_prompt}] if system_prompt else []
    return [*system, {"role": "user", "content": question}]


def _assistant(answer: str) -> dict[str, str]:
    return {"role": "assistant", "content": answer}
