"""Facts mode building blocks: pairing, dedup, the deterministic checks and the output rows."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from synthgen.config.schema import FactsModeSettings, FactsValidationSettings, FactTemplate
from synthgen.core.errors import UserError
from synthgen.core.normalise import normalise
from synthgen.pipelines.dedup import find_duplicates
from synthgen.pipelines.facts.answer_checks import check_answer
from synthgen.pipelines.facts.checks import CheckResult, acknowledgement, check_inclusion, key_terms
from synthgen.pipelines.facts.formats import check_format, named_formats
from synthgen.pipelines.facts.generation import question_prompt
from synthgen.pipelines.facts.pairs import select_pairs
from synthgen.pipelines.facts.probes import SeedSplit, probe_duplicates, probe_pairs, split_seed_questions
from synthgen.pipelines.facts.rows import dpo_row, ft_row, text_row
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


@pytest.mark.parametrize(
    ("requirement", "formats"),
    [
        ("The question should ask for the answer formatted as JSON.", ["JSON"]),
        ("The question should ask for the answer formatted as an HTML snippet.", ["HTML"]),
        ("Ask for csv, or else Json, or CSV again.", ["CSV", "JSON"]),
        ("The question should ask for the answer written as a tweet.", []),
        ("Ask for XHTML or a JSONL file.", []),  # whole words only
    ],
)
def test_a_requirement_names_the_formats_it_mentions_as_words(requirement: str, formats: list[str]) -> None:
    assert named_formats(requirement) == formats


@pytest.mark.parametrize(
    ("name", "answer", "passed"),
    [
        ("JSON", '{"bird": "honeyeater", "colour": "blue"}', True),
        ("JSON", '```json\n[{"colour": "blue"}]\n```', True),  # one fenced block, nothing else
        ("JSON", '```\n{"colour": "blue"}\n```', True),
        ("JSON", 'Here it is:\n```json\n{"colour": "blue"}\n```', False),  # prose around the block
        ("JSON", '```json\n{"a": 1}\n```\n```json\n{"b": 2}\n```', False),  # two blocks
        ("JSON", '"The honeyeater is blue."', False),  # a bare string is not an object or array
        ("JSON", "{'colour': 'blue'}", False),
        ("XML", '<?xml version="1.0"?>\n<bird colour="blue"><name>honeyeater</name></bird>', True),
        ("XML", "<bird><colour>blue</bird>", False),
        ("XML", "<bird>blue</bird><bird>blue</bird>", False),  # two roots
        ("HTML", "<p>The honeyeater is <b>blue</b>.</p>", True),
        ("HTML", "<ul>\n<li>blue\n<li>small\n</ul><br><img src='x.png'/>", True),  # optional end tags, voids
        ("HTML", "```html\n<table><tr><td>colour<td>blue</table>\n```", True),
        ("HTML", "<div><span>blue</div>", False),  # <span> left open inside the closed <div>
        ("HTML", "<div>blue", False),
        ("HTML", "<section>blue</section></div>", False),
        ("HTML", "The honeyeater is <b>blue</b>.", False),  # prose with a tag
        ("HTML", "<!-- just a comment -->", False),
        ("CSV", "bird,colour\nhoneyeater,blue\n", True),
        ("CSV", 'bird;colour\n"Javan, rainforest honeyeater";blue', True),
        ("CSV", "bird\thabitat\tcolour\nhoneyeater\tJava\tblue", True),
        ("CSV", "The honeyeater is blue, and lives on Java.", False),  # one row
        ("CSV", "bird,colour\nhoneyeater,blue,small", False),  # uneven rows
        ("CSV", "honeyeater\nblue", False),  # one column
    ],
)
def test_format_checks_parse_with_the_standard_library(name: str, answer: str, passed: bool) -> None:
    result = check_format(answer, [name])
    assert result.passed is passed, result.detail
    assert result.detail == f"parses as {name}" if passed else result.detail.startswith(f"not {name}: ")


def test_an_answer_may_take_any_format_the_requirement_names() -> None:
    assert check_format("<bird>blue</bird>", ["JSON", "XML"]) == CheckResult(True, "parses as XML")
    failed = check_format("blue", ["JSON", "CSV"])
    assert not failed.passed and failed.detail.startswith("not JSON: ") and "; not CSV: " in failed.detail


def template_with(questions: int, probe_questions: list[str] | None = None) -> FactTemplate:
    return FactTemplate(
        fact_name="f",
        given_fact="The sky is green.",
        specific_information_to_always_include="The sky is green.",
        questions=[f"seed {i}" for i in range(questions)],
        question_requirements=["Ask for a tweet.", "Ask for JSON."],
        probe_questions=probe_questions or [],
    )


@given(questions=st.integers(2, 20), held=st.integers(1, 19), seed=st.integers(0, 5))
def test_held_out_seed_questions_never_train_and_the_split_is_seeded(questions: int, held: int, seed: int) -> None:
    template = template_with(questions)
    mode = FactsModeSettings(probes=3, held_out_questions=min(held, questions - 1), seed=seed)
    split = split_seed_questions(template, mode)
    assert split == split_seed_questions(template, mode)
    assert len(split.probes) == mode.held_out_questions and not set(split.probes) & set(split.training)
    assert sorted(split.training + split.probes) == sorted(template.questions)
    assert split.training == [q for q in template.questions if q in split.training]  # template order kept
    pairs = probe_pairs(split, template, mode)
    assert len(pairs) == 3 and {p.seed_question for p in pairs} <= set(split.probes)


def test_the_default_hold_out_is_a_fifth_or_none_beside_probe_questions() -> None:
    mode = FactsModeSettings(probes=4)
    assert len(split_seed_questions(template_with(10), mode).probes) == 2
    assert len(split_seed_questions(template_with(3), mode).probes) == 1
    listed = split_seed_questions(template_with(10, ["Is the sky blue?"]), mode)
    assert listed.probes == ["Is the sky blue?"] and len(listed.training) == 10
    both = split_seed_questions(
        template_with(10, ["Is the sky blue?"]), mode.model_copy(update={"held_out_questions": 1})
    )
    assert len(both.probes) == 2 and both.probes[-1] == "Is the sky blue?" and len(both.training) == 9
    assert split_seed_questions(template_with(10), FactsModeSettings()) == SeedSplit(template_with(10).questions, [])
    with pytest.raises(UserError, match="leaves none of the template's 1 seed questions"):
        split_seed_questions(template_with(1), mode)


def test_probe_duplicates_name_what_they_repeat() -> None:
    training = ["What colour is the sky?", "Why is the sky green?"]
    probes = ["what colour is the sky", "Is the sky green at night?", "Is the sky green at night??", "New?"]
    found = probe_duplicates(training, probes, threshold=0.95)
    assert [(d.index, d.of, d.of_training, d.similarity) for d in found] == [
        (0, "What colour is the sky?", True, 1.0),
        (2, "Is the sky green at night?", False, 1.0),
    ]
    assert found[1].reason == "near-duplicate of an earlier probe (similarity 1.0): Is the sky green at night?"


@pytest.mark.parametrize(
    ("answer", "requirement", "format_check", "stage"),
    [
        ("Sure!\nThe sky is green.", "Ask for JSON.", True, "acknowledgement_check"),
        ("The sky is green.", "Ask for JSON.", True, "format_check"),
        ("The sky is green.", "Ask for JSON.", False, None),  # the format check is off
        ('{"sky": "blue"}', "Ask for JSON.", True, "inclusion_check"),
        ('{"fact": "The sky is green."}', "Ask for JSON.", True, None),
        ("The sky is green.", "Ask for a tweet.", True, None),
    ],
)
def test_answer_checks_run_in_order_and_stop_at_the_first_failure(
    answer: str, requirement: str, format_check: bool, stage: str | None
) -> None:
    checks = FactsValidationSettings(format_check=format_check)
    verdict = check_answer(answer, requirement, "The sky is green.", checks)
    assert verdict.stage == stage, verdict.reason
    if stage is None:
        assert verdict.details["inclusion"]["passed"] and ("format" in verdict.details) == (
            format_check and "JSON" in requirement
        )


def test_dpo_needs_a_second_answer_attempt() -> None:
    assert FactsModeSettings(dpo=True, answer_attempts=2).dpo
    with pytest.raises(ValueError, match="dpo=true needs answer_attempts of 2 or more"):
        FactsModeSettings(dpo=True)
    row = dpo_row("Q?", "good", "bad", None)
    assert row == {
        "prompt": [{"role": "user", "content": "Q?"}],
        "chosen": [{"role": "assistant", "content": "good"}],
        "rejected": [{"role": "assistant", "content": "bad"}],
    }
