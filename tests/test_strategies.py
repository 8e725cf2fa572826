"""Chunk selection: sequential keeps everything in order; random is seeded and deterministic."""

from __future__ import annotations

import pytest

from synthgen.core.errors import UserError
from synthgen.pipelines.documents.strategies import RandomStrategy, SequentialStrategy, select_samples
from synthgen.sources.base import Chunk

CHUNKS = [Chunk(id=f"c{i}", document="d.md", header_path=("H",), text=f"text {i}", index=i) for i in range(10)]


def test_sequential_is_one_sample_of_every_chunk_in_order() -> None:
    [sample] = select_samples(CHUNKS, SequentialStrategy())
    assert list(sample.chunk_ids) == [c.id for c in CHUNKS]


def test_random_is_deterministic_under_a_seed_and_varies_with_it() -> None:
    settings = RandomStrategy(num_samples=4, chunks_per_sample=3, seed=1)
    first = select_samples(CHUNKS, settings)
    again = select_samples(list(CHUNKS), settings)
    other = select_samples(CHUNKS, settings.model_copy(update={"seed": 2}))
    assert [list(s.chunk_ids) for s in first] == [list(s.chunk_ids) for s in again]
    assert [s.id for s in first] == [s.id for s in again]
    assert [list(s.chunk_ids) for s in first] != [list(s.chunk_ids) for s in other]
    assert len(first) == 4 and all(len(s.chunk_ids) == 3 for s in first)
    assert len({s.id for s in first}) == 4


def test_without_replacement_never_repeats_a_chunk_within_a_sample() -> None:
    for sample in select_samples(CHUNKS, RandomStrategy(num_samples=20, chunks_per_sample=10, seed=3)):
        assert len(set(sample.chunk_ids)) == 10


def test_with_replacement_may_draw_more_chunks_than_exist() -> None:
    samples = select_samples(CHUNKS[:2], RandomStrategy(num_samples=1, chunks_per_sample=5, with_replacement=True))
    assert len(samples[0].chunk_ids) == 5


def test_too_many_chunks_per_sample_is_a_clear_error() -> None:
    with pytest.raises(UserError, match="chunks_per_sample=11 exceeds the 10 chunks"):
        select_samples(CHUNKS, RandomStrategy(chunks_per_sample=11))


def test_no_chunks_is_a_clear_error() -> None:
    with pytest.raises(UserError, match="no text chunks"):
        select_samples([], SequentialStrategy())


def test_draws_number_every_use_of_a_chunk_across_the_plan() -> None:
    samples = select_samples(CHUNKS[:2], RandomStrategy(num_samples=3, chunks_per_sample=4, with_replacement=True))
    seen: dict[str, int] = {}
    for sample in samples:
        assert len(sample.draws) == len(sample.chunk_ids)
        for chunk_id, draw in zip(sample.chunk_ids, sample.draws, strict=True):
            assert draw == seen.get(chunk_id, 0)
            seen[chunk_id] = draw + 1
    assert sum(seen.values()) == 12
    [sequential] = select_samples(CHUNKS, SequentialStrategy())
    assert sequential.draws == (0,) * len(CHUNKS)
