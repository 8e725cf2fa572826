"""Question types, quotes, top-ups, dedup, judge, conversations and ids, end to end over the real Hydra compose
and litellm path against a scripted fake server on 127.0.0.1 (tests.fake_documents.DocumentModel)."""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hydra import compose, initialize_config_dir

from synthgen.core.paths import CONF_DIR, PROMPTS_DIR
from synthgen.run.runner import run_job
from tests.cli import read_jsonl
from tests.fake_documents import ALIKE_TYPES, DocumentModel, prompt_types
from tests.fake_openai import FakeOpenAI, scripted_questions
from tests.test_cli import DOC

ALL_TYPES = [
    "factual",
    "reasoning",
    "comparative",
    "procedural",
    "multi_hop",
    "situational",
    "false_premise",
    "out_of_scope",
]
BAD_QUOTE = "The Moon is made of green cheese, as every survey has shown."
COPIED = "mode.evidence.cite=text"  # replies copy their quotes, which the tests then spoil


@pytest.fixture
def model(fake_openai: FakeOpenAI) -> DocumentModel:
    scripted = DocumentModel()
    fake_openai.responder = scripted
    return scripted


def mix(*types: str) -> tuple[str, str]:
    """Overrides that replace the question type mix by equal shares of `types`."""
    return "~mode.question_types", "+mode.question_types={" + ",".join(f"{name}:1" for name in types) + "}"


def run(server: FakeOpenAI, tmp_path: Path, *extra: str, name: str = "run") -> Path:
    doc = tmp_path / "moon.md"
    doc.write_text(DOC)
    out = tmp_path / name
    overrides = [
        "model=openai_compatible",
        f"model.api_base={server.url}",
        "model.retries=0",
        f"source={doc}",
        "loader.min_chunk_size=50",
        *extra,
    ]
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides)
    assert run_job(cfg, out) == 0
    return out


def turns(out: Path) -> list[dict[str, Any]]:
    return [turn for dataset in read_jsonl(out / "datasets.jsonl") for turn in dataset["conversation"]]


def stats_of(out: Path) -> dict[str, Any]:
    return json.loads((out / "stats.json").read_text())


def first_round(prompt: str) -> bool:
    """A first call: no question listed as already written (top-ups list them)."""
    return "already written" not in prompt and "conversation so far" not in prompt


def test_every_type_renders_and_its_items_carry_its_label(
    fake_openai: FakeOpenAI, model: DocumentModel, tmp_path: Path
) -> None:
    out = run(
        fake_openai,
        tmp_path,
        *mix(*ALL_TYPES),
        "mode.num_queries_per_chunk=8",
        "mode.answers=true",
        "mode.personas=[a new user,a site administrator]",
        "mode.difficulty={easy:1,hard:1}",
    )
    kept = turns(out)
    assert Counter(t["agentic"]["question_type"] for t in kept) == dict.fromkeys(ALL_TYPES, 3)
    question_prompts = [p for p in model.prompts if "You write questions" in p]
    assert len(question_prompts) == 18  # one call per chunk and group of alike types
    alike = list(ALIKE_TYPES)
    for turn in kept:
        [prompt] = [p for p in question_prompts if turn["query"] in [q["question"] for q in scripted_questions(p)]]
        name = turn["agentic"]["question_type"]
        assert prompt_types(prompt) == (alike if name in alike else [name])  # its type's prompt file
        if name in alike:  # and its slot names its type
            assert re.search(rf"(?m)^Question \d \({name.capitalize()}\)", prompt)
        agentic = turn["agentic"]
        assert agentic["difficulty"] == "medium" and agentic["persona"] in ("a new user", "a site administrator")
        assert f"asked by {agentic['persona']}" in prompt and ("easy to answer" in prompt or "hard to answer" in prompt)
        assert set(agentic) == {
            "chunk_id", "document", "header_path", "chunk_index", "pages", "turn_number", "builds_on",
            "question_type", "difficulty", "persona", "source_chunks", "evidence", "answer_evidence",
            "closed_book_answerable", "checks",
        }  # fmt: skip
        if agentic["question_type"] == "out_of_scope":
            assert agentic["evidence"] == agentic["answer_evidence"] == []
            assert agentic["source_chunks"] == [agentic["chunk_id"]]
        else:
            assert agentic["evidence"] and all(e["score"] >= 0.9 for e in agentic["evidence"])
            assert agentic["checks"] == ["evidence_check", "dedup", "roundtrip", "answer_evidence_check"]
        if agentic["question_type"] == "multi_hop":
            assert len({e["chunk_id"] for e in agentic["evidence"]}) == 2 == len(agentic["source_chunks"])
    for name, field in (
        ("false_premise", "false_assumption"),
        ("comparative", "compared"),
        ("situational", "situation"),
    ):
        assert all(f'"{field}"' in p for p in question_prompts if prompt_types(p) == [name])
    assert Counter(t["agentic"]["persona"] for t in kept) == {"a new user": 12, "a site administrator": 12}
    [dataset] = read_jsonl(out / "datasets.jsonl")
    relied = {chunk for t in kept for chunk in t["agentic"]["source_chunks"]}
    assert all(part in DOC for part in dataset["context"].split("\n\n")) and len(relied) == 3


