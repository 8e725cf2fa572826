"""Planning that grows linearly with the corpus: units hold chunk ids, the fingerprint hashes the inputs as they are
read, and multi-hop partners come from an inverted index that picks what a comparison with every chunk would.
(Speed itself is measured by benchmarks/corpus_scale.py, not here.)"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import process
from rapidfuzz.distance import Indel

from synthgen.config.schema import Settings, validate_settings
from synthgen.config.tree import compose_config, to_plain
from synthgen.pipelines.documents import linking
from synthgen.pipelines.documents.linking import link_chunks, rare_terms
from synthgen.pipelines.documents.plan import plan_job
from synthgen.run.directory import fingerprint
from synthgen.sources.base import Chunk

WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima"]


def corpus(folder: Path, sections: int) -> Path:
    """One Markdown file of `sections` sections, each naming a setting shared with a few others."""
    folder.mkdir(parents=True, exist_ok=True)
    text = "".join(
        f"## Part {i}\n\nThe setting opt{i % 7}.value{i % 11} controls {WORDS[i % 12]} and {WORDS[(i * 5) % 12]} "
        f"for section {i}; see also {WORDS[(i * 3) % 12]}.\n\n"
        for i in range(sections)
    )
    (folder / "guide.md").write_text(f"# Guide\n\n{text}")
    return folder / "guide.md"


def job_settings(source: Path) -> Settings:
    """A queries job over `source`: half factual, half multi-hop questions (so every unit links a partner)."""
    overrides = [f"source={source}", "model=gpt41", "loader.min_chunk_size=0", "~mode.question_types"]
    cfg = compose_config([*overrides, "+mode.question_types={factual:0.5,multi_hop:0.5}"], bundled=True)
    return validate_settings(to_plain(cfg))


def test_a_unit_holds_chunk_ids_and_its_record_does_not_grow_with_the_corpus(tmp_path: Path) -> None:
    small = plan_job(job_settings(corpus(tmp_path / "small", 10)))
    large = plan_job(job_settings(corpus(tmp_path / "large", 400)))
    assert len(small.units) == 10 and len(large.units) == 400
    for unit in large.units:
        held = [getattr(unit, f.name) for f in dataclasses.fields(unit) if f.name != "store"]
        assert not any(isinstance(value, Chunk) for value in held)
        assert all(isinstance(chunk_id, str) for chunk_id in unit.chunk_ids) and len(unit.chunk_ids) == 2
        assert unit.chunk.text not in unit.record()
        assert [chunk.id for chunk in unit.chunks] == list(unit.chunk_ids)
    assert max(len(u.record()) for u in large.units) < max(len(u.record()) for u in small.units) + 20
    assert large.units[0].store is large.units[-1].store  # one store of chunks for the whole plan


def test_the_fingerprint_hashes_the_inputs_and_stays_one_digest(tmp_path: Path) -> None:
    source = corpus(tmp_path / "docs", 30)
    config = {"source": str(source)}
    first = fingerprint(config, plan_job(job_settings(source)))
    assert fingerprint(config, plan_job(job_settings(source))) == first
    assert len(first["plan"]) == 64  # a sha256, whatever the number of units
    source.write_text(source.read_text().replace("section 7;", "section seven;"))
    changed = fingerprint(config, plan_job(job_settings(source)))
    assert changed["plan"] != first["plan"] and changed["config"] == first["config"]


def quadratic_links(chunks: list[Chunk], partners: int) -> list[tuple[int, ...]]:
    """The reference: every chunk scored against every other with rapidfuzz (the planner before the index)."""
    profiles = rare_terms(chunks)
    links = []
    for position, chunk in enumerate(chunks):
        chosen: list[int] = []
        if profiles[position]:
            scored = process.extract(
                profiles[position], profiles, scorer=Indel.normalized_similarity, limit=None, score_cutoff=1e-9
            )
            for _, _, other in sorted(scored, key=lambda hit: (-hit[1], abs(hit[2] - position), hit[2])):
                if len(chosen) < partners and chunks[other].id != chunk.id and other not in chosen:
                    chosen.append(other)
        order = sorted(
            (other for other in range(len(chunks)) if other != position),
            key=lambda o: (chunks[o].document != chunk.document, abs(o - position), o < position),
        )
        for other in order[:2]:
            if len(chosen) < partners and other not in chosen and chunks[other].id != chunk.id:
                chosen.append(other)
        links.append(tuple(chosen))
    return links


@settings(max_examples=60, deadline=None)
@given(
    layout=st.lists(st.tuples(st.integers(0, 4), st.lists(st.integers(0, 15), max_size=6)), min_size=1, max_size=40),
    partners=st.integers(1, 2),
    repeat=st.booleans(),
)
def test_the_index_links_what_comparing_every_pair_links(
    layout: list[tuple[int, list[int]]], partners: int, repeat: bool
) -> None:
    chunks = [
        Chunk(f"c{i}", f"doc{document}.md", (), " ".join(f"term{t}x" for t in terms) + " filler words here", i)
        for i, (document, terms) in enumerate(layout)
    ]
    if repeat:  # a sample drawn with replacement holds the same chunk twice
        chunks.append(chunks[0])
    assert link_chunks(chunks, partners) == quadratic_links(chunks, partners)


def test_a_term_in_many_chunks_is_not_rare_however_large_the_corpus() -> None:
    chunks = [Chunk(f"c{i}", "d.md", (), f"common{i % 20}x shared{i // 3}x", i) for i in range(2000)]
    profiles = rare_terms(chunks)
    assert all(terms == [f"shared{i // 3}x"] for i, terms in enumerate(profiles))
    assert linking.RARE_MOST < 100 <= 0.1 * len(chunks)  # each "common" term is in 100 chunks (5%): not rare
    assert link_chunks(chunks, 1)[4] == (3,)  # its group's nearest earlier-equal chunk, found through the index
