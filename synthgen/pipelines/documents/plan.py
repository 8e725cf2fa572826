"""The plan of a document run: its units (one chunk's questions, or one conversation), their slots, and ids.

Everything here is decided before the first model call and over the whole job (before sharding), so every
shard of a job plans the same units with the same types, partners and ids.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from synthgen.config.schema import ConversationModeSettings, QueriesModeSettings, Settings
from synthgen.core.errors import UserError
from synthgen.core.ids import stable_id
from synthgen.models.pricing import CHARS_PER_TOKEN
from synthgen.models.providers.base import LiteLLMModel
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

    `chunk_ids` are the primary chunk, then the chunks a multi-chunk question may combine with it (queries), or
    the conversation's chunks: ids into the plan's one `store` of chunks, so a unit's size does not grow with the
    corpus. `draw` numbers earlier uses of the same chunk (or conversation chunks), so a repeat is a new draw for
    the model and the cache.
    """

    key: str
    session_id: str
    sample_id: str
    position: int
    chunk_ids: tuple[str, ...]
    draw: int
    slots: tuple[Slot, ...]
    conversation: bool
    store: Mapping[str, Chunk] = field(repr=False, compare=False)

    @property
    def chunks(self) -> tuple[Chunk, ...]:
        """The unit's chunks, in order."""
        return tuple(self.store[chunk_id] for chunk_id in self.chunk_ids)

    @property
    def chunk(self) -> Chunk:
        """The primary chunk."""
        return self.store[self.chunk_ids[0]]

    def record(self) -> str:
        """The unit as one line of JSON, its chunks by id: what the plan's digest hashes."""
        slots = [[slot.number, slot.type, slot.persona, slot.difficulty] for slot in self.slots]
        fields = [self.key, self.session_id, self.sample_id, self.position, self.chunk_ids, self.draw, slots]
        return json.dumps([*fields, self.conversation], ensure_ascii=False)


@dataclass(frozen=True)
class DocumentPlan:
    """This shard's units; `conversations` when each unit is a conversation; `inputs`, the digest of every chunk
    the job read (see `read_chunks`)."""

    units: list[Unit]
    conversations: bool
    inputs: str = ""

    def chunks(self) -> list[Chunk]:
        """The chunks this plan generates from (queries: primary chunks; conversations: all), each once, in order."""
        seen: dict[str, Chunk] = {}
        for unit in self.units:
            for chunk in unit.chunks if self.conversations else unit.chunks[:1]:
                seen.setdefault(chunk.id, chunk)
        return list(seen.values())

    def digest(self) -> str:
        """What the plan was made from, hashed line by line: the chunks read, and each unit by its chunk ids (the
        run directory's fingerprint; it grows neither with the corpus nor with the units)."""
        digest = hashlib.sha256(self.inputs.encode("ascii"))
        for unit in self.units:
            digest.update(unit.record().encode("utf-8"))
            digest.update(b"\n")
        return digest.hexdigest()


def prompt_files(mode: DocumentMode) -> list[str]:
    """Every prompt file a run of `mode` renders."""
    judge = [mode.judge.prompt, mode.judge.closed_book_prompt] if mode.judge.enabled else []
    kinds = [mode.types[name].prompt for name in mode.question_types]
    return [mode.prompt, mode.answer_prompt, *kinds, *judge]


def plan_job(settings: Settings, loader: Loader | None = None) -> DocumentPlan:
    """Load (with `loader`, default the configured one), chunk, select and plan the units of the whole job."""
    mode = settings.mode
    assert isinstance(mode, (QueriesModeSettings, ConversationModeSettings))
    prompts = prompt_files(mode)
    for prompt in prompts:
        load_template(resolve_prompt(prompt))
    personas = load_personas(mode.personas)
    digest = hashlib.sha256()
    loader = loader or as_loader(settings.loader)
    chunks = list(islice(read_chunks(loader.chunks(settings.source), digest), settings.limit))
    if not chunks and loader.without_body():
        raise UserError(
            f"the sources hold headings with no text under them ({loader.without_body()} such parts skipped), "
            "nothing to ask about (fix: point source= at documents with body text)"
        )
    samples = select_samples(chunks, settings.strategy)
    key = content_key(settings, personas, prompts)
    sequential = as_strategy(settings.strategy).in_order
    units = plan_units(samples, {chunk.id: chunk for chunk in chunks}, mode, sequential, personas, key)
    return DocumentPlan(units, isinstance(mode, ConversationModeSettings), digest.hexdigest())