def test_bad_quotes_are_rejected_and_topped_up_so_counts_per_type_hold(
    fake_openai: FakeOpenAI, model: DocumentModel, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def spoil_first(prompt: str, questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        factual = re.search(r"(?m)^Question (\d+) \(Factual\)", prompt)
        if first_round(prompt) and factual:
            questions[int(factual.group(1)) - 1]["quotes"] = [BAD_QUOTE]  # not in the chunk: rejected
            real = questions[-1]["quotes"][0]
            questions[-1]["quotes"] = ["  " + real.upper().replace(" ", "   \n ") + " "]
        return questions

    model.edit = spoil_first
    caplog.set_level(logging.INFO, logger="synthgen")
    out = run(fake_openai, tmp_path, *mix("factual", "reasoning"), "mode.num_queries_per_chunk=4", COPIED)
    stats = stats_of(out)
    assert stats["requested_by_type"] == stats["kept_by_type"] == {"factual": 6, "reasoning": 6}
    assert stats["shortfall_by_type"] == {"factual": 0, "reasoning": 0} and stats["shortfall"]["queries"] == 0
    rejected = read_jsonl(out / "rejected.jsonl")
    assert len(rejected) == 3 and {(r["stage"], r["reason"], r["question_type"]) for r in rejected} == {
        ("evidence_check", "quote_not_found", "factual")
    }
    assert stats["rejected"] == {"evidence_check": {"factual": 3}} and stats["generated"] == 15
    assert stats["stages"]["questions"]["calls"] == 3 + 3  # one per chunk, a top-up per chunk for the rejected one
    shouting = [t for t in turns(out) if t["agentic"]["evidence"][0]["quote"].startswith("  ")]
    assert len(shouting) == 3 and all(t["agentic"]["evidence"][0]["score"] >= 0.9 for t in shouting)
    quality = json.loads((out / "quality.json").read_text())
    assert (quality["kept"], quality["requested"], quality["coverage"]) == (12, 12, 1.0)
    assert quality["rejected_by_stage"] == {"evidence_check": 3}
    assert quality["rejected_by_reason"] == {"quote_not_found": 3}

    short = run(fake_openai, tmp_path, *mix("factual", "reasoning"), "mode.num_queries_per_chunk=4",
                "mode.max_top_up_calls=0", COPIED, name="short")  # fmt: skip
    assert stats_of(short)["shortfall_by_type"] == {"factual": 3, "reasoning": 0}
    assert "kept 9/12, coverage 100%" in caplog.text  # the quality figures close the log line


def test_questions_that_repeat_a_heading_or_lean_on_the_excerpt_are_rejected_and_replaced(
    fake_openai: FakeOpenAI, model: DocumentModel, tmp_path: Path
) -> None:
    def lean(prompt: str, questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if first_round(prompt) and "Section: Moon Guide > Tides" in prompt:
            questions[0]["question"] = "Tides"
            questions[1]["question"] = "What does the excerpt say about spring tides?"
        return questions

    model.edit = lean
    out = run(fake_openai, tmp_path, *mix("factual"), "mode.num_queries_per_chunk=3")
    rejected = read_jsonl(out / "rejected.jsonl")
    assert sorted((r["stage"], r["reason"], r["query"]) for r in rejected) == [
        ("evidence_check", "heading_as_question", "Tides"),
        ("evidence_check", "mentions_excerpt", "What does the excerpt say about spring tides?"),
    ]
    assert stats_of(out)["kept_by_type"] == {"factual": 9}  # both replaced by a top-up


def test_answers_that_only_repeat_the_question_are_rejected_and_replaced(
    fake_openai: FakeOpenAI, model: DocumentModel, tmp_path: Path
) -> None:
    answered, first_questions = model.answer, set[str]()

    def note_first(prompt: str, questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if first_round(prompt):
            first_questions.add(questions[0]["question"])
        return questions

    def echo_once(prompt: str, question: str) -> dict[str, Any]:
        reply = answered(prompt, question)
        if question in first_questions:  # each chunk's first question: answered with words of the question alone
            return {**reply, "answer": question.split(" on ")[0]}
        return reply

    model.edit = note_first
    model.answer = echo_once
    out = run(fake_openai, tmp_path, *mix("factual"), "mode.num_queries_per_chunk=2", "mode.answers=true")
    rejected = read_jsonl(out / "rejected.jsonl")
    assert {(r["stage"], r["reason"]) for r in rejected} == {("evidence_check", "answer_repeats_question")}
    assert len(rejected) == 3 and all(r["answer"] == "Question 0" for r in rejected)
    assert stats_of(out)["kept_by_type"] == {"factual": 6}  # each replaced by a top-up
    assert all(not t["ground_truth_assistant"].startswith("Question 0") for t in turns(out))


def test_multi_hop_items_cite_at_least_two_chunks(
    fake_openai: FakeOpenAI, model: DocumentModel, tmp_path: Path
) -> None:
    def one_excerpt_first(prompt: str, questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if first_round(prompt) and prompt_types(prompt) == ["multi_hop"]:
            for question in questions:
                question["quotes"] = question["quotes"][:1]
        return questions

    model.edit = one_excerpt_first
    out = run(fake_openai, tmp_path, *mix("multi_hop"), "mode.num_queries_per_chunk=1", COPIED)
    rejected = read_jsonl(out / "rejected.jsonl")
    assert [r["reason"] for r in rejected] == ["single_chunk_evidence"] * 3
    kept = turns(out)
    assert len(kept) == 3
    chunk_texts = DOC.split("\n\n## ")
    for turn in kept:
        assert len(set(turn["agentic"]["source_chunks"])) == 2
        assert {e["chunk_id"] for e in turn["agentic"]["evidence"]} == set(turn["agentic"]["source_chunks"])
    prompts = [p for p in model.prompts if "You write questions" in p]
    assert all(p.count("<excerpt>") == 2 for p in prompts) and len(chunk_texts) == 3


def test_duplicates_across_chunks_are_removed_and_replaced(
    fake_openai: FakeOpenAI, model: DocumentModel, tmp_path: Path
) -> None:
    repeated = [
        "How far is the Moon from the Earth?",
        "How far is the moon from the Earth??",
        "How far is the Moon from Earth?",
    ]

    def same_question_everywhere(prompt: str, questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if first_round(prompt):
            chunk = next(i for i, words in enumerate(("Moon orbits", "tidal bulges", "astronauts")) if words in prompt)
            questions[0]["question"] = repeated[chunk]
        return questions

    model.edit = same_question_everywhere
    out = run(fake_openai, tmp_path, *mix("factual"), "mode.num_queries_per_chunk=2")
    rejected = read_jsonl(out / "rejected.jsonl")
    assert [(r["stage"], r["reason"]) for r in rejected] == [("dedup", "exact_duplicate"), ("dedup", "near_duplicate")]
    assert all(repeated[0] in r["detail"] for r in rejected)
    kept = turns(out)
    assert len(kept) == 6 and sum(t["query"] == repeated[0] for t in kept) == 1
    assert all(t["agentic"]["checks"] == ["evidence_check", "dedup", "roundtrip"] for t in kept)
    stats = stats_of(out)
    assert stats["duplicates_removed"] == 2 and stats["counts"]["duplicates_removed"] == 2
    assert json.loads((out / "quality.json").read_text())["duplicates_removed"] == 2


def test_conversations_are_one_session_each_and_a_rejected_turn_is_rewritten(
    fake_openai: FakeOpenAI, model: DocumentModel, tmp_path: Path
) -> None:
    def spoil_second_turn(prompt: str, questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if first_round(prompt) and len(questions) == 3:
            questions[1]["quotes"] = [{"excerpt": 1, "text": BAD_QUOTE}]  # two excerpts: numbered quotes
        return questions

    model.edit = spoil_second_turn
    args = ("mode=conversation", "strategy=random", "strategy.num_samples=2", "strategy.chunks_per_sample=2")
    out = run(fake_openai, tmp_path, *args, "mode.answers=true", COPIED)
    datasets = read_jsonl(out / "datasets.jsonl")
    assert len(datasets) == 2 and len({d["session_id"] for d in datasets}) == 2
    for dataset in datasets:
        conversation = dataset["conversation"]
        assert [t["agentic"]["turn_number"] for t in conversation] == [1, 2, 3]
        assert [t["agentic"]["builds_on"] for t in conversation] == [None] + [t["qa_id"] for t in conversation[:2]]
        assert {t["agentic"]["persona"] for t in conversation} == {None}
    rejected = read_jsonl(out / "rejected.jsonl")
    assert sorted(r["reason"] for r in rejected) == ["after_rejected_turn"] * 2 + ["quote_not_found"] * 2
    top_ups = [p for p in model.prompts if "conversation so far" in p and "You write the user" in p]
    assert len(top_ups) == 2 and all("Write the next 2 user messages" in p for p in top_ups)
    answers = [p for p in model.prompts if "Answer the user's question" in p]
    assert all(p.count("<excerpt>") == 2 for p in answers)  # a random sample's conversation spans its chunks
    kept_first = datasets[0]["conversation"][0]
    later = next(p for p in answers if f"Question: {datasets[0]['conversation'][1]['query']}" in p)
    assert f"User: {kept_first['query']}" in later and f"Assistant: {kept_first['ground_truth_assistant']}" in later


def test_the_judge_rejects_what_it_should_and_flags_closed_book_answers(
    fake_openai: FakeOpenAI, model: DocumentModel, tmp_path: Path
) -> None:
    factual: list[str] = []

    def judge(question: str, question_type: str) -> dict[str, Any]:
        verdict = {"reason": "fine", "answerable": True, "grounded": True, "self_contained": True}
        if question_type == "factual":
            verdict["grounded"] = bool(factual)  # the first factual question judged is not grounded
            factual.append(question)
        return verdict

    model.verdict = judge
    out = run(
        fake_openai,
        tmp_path,
        *mix("factual", "out_of_scope"),
        "mode.num_queries_per_chunk=2",
        "mode.answers=true",
        "mode.judge.enabled=true",
        "mode.judge.closed_book=true",
    )
    rejected = read_jsonl(out / "rejected.jsonl")
    reasons = Counter(r["reason"] for r in rejected if r["stage"] == "judge")
    # the ungrounded one, and every out_of_scope question this judge calls answerable (first round and top-ups)
    assert reasons["not_grounded"] == 1 and reasons["answerable_out_of_scope"] == 3 * 3
    kept = turns(out)
    assert Counter(t["agentic"]["question_type"] for t in kept) == {"factual": 3}
    assert all(t["agentic"]["checks"][-1] == "judge" for t in kept)
    assert all(t["agentic"]["closed_book_answerable"] is False for t in kept)
    stats = stats_of(out)
    assert stats["shortfall_by_type"] == {"factual": 0, "out_of_scope": 3}
    assert stats["stages"]["closed_book"]["calls"] == 4  # answerable types only: 3 factual + 1 top-up
    assert stats["stages"]["judge"]["calls"] == 4 + 9


def test_ids_are_stable_for_one_config_and_differ_with_what_changes_content(
    fake_openai: FakeOpenAI, model: DocumentModel, tmp_path: Path
) -> None:
    prompt = tmp_path / "mine.j2"
    prompt.write_text((PROMPTS_DIR / "queries.j2").read_text() + "\nBe brief.")
    variants = {
        "base": (),
        "again": (),
        "sharded_budget": ("max_cost_usd=5", "model.max_concurrency=2"),  # how calls are made: same ids
        "language": ("mode.language=french",),
        "model": ("model.temperature=0.2",),
        "types": mix("factual"),
        "personas": ("mode.personas=[a student]",),
        "prompt": (f"mode.prompt={prompt}",),
        "mode": ("mode=conversation",),
    }
    ids = {}
    for name, extra in variants.items():
        count = "mode.num_turns=1" if "mode=conversation" in extra else "mode.num_queries_per_chunk=1"
        out = run(fake_openai, tmp_path, *extra, count, name=name)
        ids[name] = {d["session_id"] for d in read_jsonl(out / "datasets.jsonl")} | {t["qa_id"] for t in turns(out)}
    assert ids["base"] == ids["again"] == ids["sharded_budget"]
    others = [ids[name] for name in variants if name not in ("base", "again", "sharded_budget")]
    assert all(not (ids["base"] & other) for other in others)


def test_a_failed_call_is_recorded_and_the_other_types_of_its_chunk_are_kept(
    fake_openai: FakeOpenAI, model: DocumentModel, tmp_path: Path
) -> None:
    model.fail = lambda prompt: prompt_types(prompt) == ["comparative"] and "tidal bulges" in prompt
    out = run(fake_openai, tmp_path, *mix("factual", "comparative"), "mode.num_queries_per_chunk=2")
    [failure] = read_jsonl(out / "failures.jsonl")
    assert (failure["stage"], failure["round"]) == ("questions", 0) and "model crashed" in failure["error"]
    kept = Counter((t["agentic"]["header_path"], t["agentic"]["question_type"]) for t in turns(out))
    assert kept[("Moon Guide > Tides", "factual")] == 1 and kept[("Moon Guide > Tides", "comparative")] == 0
    assert sum(kept.values()) == 5
    stats = stats_of(out)
    assert stats["shortfall_by_type"] == {"factual": 0, "comparative": 1} and stats["failures"] == 1
