"""Deterministic checks of what a question and an answer say, beyond their evidence: a question is a question
(in English: a question mark, or a question or request word first), names what it is about, and does not
restate its evidence; an answer gives no number its evidence lacks. Each returns a reason code and a detail,
or None; no model call.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from synthgen.core.normalise import normalise

# The words a question without a question mark may start with: a question word or a request ("Explain how ...").
# Not "do", "is", "can"...: without the mark, "Do not install it in a bedroom." is an instruction copied from
# the page, not a question.
_REQUESTS = frozenset(["explain", "describe", "list", "tell", "show", "give", "compare", "name", "suppose"])
_ASKING = frozenset(["what", "how", "why", "when", "where", "which", "who", "whom", "whose"]) | _REQUESTS
_EMPTY_WORDS = (
    "a an the this that these those it its they them their there here thing things one something stuff "
    "what how why when where which who whom whose is are was were be been being can could do does did should "
    "will would may might must shall has have had i you we me my your our of in on at to for from by with "
    "about into as and or but not no so then than mean means meaning say says said use used work works "
    "function method option section part page example"
)
_EMPTY = frozenset(_EMPTY_WORDS.split())
MIN_TOPIC_WORDS = 2  # words that name what the question is about, besides question words and pronouns
RESTATED = 0.9  # a question holding this share of its evidence's words states its own answer
MIN_RESTATED_WORDS = 6  # evidence shorter than this is a name or a value, fine to repeat
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?![\w])")
_STEP = re.compile(r"(?m)(?:^|(?<=\s))\d{1,2}[.)](?=\s)")  # "1. Call it": a list's step number, not a value


def topic_words(text: str) -> list[str]:
    """The words of `text` that name what it is about: not question words, pronouns or other filler."""
    return [word for word in normalise(text).split() if word not in _EMPTY]


def topic_stems(text: str) -> set[str]:
    """`topic_words` with a plural's final "s" dropped, so "timers" and "timer" are one word."""
    return {word[:-1] if len(word) > 3 and word.endswith("s") else word for word in topic_words(text)}


def check_wording(question: str, evidence: Sequence[str], language: str) -> tuple[str, str] | None:
    """A question's own checks: `not_a_question`, `vague_question`, `restates_evidence`."""
    words = normalise(question).split()
    ending = question.rstrip()[-1:]
    if language.casefold() == "english" and ending != "?":
        if words[0] not in _ASKING:
            return "not_a_question", "neither a question mark nor a question word or a request first"
        if ending == "." and words[0] not in _REQUESTS:  # "How the team works.": a title copied from the page
            return "not_a_question", "a statement: a question word first, a full stop last"
    topic = topic_words(question)
    if len(topic) < MIN_TOPIC_WORDS:
        return "vague_question", f"does not name what it is about (only {topic or 'no'} words of substance)"
    asked = set(words)
    for quote in evidence:
        stated = topic_words(quote)
        if len(stated) >= MIN_RESTATED_WORDS and sum(word in asked for word in stated) >= RESTATED * len(stated):
            return "restates_evidence", f"the question states its own answer: {quote}"
    return None


def check_numbers(answer: str, sources: Sequence[str]) -> tuple[str, str] | None:
    """`answer_number_not_in_evidence` when the answer gives a number none of `sources` (its evidence and the
    question) holds."""
    known = {number for text in sources for number in _NUMBER.findall(text)}
    stray = [number for number in _NUMBER.findall(_STEP.sub(" ", answer)) if number not in known]
    if stray:
        return "answer_number_not_in_evidence", f"the answer gives {stray[0]}, which no evidence passage holds"
    return None