def check_context(units: list[Unit], mode: DocumentMode, model: LiteLLMModel) -> None:
    """Refuse, before any call, a plan whose largest unit's excerpts alone (with the reply's `max_tokens`) exceed
    the model's context window, when the model knows it."""
    context = model.context_tokens()
    if context is None or not units:
        return
    shown = max(mode.types[name].chunks for name in mode.question_types)

    def excerpts(unit: Unit) -> int:
        return sum(len(chunk.text) for chunk in unit.chunks[: None if unit.conversation else shown])

    largest = max(units, key=excerpts)
    chars = excerpts(largest)
    needed = chars // CHARS_PER_TOKEN + model.max_tokens
    if needed > context:
        raise UserError(
            f"the excerpts of one request ({chars:,} characters from {largest.chunk.document}, with the reply's "
            f"{model.max_tokens} tokens about {needed:,} tokens) exceed the model's context of {context:,} tokens "
            "(fix: lower loader.max_chunk_size or strategy.chunks_per_sample, or raise model.local.n_ctx)"
        )


def read_chunks(chunks: Iterable[Chunk], digest: Any) -> Iterator[Chunk]:
    """The chunks, each hashed into `digest` (a hashlib object) as it is read: the fingerprint of the inputs."""
    for chunk in chunks:
        fields = [chunk.id, chunk.document, chunk.header_path, chunk.index, chunk.pages, len(chunk.text)]
        digest.update(json.dumps(fields, ensure_ascii=False).encode("utf-8"))
        digest.update(chunk.text.encode("utf-8"))
        yield chunk


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
    samples: list[Sample],
    store: Mapping[str, Chunk],
    mode: DocumentMode,
    sequential: bool,
    personas: list[str],
    key: str,
) -> list[Unit]:
    """The units of the whole job, in order, with their slots: types, difficulties and personas spread evenly.
    `store` holds every chunk the samples name, by id."""
    if isinstance(mode, ConversationModeSettings):
        groups = _conversations(samples, sequential)
        per_unit = mode.num_turns
    else:
        groups = _chunk_units(samples, store, mode)
        per_unit = mode.num_queries_per_chunk
    capacity = [per_unit] * len(groups)
    types = spread_types(mode, capacity, lambda name, unit: mode.types[name].chunks <= len(groups[unit][2]))
    difficulties = spread_difficulties(mode, len(types))
    units: list[Unit] = []
    draws: Counter[tuple[str, ...]] = Counter()  # conversations over the same chunks
    for number, (sample, position, ids) in enumerate(groups):
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
        units.append(Unit(unit_key, session, sample.id, position, ids, draw, slots, conversation, store))
        draws[ids] += 1
    return units


def _persona(personas: list[str], index: int) -> str | None:
    return personas[index % len(personas)] if personas else None


def _chunk_units(
    samples: list[Sample], store: Mapping[str, Chunk], mode: QueriesModeSettings
) -> list[tuple[Sample, int, tuple[str, ...]]]:
    """One unit per (sample, chunk), with the chunks linked to it when a multi-chunk type is in the mix."""
    partners = max(mode.types[name].chunks for name in mode.question_types) - 1
    groups = []
    for sample in samples:
        ids = sample.chunk_ids
        links = link_chunks([store[chunk_id] for chunk_id in ids], partners)
        for position, chunk_id in enumerate(ids):
            groups.append((sample, position, (chunk_id, *(ids[other] for other in links[position]))))
    return groups


def _conversations(samples: list[Sample], sequential: bool) -> list[tuple[Sample, int, tuple[str, ...]]]:
    """One conversation per chunk of a sequential sample; one across all its chunks for a random sample."""
    if sequential:
        return [
            (sample, position, (chunk_id,)) for sample in samples for position, chunk_id in enumerate(sample.chunk_ids)
        ]
    return [(sample, 0, sample.chunk_ids) for sample in samples]
