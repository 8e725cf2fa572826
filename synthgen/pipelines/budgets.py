"""Output budgets: each call's max_tokens, sized from what it asks for, so a model looping inside its reply stops
early. Each is several times a typical reply; the model's max_tokens stays the ceiling (`model.output_budgets`)."""

from __future__ import annotations

QUESTION_TOKENS = 240  # one question with its copied quotes, difficulty and JSON quoting (typically 60-120)
CITED_QUESTION_TOKENS = 160  # a question citing passages by number (or asked about them), its type's field: 25-70
ROUNDTRIP_TOKENS = 32  # the passage numbers that answer a question, as JSON
LIST_TOKENS = 32  # the JSON object around a list
ANSWER_TOKENS = 600  # a concise reference answer from an excerpt, with its supporting quotes
MESSAGE_TOKENS = 320  # facts mode: one user message, up to a paragraph of background before the question
VERDICT_TOKENS = 256  # a judge's one-sentence reason and its verdict, as JSON


def questions_budget(count: int, cite: str = "text") -> int:
    """max_tokens for a JSON list of `count` questions (or conversation turns) that `cite` their evidence by
    copied `text`, by `number` or not at all (`none`)."""
    return LIST_TOKENS + count * (QUESTION_TOKENS if cite == "text" else CITED_QUESTION_TOKENS)
