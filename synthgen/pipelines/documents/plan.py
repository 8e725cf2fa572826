"""The plan of a document run: its units (one chunk's questions, or one conversation), their slots, and ids.

Everything here is decided before the first model call and over the whole job (before sharding), so every
shard of a job plans the same units with the same types, partners and ids.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from itertools import islice
from typing import Any

from synthgen.config.schema import ConversationModeSettings, QueriesModeSettings, Settings
from synthgen.core.ids import stable_id
from synthgen.pipelines.documents.linking import link_chunks
from synthgen.pipelines.documents.question_types import Slot, load_personas, spread_difficulties, spread_types
from synthgen.pipelines.documents.strategies import Sample, as_strategy, select_samples
from synthgen.pipelines.prompts import load_template, resolve_prompt
from synthgen.sources.base import Chunk, Loader, as_loader

DocumentMode = QueriesModeSettings | ConversationModeSettings
# Model settings that change how calls are made, never what they return: left out of the content key.
_RUNTIME_MODEL_FIELDS = ("max_concurrency", "timeout", "retries", "backoff_base", "backoff_max", "rpm", "tpm")


@dataclass(frozen=True)
class Unit:
    """The questions of one chunk (queries) or one conversation, and the dataset they go to.

    `chunks` is the primary chunk, then the chunks a multi-chunk question may combine with it (queries), or the
    conversation's chunks. `draw` numbers earlier uses of the same chunk (or conversation chunks), so a repeat
    is a new draw for the model and the cache.
    """

    key: str
    session_id: str
    sample: Sample
    position: int
    chunks: tuple[Chunk, ...]
    draw: int
    slots: tuple[Slot, ...]
    conversation: bool

    @property
    def chunk(self) -> Chunk:
        """The primary chunk."""
        return self.chunks[0]


@dataclass(frozen=True)
class DocumentPlan:
    """This shard's units; `conversations` when each unit is a conversation."""

    units: list[Unit]
    conversations: bool

    def chunks(self) -> list[Chunk]:
        """The chunks this plan generates from (queries: primary chunks; conversations: all), each once, in order."""
        seen: dict[str, Chunk] = {}
        for unit in self.units:
            for chunk in unit.chunks if self.conversations else unit.chunks[:1]:
                seen.setdefault(chunk.id, chunk)
        return list(seen.values())


def prompt_files(mode: DocumentMode) -> list[str]:
    """Every prompt file a run of `mode` renders."""
    judge = [mode.judge.prompt, mode.judge.closed_book_prompt] if mode.judge.enabled else []
    kinds = [mode.types[name].prompt for name in mode.question_types]
    return [mode.prompt, mode.answer_prompt, *kinds, *judge]


def plan_job(settings: Settings, loader: Loader | None = None) -> list[Unit]:
    """Load (with `loader`, default the configured one), chunk, select and plan the units of the whole job."""
    mode = settings.mode
    assert isinstance(mode, (QueriesModeSettings, ConversationModeSettings))
    prompts = prompt_files(mode)
    for prompt in prompts:
        load_template(resolve_prompt(prompt))
    personas = load_personas(mode.personas)
    chunks = list(islice((loader or as_loader(settings.loader)).chunks(settings.source), settings.limit))
    samples = select_samples(chunks, settings.strategy)
    key = content_key(settings, personas, prompts)
    sequential = as_strategy(settings.strategy).in_order
    return plan_units(samples, mode, sequential, personas, key)


def content_key(settings: Settings, personas: list[str], prompts: list[str]) -> str:
    """A digest of everything that changes what a run writes: mode (types, checks, counts), model, strategy,
    loader, personas and the text of every prompt file; not shards, cache, budget or call pacing."""
    model = settings.model.model_dump(mode="json", exclude=set(_RUNTIME_MODEL_FIELDS))
    texts = {name: resolve_prompt(name).read_text(encoding="utf-8") for name in sorted(set(prompts))}
    content: dict[str, Any] = {
        "mode": settings.mode.model_dump(mode="json"),
        "model": {"class": type(settings.model).__name__, **model},
        "strategy": settings.strategy.model_dump(mode="json"),
        "loader": {"class": type(settings.loader).__name__, **settings.loader.model_dump(mode="json")},
        "personas": personas,
        "prompts": texts,
    }
    return stable_id(json.dumps(content, sort_keys=True, ensure_ascii=False), length=32)


def plan_units(
    samples: list[Sample], mode: DocumentMode, sequential: bool, personas: list[str], key: str
) -> list[Unit]:
    """The units of the whole job, in order, with their slots: types, difficulties and personas spread evenly."""
    if isinstance(mode, ConversationModeSettings):
        groups = _conversations(samples, sequential)
        per_unit = mode.num_turns
    else:
        groups = _chunk_units(samples, mode)
        per_unit = mode.num_queries_per_chunk
    capacity = [per_unit] * len(groups)
    types = spread_types(mode, capacity, lambda name, unit: mode.types[name].chunks <= len(groups[unit][2]))
    difficulties = spread_difficulties(mode, len(types))
    units: list[Unit] = []
    draws: Counter[tuple[str, ...]] = Counter()  # conversations over the same chunks
    for number, (sample, position, chunks) in enumerate(groups):
        ids = tuple(chunk.id for chunk in chunks)
        first = number * per_unit
        slots = tuple(
            Slot(
                number=i + 1,
                type=types[first + i],
                persona=_persona(personas, number if isinstance(mode, ConversationModeSettings) else first + i),
                difficulty=difficulties[first + i],
            )
            for i in range(per_unit)
        )
        unit_key = stable_id(sample.id, str(position), *ids)
        session = stable_id(key, sample.id) if isinstance(mode, QueriesModeSettings) else stable_id(key, unit_key)
        conversation = isinstance(mode, ConversationModeSettings)
        draw = draws[ids] if conversation else sample.draws[position]
        units.append(Unit(unit_key, session, sample, position, chunks, draw, slots, conversation))
        draws[ids] += 1
    return units


def _persona(personas: list[str], index: int) -> str | None:
    return personas[index % len(personas)] if personas else None


def _chunk_units(samples: list[Sample], mode: QueriesModeSettings) -> list[tuple[Sample, int, tuple[Chunk, ...]]]:
    """One unit per (sample, chunk), with the chunks linked to it when a multi-chunk type is in the mix."""
    partners = max(mode.types[name].chunks for name in mode.question_types) - 1
    groups = []
    for sample in samples:
        links = link_chunks(sample.chunks, partners)
        for position, chunk in enumerate(sample.chunks):
            groups.append((sample, position, (chunk, *(sample.chunks[other] for other in links[position]))))
    return groups


def _conversations(samples: list[Sample], sequential: bool) -> list[tuple[Sample, int, tuple[Chunk, ...]]]:
    """One conversation per chunk of a sequential sample; one across all its chunks for a random sample."""
    if sequential:
        return [(sample, position, (chunk,)) for sample in samples for position, chunk in enumerate(sample.chunks)]
    return [(sample, 0, sample.chunks) for sample in samples]
