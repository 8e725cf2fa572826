"""Deterministic answer checks: the specific information is present, and no acknowledgement opener."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from synthgen.core.normalise import normalise

InclusionMethod = Literal["exact", "case_insensitive", "key_terms"]

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "nor",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "from",
        "by",
        "with",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "there",
        "their",
        "they",
        "them",
        "has",
        "have",
        "had",
        "do",
        "does",
        "did",
        "not",
        "no",
        "than",
        "then",
        "so",
        "such",
        "into",
        "onto",
        "over",
        "under",
        "about",
        "also",
        "very",
        "can",
        "could",
        "will",
        "would",
        "should",
        "may",
        "might",
        "must",
    ]
)
# "Sure!" / "Certainly, here is ..." / "Of course. I'll ..." or a preface such as "Here's a tweet:".
_ACKNOWLEDGEMENT = re.compile(
    r"(?:sure|certainly|of course|absolutely|okay|ok)\b[\s!,.]*"
    r"(?:(?:here|below|i'll|i will|i'd|i would|i can|let me)\b.*)?"
    r"|(?:here(?:'s|’s| is| are)|below is)\b.*:",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class CheckResult:
    """Whether a check passed, and what it found."""

    passed: bool
    detail: str


def check_inclusion(answer: str, information: str, method: InclusionMethod, coverage: float) -> CheckResult:
    """Is `information` in `answer`: verbatim, ignoring case/punctuation/spacing, or by key-term coverage."""
    if method == "exact":
        found = information.strip() in answer
        return CheckResult(found, "found verbatim" if found else "not found verbatim")
    if method == "case_insensitive":
        found = f" {normalise(information)} " in f" {normalise(answer)} "
        return CheckResult(found, "found ignoring case" if found else "not found, even ignoring case and punctuation")
    terms = key_terms(information)
    present = set(key_terms(answer))
    missing = [term for term in terms if term not in present]
    share = 1 - len(missing) / len(terms)
    detail = f"{len(terms) - len(missing)}/{len(terms)} key terms"
    return CheckResult(share >= coverage, detail + (f", missing: {', '.join(missing)}" if missing else ""))


def key_terms(text: str) -> list[str]:
    """The distinct content words of `text` (stopwords dropped, a plural -s folded), in order."""
    words = normalise(text).split()
    content = [word for word in words if word not in STOPWORDS] or words
    return list(dict.fromkeys(_fold(word) for word in content))


def acknowledgement(answer: str) -> str | None:
    """The answer's first line if it acknowledges the request instead of answering, else None."""
    first = answer.strip().split("\n", 1)[0].strip()
    return first if _ACKNOWLEDGEMENT.fullmatch(first) else None


def _fold(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word
