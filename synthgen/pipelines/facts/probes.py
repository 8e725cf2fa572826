"""Held-out probes (probe.jsonl): questions about the fact, written from seed questions no training item uses.

The probe seed questions are `fact_template.probe_questions` plus `mode.held_out_questions` of the template's
`questions`, taken off the end of the list shuffled with `mode.seed`, so the training items never pair them.
Each probe pairs a probe seed question with a requirement (spread evenly, as the training pairs are) and is
written by the question prompt; a probe that near-duplicates a training question, or an earlier probe, is dropped.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from synthgen.config.schema import FactsModeSettings, FactTemplate
from synthgen.core.errors import UserError
from synthgen.pipelines.dedup import find_duplicates
from synthgen.pipelines.facts.pairs import Pair, select_pairs

PROBE_STAGE = "probes"
PROBE_DEDUP_STAGE = "probe_dedup"


@dataclass(frozen=True)
class SeedSplit:
    """The seed questions of the training items, and those of the probes."""

    training: list[str]
    probes: list[str]


@dataclass(frozen=True)
class Probe:
    """A generated probe question."""

    id: str
    pair: Pair
    question: str


@dataclass(frozen=True)
class ProbeDuplicate:
    """Probe `index` repeats the question `of`: a training item's, or an earlier probe's."""

    index: int
    of: str
    of_training: bool
    similarity: float

    @property
    def reason(self) -> str:
        """The rejected.jsonl reason."""
        source = "a training question" if self.of_training else "an earlier probe"
        return f"near-duplicate of {source} (similarity {self.similarity}): {self.of}"


def split_seed_questions(template: FactTemplate, mode: FactsModeSettings) -> SeedSplit:
    """Every seed question trains when there are no probes; else the held-out ones (and probe_questions) probe."""
    if not mode.probes:
        return SeedSplit(list(template.questions), [])
    held = held_out_count(template, mode)
    if held >= len(template.questions):
        raise UserError(
            f"mode.held_out_questions={held} leaves none of the template's {len(template.questions)} seed questions "
            f"for the training items (fix: hold out at most {len(template.questions) - 1}, or list "
            "fact_template.probe_questions and set mode.held_out_questions=0)"
        )
    shuffled = list(template.questions)
    random.Random(mode.seed).shuffle(shuffled)
    held_out = shuffled[len(shuffled) - held :]
    probes = held_out + list(template.probe_questions)
    if not probes:
        raise UserError(
            f"mode.probes={mode.probes} needs seed questions for the probes, but mode.held_out_questions=0 and "
            "the template lists no probe_questions (fix: set mode.held_out_questions=1 or more, or list "
            "fact_template.probe_questions)"
        )
    return SeedSplit([question for question in template.questions if question not in held_out], probes)


def held_out_count(template: FactTemplate, mode: FactsModeSettings) -> int:
    """mode.held_out_questions, or by default 0 beside probe_questions, else a fifth of the questions (at least 1)."""
    if mode.held_out_questions is not None:
        return mode.held_out_questions
    return 0 if template.probe_questions else max(1, len(template.questions) // 5)


def probe_pairs(split: SeedSplit, template: FactTemplate, mode: FactsModeSettings) -> list[Pair]:
    """The `mode.probes` probe seed question × requirement pairs."""
    return select_pairs(split.probes, template.question_requirements, mode.probes, mode.seed) if split.probes else []


def probe_duplicates(training: list[str], probes: list[str], threshold: float) -> list[ProbeDuplicate]:
    """The probe questions that repeat a training question or an earlier probe (see find_duplicates)."""
    texts = training + probes
    return [
        ProbeDuplicate(
            duplicate.index - len(training), texts[duplicate.of], duplicate.of < len(training), duplicate.similarity
        )
        for duplicate in find_duplicates(texts, threshold)
        if duplicate.index >= len(training)
    ]


def probe_row(probe: Probe, template: FactTemplate) -> dict[str, Any]:
    """One probe.jsonl row: the question and the key fact its answer must contain, with where it came from."""
    return {
        "id": probe.id,
        "fact_name": template.fact_name,
        "question": probe.question,
        "key_fact": template.specific_information_to_always_include,
        "seed_question": probe.pair.seed_question,
        "requirement": probe.pair.requirement,
        "draw": probe.pair.draw,
    }
