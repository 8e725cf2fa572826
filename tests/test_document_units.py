"""Document-mode building blocks: type allocation, chunk linking, the quote check, ids and quality figures."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from synthgen.config.schema import EvidenceSettings, QueriesModeSettings, QuestionTypeSettings
from synthgen.pipelines.dedup import KeptTexts
from synthgen.pipelines.documents.evidence import Quote, check_quotes
from synthgen.pipelines.documents.linking import link_chunks
from synthgen.pipelines.documents.quality import distinct_n, pairwise_similarities, quality_report
from synthgen.pipelines.documents.question_types import interleave, largest_remainder, spread_types
from synthgen.sources.base import Chunk

TIMERS = Chunk(
    id="t",
    document="timers.md",
    header_path=("Timers", "setTimeout"),
    text="Schedules execution of a one-time `callback` after `delay` milliseconds.\n"
    "When `delay` is larger than 2147483647 or less than 1, the `delay`\nwill be set to 1.",
    index=0,
)


def chunk(i: int, text: str, document: str = "d.md") -> Chunk:
    return Chunk(id=f"c{i}", document=document, header_path=(f"H{i}",), text=text, index=i)


@given(shares=st.lists(st.floats(0.01, 5), min_size=1, max_size=8), total=st.integers(0, 400))
def test_largest_remainder_gives_exact_totals_within_one_of_the_share(shares: list[float], total: int) -> None:
    named = {f"t{i}": share for i, share in enumerate(shares)}
    counts = largest_remainder(named, total)
    assert sum(counts.values()) == total
    for name, share in named.items():
        assert abs(counts[name] - total * share / sum(shares)) < 1
    order = interleave(counts)
    assert Counter(order) == +Counter(counts)


def test_rare_types_are_spread_over_the_run_not_starved_per_chunk() -> None:
    shares = {"factual": 0.9, "out_of_scope": 0.05, "false_premise": 0.05}
    order = interleave(largest_remainder(shares, 3 * 20))  # 20 chunks of 3: per-chunk rounding gives rare types 0
    assert Counter(order) == {"factual": 54, "out_of_scope": 3, "false_premise": 3}
    spots = [i for i, name in enumerate(order) if name == "out_of_scope"]
    assert max(b - a for a, b in pairwise(spots)) <= 21  # evenly spaced, not bunched at one end
    assert order == interleave(largest_remainder(shares, 60))  # deterministic


def test_a_multi_chunk_type_moves_to_units_that_have_a_partner() -> None:
    mode = QueriesModeSettings(
        types={
            "factual": QuestionTypeSettings(prompt="question_types/factual.j2"),
            "multi_hop": QuestionTypeSettings(prompt="question_types/multi_hop.j2", chunks=2),
        },
        question_types={"factual": 1, "multi_hop": 1},
    )
    lonely = {0}  # unit 0 has no linked chunk
    order = spread_types(mode, [2, 2, 2], lambda name, unit: name == "factual" or unit not in lonely)
    assert order[:2] == ["factual", "factual"] and Counter(order) == {"factual": 3, "multi_hop": 3}
    with pytest.raises(Exception, match="no type fits"):
        spread_types(mode.model_copy(update={"question_types": {"multi_hop": 1}}), [1], lambda name, unit: False)


def test_chunks_sharing_rare_terms_are_linked_across_the_document_else_neighbours() -> None:
    chunks = [
        chunk(0, "The kettle uses descaling powder called Scalex every month."),
        chunk(1, "Cleaning the outside needs only a damp cloth and some patience."),
        chunk(2, "Warranty claims need the receipt and the serial number."),
        chunk(3, "Buy Scalex descaling powder at any supermarket near you."),
        chunk(4, "Unrelated closing words about nothing in particular here."),
    ]
    links = link_chunks(chunks, 1)
    assert links[0] == (3,) and links[3] == (0,)  # shared rare terms: scalex, descaling, powder
    assert links[1] == (2,) and links[4] == (3,)  # nothing shared: the next chunk, else the previous one
    assert link_chunks(chunks, 2)[0] == (3, 1)
    assert link_chunks(chunks[:1], 1) == [()]


@pytest.mark.parametrize(
    ("quote", "kept"),
    [
        ("When `delay` is larger than 2147483647 or less than 1, the `delay` will be set to 1.", True),
        ("when DELAY is larger than   2147483647\n or less than 1,   the delay will be set to 1", True),  # case, spaces
        ("The delay is capped at 1000 milliseconds for every timer.", False),  # not in the chunk
        ("delay", False),  # too short to prove anything
    ],
)
def test_a_quote_must_be_in_the_chunk_whatever_its_case_and_spacing(quote: str, kept: bool) -> None:
    verdict = check_quotes([Quote(excerpt=1, text=quote)], [TIMERS], EvidenceSettings(), answerable=True, hops=1)
    assert (verdict.reason is None) == kept
    assert verdict.evidence[0].chunk_id == "t" and (verdict.evidence[0].score >= 0.9) == (kept or quote == "delay")


def test_quote_rules_for_unanswerable_and_multi_hop_items_and_the_switch() -> None:
    settings = EvidenceSettings()
    other = chunk(1, "Timers created in worker threads are not shared with the main thread.")
    inside = Quote(excerpt=1, text="Schedules execution of a one-time callback")
    assert check_quotes([], [TIMERS], settings, answerable=False, hops=1).reason is None
    assert check_quotes([inside], [TIMERS], settings, answerable=False, hops=1).reason == "quote_claimed"
    assert check_quotes([], [TIMERS], settings, answerable=True, hops=1).reason == "no_quote"
    assert check_quotes([inside], [TIMERS, other], settings, answerable=True, hops=2).reason == "single_chunk_evidence"
    both = [inside, Quote(excerpt=1, text="not shared with the main thread")]  # wrong excerpt number: found anyway
    verdict = check_quotes(both, [TIMERS, other], settings, answerable=True, hops=2)
    assert verdict.reason is None and [e.chunk_id for e in verdict.evidence] == ["t", "c1"]
    off = EvidenceSettings(enabled=False)
    assert check_quotes([Quote(excerpt=1, text="made up")], [TIMERS], off, answerable=True, hops=1).reason is None


def planted_turn(query: str, chunks: list[str], kind: str = "factual", difficulty: str = "easy") -> dict:
    agentic = {"chunk_id": chunks[0], "source_chunks": chunks, "question_type": kind, "difficulty": difficulty}
    return {"query": query, "agentic": agentic}


def test_quality_figures_on_a_planted_dataset() -> None:
    datasets = [
        {
            "conversation": [
                planted_turn("How long is a day on Mars?", ["a1"]),
                planted_turn("How long is a day on Mars?", ["a2", "b1"], "multi_hop", "hard"),
            ]
        },
        {"conversation": [planted_turn("Who built the first rover?", ["b1"])]},
    ]
    rejected = [
        {"stage": "dedup", "reason": "near_duplicate"},
        {"stage": "evidence_check", "reason": "quote_not_found"},
        {"stage": "evidence_check", "reason": "quote_not_found"},
    ]
    chunks = [("a1", "a.md"), ("a2", "a.md"), ("a3", "a.md"), ("a4", "a.md"), ("b1", "b.md")]
    quality = quality_report(datasets, rejected, chunks, requested=6)
    assert (quality["kept"], quality["requested"], quality["chunks"], quality["chunks_covered"]) == (3, 6, 5, 3)
    assert quality["coverage"] == 0.6 and quality["coverage_by_document"] == {"a.md": 0.5, "b.md": 1.0}
    assert quality["kept_by_type"] == {"factual": 2, "multi_hop": 1}
    assert quality["kept_by_difficulty"] == {"easy": 2, "hard": 1}
    assert quality["rejected_by_stage"] == {"dedup": 1, "evidence_check": 2} and quality["duplicates_removed"] == 1
    assert quality["rejected_by_reason"] == {"near_duplicate": 1, "quote_not_found": 2}
    # 19 words, 12 distinct (how long is a day on mars, twice; who built the first rover); 16 bigrams, 10 distinct
    assert quality["distinct_1"] == round(12 / 19, 4) and quality["distinct_2"] == round(10 / 16, 4)
    assert quality["question_lengths"] == [7, 7, 5] and quality["question_length_mean"] == round(19 / 3, 2)
    assert len(quality["similarities"]) == 3 and quality["similarity_max"] == 1.0
    assert quality["similarity_mean"] == round(sum(quality["similarities"]) / 3, 4)


def test_distinct_n_and_similarity_edges() -> None:
    assert distinct_n([], 2) == 0.0 and distinct_n(["one"], 2) == 0.0
    assert distinct_n(["a b a b"], 2) == round(2 / 3, 4)
    assert pairwise_similarities(["Same text!", "same   TEXT"]) == [1.0]
    assert pairwise_similarities(["only one"]) == []


def test_document_dedup_compares_words_so_one_changed_name_is_a_new_question() -> None:
    kept = KeptTexts(0.92, by_words=True)
    kept.add("What is the purpose of the `timeout.ref()` method?", 0)
    kept.add("How far is the Moon from the Earth?", 1)
    assert kept.match("What is the purpose of the `timeout.unref()` method?") is None  # 8 of 9 words: 0.89
    assert kept.match("How far is the Moon from Earth?") == (1, 0.933)
    assert kept.match("how far is the moon from the earth") == (1, 1.0)
    assert KeptTexts(0.92).match("anything") is None
