"""Stage 1 input: which seed question is asked under which requirement, item by item."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Pair:
    """One item to generate: a seed question, a requirement, and which draw of that pair it is."""

    index: int
    seed_question: str
    requirement: str
    draw: int


def select_pairs(questions: Sequence[str], requirements: Sequence[str], limit: int, seed: int) -> list[Pair]:
    """`limit` pairs, the same for the same inputs, spread evenly over both lists.

    Both lists are shuffled with `seed`, then paired along diagonals: item i takes question i mod Q
    and requirement i mod R, shifted by one requirement after every lcm(Q, R) items, so the first
    Q*R items are all distinct pairs and in every prefix each question (and each requirement) is
    used at most once more than any other. Past Q*R the same order repeats with `draw` 1, 2, ...
    so that a repeat is a new draw, never a copy.
    """
    rng = random.Random(seed)
    seeds, reqs = list(questions), list(requirements)
    rng.shuffle(seeds)
    rng.shuffle(reqs)
    distinct = len(seeds) * len(reqs)
    cycle = math.lcm(len(seeds), len(reqs))
    pairs = []
    for index in range(limit):
        k = index % distinct
        pairs.append(Pair(index, seeds[k % len(seeds)], reqs[(k + k // cycle) % len(reqs)], index // distinct))
    return pairs
