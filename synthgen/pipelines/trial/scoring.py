"""Deterministic scores of an answer against its reference: token F1, exact match and refusal detection, and the
verdict they give when no judge reads the answer."""

from __future__ import annotations

import re
import string
from collections import Counter
from dataclasses import dataclass

CORRECT, PARTIAL, INCORRECT, REFUSED = "correct", "partial", "incorrect", "refused"
VERDICTS = (CORRECT, PARTIAL, INCORRECT, REFUSED)
OUT_OF_SCOPE, FALSE_PREMISE = "out_of_scope", "false_premise"
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


@dataclass(frozen=True)
class Deterministic:
    """What needs no model: F1 and exact match (None without a reference) and whether the answer refuses."""

    f1: float | None
    exact_match: bool | None
    refused: bool


def normalise(text: str) -> list[str]:
    """SQuAD's answer normalisation: lower case, no punctuation or articles, split on whitespace."""
    return _ARTICLES.sub(" ", text.lower().translate(_PUNCTUATION)).split()


def token_f1(answer: str, reference: str) -> float:
    """The harmonic mean of token precision and recall of the answer against the reference (SQuAD's F1)."""
    produced, expected = normalise(answer), normalise(reference)
    common = sum((Counter(produced) & Counter(expected)).values())
    if not common:
        return 0.0
    precision, recall = common / len(produced), common / len(expected)
    return 2 * precision * recall / (precision + recall)


def refuses(answer: str, phrases: list[str]) -> bool:
    """Whether the answer declines, or says its sources do not cover the question (one of `phrases`)."""
    text = " ".join(answer.lower().replace("’", "'").split())
    return any(phrase in text for phrase in phrases)


def deterministic(answer: str, reference: str, phrases: list[str]) -> Deterministic:
    """The scores of `answer` against `reference` ("" when the item has none)."""
    if not reference.strip():
        return Deterministic(None, None, refuses(answer, phrases))
    exact = normalise(answer) == normalise(reference)
    return Deterministic(round(token_f1(answer, reference), 4), exact, refuses(answer, phrases))


def deterministic_verdict(
    scores: Deterministic, question_type: str | None, threshold: float
) -> tuple[str | None, float]:
    """The verdict and score without a judge: an out_of_scope item is answered correctly by a refusal; others by
    an exact match or token F1 >= `threshold` (partial from half of it); None when there is no reference, and for
    a false_premise item: an answer that accepts the premise shares the words of the one that corrects it (the
    embedded model's did, at F1 0.61), so only a judge can tell them apart."""
    if question_type == OUT_OF_SCOPE:
        return (CORRECT, 1.0) if scores.refused else (INCORRECT, 0.0)
    if scores.f1 is None or question_type == FALSE_PREMISE:
        return None, 0.0
    if scores.exact_match:
        return CORRECT, 1.0
    if scores.f1 >= threshold:
        return CORRECT, scores.f1
    if scores.refused:
        return REFUSED, 0.0
    return (PARTIAL if scores.f1 >= threshold / 2 else INCORRECT), scores.f1
