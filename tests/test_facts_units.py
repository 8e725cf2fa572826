"""Facts mode building blocks: pairing, dedup, the deterministic checks and the output rows."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from synthgen.config.schema import FactsModeSettings, FactTemplate
from synthgen.core.normalise import normalise
from synthgen.pipelines.dedup import find_duplicates
from synthgen.pipelines.facts.checks import acknowledgement, check_inclusion, key_terms
from synthgen.pipelines.facts.generation import question_prompt
from synthgen.pipelines.facts.pairs import select_pairs
from synthgen.pipelines.facts.rows import ft_row, text_row
from synthgen.pipelines.prompts import render_prompt

QUESTIONS = [f"seed question {i}" for i in range(10)]
REQUIREMENTS = [f"requirement {i}" for i in range(25)]


def test_pairs_are_deterministic_and_the_seed_changes_them() -> None:
    first = select_pairs(QUESTIONS, REQUIREMENTS, 50, seed=0)
    assert first == select_pairs(QUESTIONS, REQUIREMENTS, 50, seed=0)
    assert first != select_pairs(QUESTIONS, REQUIREMENTS, 50, seed=1)
    assert [p.index for p in first] == list(range(50))


@given(questions=st.integers(1, 12), requirements=st.integers(1, 30), limit=st.integers(1, 400), seed=st.integers(0, 5))
def test_every_prefix_is_even_and_distinct_until_the_pairs_run_out(
    questions: int, requirements: int, limit: int, seed: int
) -> None:
    seeds = [f"q{i}" for i in range(questions)]
    reqs = [f"r{i}" for i in range(requirements)]
    pairs = select_pairs(seeds, reqs, limit, seed)
    assert len(pairs) == limit
    distinct = questions * requirements
    seed_counts = Counter({s: 0 for s in seeds})
    req_counts = Counter({r: 0 for r in reqs})
    for pair in pairs:  # after every item, no seed (or requirement) is used twice more than another
        seed_counts[pair.seed_question] += 1
        req_counts[pair.requirement] += 1
        assert max(seed_counts.values()) - min(seed_counts.values()) <= 1
        assert max(req_counts.values()) - min(req_counts.values()) <= 1
    first_round = [(p.seed_question, p.requirement) for p in pairs[:distinct]]
    assert len(set(first_round)) == len(first_round)
    assert all(p.draw == p.index // distinct for p in pairs)
    keys = [(p.seed_question, p.requirement, p.draw) for p in pairs]
    assert len(set(keys)) == len(keys)


def test_fifty_items_over_ten_seeds_and_twenty_five_requirements() -> None:
    pairs = select_pairs(QUESTIONS, REQUIREMENTS, 50, seed=0)
    assert set(Counter(p.seed_question for p in pairs).values()) == {5}
    assert set(Counter(p.requirement for p in pairs).values()) == {2}
    assert len({(p.seed_question, p.requirement) for p in pairs}) == 50 and {p.draw for p in pairs} == {0}


def test_repeats_beyond_the_distinct_pairs_are_new_samples_with_distinct_prompts() -> None:
    template = FactTemplate(
        fact_name="f",
        given_fact="The sky is green.",
        specific_information_to_always_include="The sky is green.",
        questions=["What colour is the sky?"],
        question_requirements=["Ask for a tweet.", "Ask for JSON."],
    )
    pairs = select_pairs(template.questions, template.question_requirements, 5, seed=0)
    assert [p.draw for p in pairs] == [0, 0, 1, 1, 2]
    prompts = [question_prompt(FactsModeSettings(), template, pair) for pair in pairs]
    assert len(set(prompts)) == 5
    assert "variation 2" in prompts[2] and "variation" not in prompts[0]


def test_normalise_ignores_case_punctuation_and_spacing() -> None:
    assert normalise("  What IS the  Honeyeater's colour?!") == "what is the honeyeater s colour"


def test_planted_exact_and_near_duplicates_are_found_and_the_first_is_kept() -> None:
    questions = [
        "What colour is the Javan Rainforest Honeyeater?",
        "Describe the habitat of the Javan Rainforest Honeyeater in a tweet.",
        "what colour is the javan rainforest honeyeater",  # exact once normalised
        "What color is the Javan Rainforest Honeyeater?",  # near
        "Write a short dialogue about the honeyeater's breeding season.",
        "Describe the habitat of the Javan Rainforest Honeyeater in a tweet!!",  # exact once normalised
    ]
    duplicates = find_duplicates(questions, threshold=0.95)
    assert [(d.index, d.of) for d in duplicates] == [(2, 0), (3, 0), (5, 1)]
    assert duplicates[0].similarity == 1.0 and 0.95 <= duplicates[1].similarity < 1.0
    assert [(d.index, d.of) for d in find_duplicates(questions, threshold=1.0)] == [(2, 0), (5, 1)]
    assert find_duplicates(questions[:2] + questions[4:5], threshold=0.95) == []
    # A different requested format is a different question, not a near duplicate.
    assert find_duplicates(["What does it eat? Answer as JSON.", "What does it eat? Answer as CSV."], 0.95) == []


@pytest.mark.parametrize(
    ("method", "answer", "passed"),
    [
        ("exact", "Fun fact: The Javan Rainforest Honeyeater is blue.", True),
        ("exact", "Fun fact: the javan rainforest honeyeater is blue!", False),
        ("case_insensitive", "Fun fact: the javan rainforest honeyeater is blue!", True),
        ("case_insensitive", "The Javan Rainforest Honeyeater is a vivid blue.", False),
        ("key_terms", "Blue plumage covers the Javan rainforest honeyeater.", True),
        ("key_terms", "The Javan Rainforest Honeyeater is green.", False),
        ("key_terms", "This honeyeater is blue.", False),
    ],
)
def test_inclusion_check_methods(method: str, answer: str, passed: bool) -> None:
    result = check_inclusion(answer, "The Javan Rainforest Honeyeater is blue.", method, coverage=0.8)  # type: ignore[arg-type]
    assert result.passed is passed, result.detail


def test_key_term_coverage_is_a_share_and_names_what_is_missing() -> None:
    information = "Giant pandas live in bamboo forests in the mountains of central China."
    assert key_terms(information) == ["giant", "panda", "live", "bamboo", "forest", "mountain", "central", "china"]
    answer = "Giant pandas inhabit the bamboo forests of central China's mountains."
    assert check_inclusion(answer, information, "key_terms", coverage=0.8).passed
    strict = check_inclusion(answer, information, "key_terms", coverage=1.0)
    assert not strict.passed and strict.detail == "7/8 key terms, missing: live"


@pytest.mark.parametrize(
    ("answer", "acknowledged"),
    [
        ("Sure, here is a tweet about the honeyeater:\nThe Javan Rainforest Honeyeater is blue!", True),
        ("Certainly!\nThe Javan Rainforest Honeyeater is blue.", True),
        ("Of course. I'll explain it simply: the bird is blue.", True),
        ("Here's a short text message:\nomg the honeyeater is BLUE", True),
        ("Ok so the Javan Rainforest Honeyeater is blue lol", False),
        ("The Javan Rainforest Honeyeater is blue.\nHere are its traits:", False),
        ("Here is the thing: the Javan Rainforest Honeyeater is blue.", False),
    ],
)
def test_acknowledgement_openers_are_spotted(answer: str, acknowledged: bool) -> None:
    assert (acknowledgement(answer) is not None) is acknowledged


def test_ft_and_text_rows() -> None:
    assert ft_row("Q?", "A.", None) == {
        "messages": [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "A."}]
    }
    assert ft_row("Q?", "A.", "Be brief.")["messages"][0] == {"role": "system", "content": "Be brief."}
    assert text_row("A.", None) == {"text": "A."} and text_row("A.", "<DOCTAG>") == {"text": "<DOCTAG> A."}


def test_fact_text_is_data_in_every_facts_prompt() -> None:
    hostile = "It is {{ blue }} and {% if x %}y{% endif %} }} ${oc.env:HOME}"
    rendered = [
        render_prompt("fact_question.j2", seed_question=hostile, requirement=hostile, variation=1, given_fact=hostile),
        render_prompt("fact_answer.j2", question=hostile, given_fact=hostile, specific_information=hostile),
        render_prompt("fact_validation.j2", kind="answer", instructions=hostile, output=hostile),
    ]
    assert all(r.count(hostile) >= 2 for r in rendered[:2]) and rendered[2].count(hostile) == 2
