"""Question types, difficulties and personas spread over a run's question slots, deterministically and evenly.

Counts come from the shares by the largest-remainder method over the whole run (so a rare type still gets its
share of a long run), and the order interleaves the types (smooth weighted round robin), so every part of the
run, and every shard, gets a mix.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from synthgen.config.schema import DocumentModeSettings, QuestionTypeSettings
from synthgen.core.errors import UserError
from synthgen.pipelines.prompts import render_prompt


@dataclass(frozen=True)
class Slot:
    """One question to write: its number in its unit (1-based; a conversation's turn number) and what it must be."""

    number: int
    type: str
    persona: str | None = None
    difficulty: str | None = None


def largest_remainder(shares: Mapping[str, float], total: int) -> dict[str, int]:
    """`total` split in proportion to `shares`; leftover units go to the largest remainders (ties: mapping order)."""
    whole = sum(shares.values())
    exact = {name: total * share / whole for name, share in shares.items()}
    counts = {name: math.floor(value) for name, value in exact.items()}
    order = sorted(exact, key=lambda name: -(exact[name] - counts[name]))  # stable: mapping order on ties
    for name in order[: total - sum(counts.values())]:
        counts[name] += 1
    return counts


def interleave(counts: Mapping[str, int]) -> list[str]:
    """Each name `counts[name]` times, spread evenly (smooth weighted round robin; ties: mapping order)."""
    total = sum(counts.values())
    current = dict.fromkeys(counts, 0)
    order: list[str] = []
    for _ in range(total):
        for name in current:
            current[name] += counts[name]
        chosen = max(current, key=lambda name: current[name])
        current[chosen] -= total
        order.append(chosen)
    return order


def spread_types(mode: DocumentModeSettings, capacity: Sequence[int], fits: Callable[[str, int], bool]) -> list[str]:
    """One type per slot for units of `capacity[u]` slots each, in unit order.

    A type that does not fit a unit (`fits(type, unit)` false: a multi-hop type on a unit with no linked chunk)
    is swapped with the nearest later slot whose type fits; with none left, the unit gets its most shared type
    that fits (so the run asks for fewer of the type that cannot be placed).
    """
    order = interleave(largest_remainder(mode.question_types, sum(capacity)))
    owner = [unit for unit, size in enumerate(capacity) for _ in range(size)]
    by_share = sorted(mode.question_types, key=lambda name: -mode.question_types[name])
    for slot, unit in enumerate(owner):
        if fits(order[slot], unit):
            continue
        later = next((other for other in range(slot + 1, len(order)) if fits(order[other], unit)), None)
        if later is not None:
            order[slot], order[later] = order[later], order[slot]
        else:
            fallback = next((name for name in by_share if fits(name, unit)), None)
            if fallback is None:
                raise UserError(
                    "mode.question_types: no type fits a unit with a single chunk "
                    "(fix: give a share to a one-chunk type such as factual)"
                )
            order[slot] = fallback
    return order


def spread_difficulties(mode: DocumentModeSettings, total: int) -> list[str | None]:
    """The requested difficulty of each of `total` slots, or None throughout when mode.difficulty is null."""
    if mode.difficulty is None:
        return [None] * total
    shares = {str(name): share for name, share in mode.difficulty.items()}
    return list(interleave(largest_remainder(shares, total)))


def load_personas(personas: list[str] | str) -> list[str]:
    """The persona list, or the non-blank, non-comment lines of the file it names."""
    if isinstance(personas, list):
        return [persona.strip() for persona in personas]
    path = Path(personas).expanduser()
    if not path.is_file():
        raise UserError(f"mode.personas: file not found: {personas} (fix: a list of personas, or a file path)")
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    found = [line for line in lines if line and not line.startswith("#")]
    if not found:
        raise UserError(f"mode.personas: {personas} holds no persona (fix: one persona per line)")
    return found


def instructions(question_type: QuestionTypeSettings, language: str) -> str:
    """What the type's prompt file tells the generator."""
    return render_prompt(question_type.prompt, language=language)


def call_instructions(names: Sequence[str], types: Mapping[str, QuestionTypeSettings], language: str) -> str:
    """What one question call tells the generator: the instructions of each of its types, in order."""
    return "\n\n".join(instructions(types[name], language) for name in dict.fromkeys(names))


def call_groups(slots: Sequence[Slot], types: Mapping[str, QuestionTypeSettings]) -> list[list[Slot]]:
    """A unit's slots grouped into question calls, in slot order: the types that see the same excerpts, are
    answerable alike and return the same fields share one call (of the bundled types: factual, reasoning and
    procedural), since each call reads the excerpts again."""
    groups: dict[tuple[object, ...], list[Slot]] = {}
    for slot in slots:
        kind = types[slot.type]
        key = (kind.chunks, kind.passages, kind.answerable, tuple(kind.fields.items()))
        groups.setdefault(key, []).append(slot)
    return list(groups.values())
