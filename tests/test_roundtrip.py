"""Evidence first, citations by number and the round trip, end to end over the real Hydra compose and litellm
path against the scripted fake server (tests.fake_documents.DocumentModel)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from synthgen.pipelines.documents.passages import Passage, number
from synthgen.pipelines.documents.roundtrip import check_roundtrip
from synthgen.pipelines.documents.wording import check_wording, topic_words
from synthgen.sources.base import Chunk
from tests.cli import read_jsonl, run_cli
from tests.fake_documents import DocumentModel
from tests.fake_openai import UNANSWERABLE, FakeOpenAI, excerpts_of, last_user_text
from tests.test_document_checks import mix, model, run, stats_of, turns

__all__ = ["model"]  # the fixture
INTERVAL = "Schedules repeated execution of `callback` every `delay` milliseconds."


def schema_of(request: dict[str, Any]) -> dict[str, Any]:
    return request["response_format"]["json_schema"]["schema"]


def passages_in(prompt: str) -> dict[int, str]:
    """The numbered passages a prompt shows."""
    shown = "\n".join(excerpts_of(prompt))
    return {int(n): text for n, text in re.findall(r"\[(\d+)\] (.+?)(?= \[\d+\]|\n|$)", shown)}


def test_items_that_do_not_come_back_to_their_evidence_are_rejected_and_replaced(
    fake_openai: FakeOpenAI, model: DocumentModel, tmp_path: Path
) -> None:
    default, first = model.choose, dict[str, int]()

    def note_first(prompt: str, questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if "already written" not in prompt:
            first.update((q["question"], i) for i, q in enumerate(questions))
        return questions

    def choose(prompt: str, question: str) -> dict[str, Any]:
        if first.get(question) == 0:
            return {"passages": []}  # nothing answers it
        if first.get(question) == 1:
            cited = default(prompt, question)["passages"]
            return {"passages": [n for n in passages_in(prompt) if n not in cited][:1]}  # another passage
        return default(prompt, question)

    model.edit, model.choose = note_first, choose
    out = run(fake_openai, tmp_path, *mix("factual"), "mode.num_queries_per_chunk=3")
    rejected = read_jsonl(out / "rejected.jsonl")
    assert Counter((r["stage"], r["reason"]) for r in rejected) == {
        ("roundtrip", "roundtrip_none"): 3,
        ("roundtrip", "roundtrip_mismatch"): 3,
    }  # one of each per chunk, in the first round
    kept = turns(out)
    assert len(kept) == 9  # topped up: ask for N, get N
    assert all(t["agentic"]["checks"] == ["evidence_check", "dedup", "roundtrip"] for t in kept)
    assert stats_of(out)["rejected"]["roundtrip"] == {"factual": 6}
    choices = [r for r in fake_openai.requests if "Which passages answer" in last_user_text(r)]
    assert len(choices) == 6  # a chunk's questions together, per round
    assert all(schema_of(r)["$defs"]["RoundTrip"]["properties"]["passages"]["maxItems"] == 3 for r in choices)


def test_an_out_of_scope_question_a_passage_answers_is_rejected(
    fake_openai: FakeOpenAI, model: DocumentModel, tmp_path: Path
) -> None:
    default = model.choose
    model.choose = lambda prompt, question: (  # passage 1 answers every out-of-scope question
        {"passages": [1]} if UNANSWERABLE in question else default(prompt, question)
    )
    out = run(
        fake_openai,
        tmp_path,
        *mix("factual", "out_of_scope"),
        "mode.num_queries_per_chunk=2",
        "mode.max_top_up_calls=0",
    )
    rejected = read_jsonl(out / "rejected.jsonl")
    assert [(r["question_type"], r["reason"]) for r in rejected] == [("out_of_scope", "answerable_out_of_scope")] * 3
    assert "passages [1] answer it" in rejected[0]["detail"]
    assert Counter(t["agentic"]["question_type"] for t in turns(out)) == {"factual": 3}


def test_citations_by_number_are_the_passages_text_and_unknown_numbers_are_rejected(
    fake_openai: FakeOpenAI, model: DocumentModel, tmp_path: Path
) -> None:
    def cite_nowhere_first(prompt: str, questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if "already written" not in prompt:
            questions[0]["evidence"] = [999]  # a model that does not follow the schema's enum
        return questions

    model.edit = cite_nowhere_first
    out = run(fake_openai, tmp_path, *mix("factual"), "mode.num_queries_per_chunk=2", "mode.answers=true")
    rejected = read_jsonl(out / "rejected.jsonl")
    assert {r["reason"] for r in rejected} == {"unknown_passage"} and len(rejected) == 3
    asked = [r for r in fake_openai.requests if "You write questions" in last_user_text(r)]
    item = schema_of(asked[0])["$defs"]["Question"]
    assert list(item["properties"])[:2] == ["evidence", "question"]  # the evidence first
    assert item["properties"]["evidence"]["items"]["enum"] == sorted(passages_in(last_user_text(asked[0])))
    shown = {text for r in asked for text in passages_in(last_user_text(r)).values()}
    kept = turns(out)
    assert len(kept) == 6
    for turn in kept:
        assert all(e["quote"] in shown and e["score"] == 1.0 for e in turn["agentic"]["evidence"])
        assert turn["agentic"]["answer_evidence"] and turn["agentic"]["checks"][-1] == "answer_evidence_check"


def test_evidence_first_asks_about_picked_passages_and_tops_up_with_others(
    fake_openai: FakeOpenAI, model: DocumentModel, tmp_path: Path
) -> None:
    first: set[str] = set()
    calls: Counter[tuple[str, bool]] = Counter()  # (first excerpt, multi-hop) -> question calls so far

    def call_of(prompt: str) -> tuple[str, bool]:
        return excerpts_of(prompt)[0], "Multi-hop" in prompt

    def note_first(prompt: str, questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        calls[call_of(prompt)] += 1
        if calls[call_of(prompt)] == 1:
            first.add(questions[0]["question"])
        return questions

    def reject_first_round(prompt: str, question: str) -> dict[str, Any]:
        return {"passages": []} if question in first else DocumentModel().choose(prompt, question)

    model.edit, model.choose = note_first, reject_first_round
    out = run(
        fake_openai,
        tmp_path,
        *mix("factual", "multi_hop"),
        "mode.generation=evidence_first",
        "mode.num_queries_per_chunk=2",
    )
    asked = [r for r in fake_openai.requests if "You write questions" in last_user_text(r)]
    assert asked and all("evidence" not in json.dumps(schema_of(r)) for r in asked)  # the model only writes
    named: dict[tuple[str, bool], set[str]] = {}  # (first excerpt, top-up) -> the passages asked about
    seen: set[tuple[str, bool]] = set()
    for request in asked:
        prompt = last_user_text(request)
        shown = passages_in(prompt)
        key = (excerpts_of(prompt)[0], call_of(prompt) in seen)
        seen.add(call_of(prompt))
        assert "already written" not in prompt  # each asks about its own passage: a list of questions invites copies
        for numbers in re.findall(r"answered by passages? ([\d\[\] and]+)", prompt):
            named.setdefault(key, set()).update(shown[int(n)] for n in re.findall(r"\d+", numbers))
        if "Multi-hop" in prompt:
            assert re.search(r"answered by passages \[\d+\] and \[\d+\]", prompt)
    kept = turns(out)
    assert Counter(t["agentic"]["question_type"] for t in kept) == {"factual": 3, "multi_hop": 3}
    for turn in kept:
        number_list = re.search(r"from \[([\d, ]+)\]", turn["query"]).group(1)  # type: ignore[union-attr]
        assert len(turn["agentic"]["evidence"]) == len(number_list.split(","))
    multi = [t for t in kept if t["agentic"]["question_type"] == "multi_hop"]
    assert all(len({e["chunk_id"] for e in t["agentic"]["evidence"]}) == 2 for t in multi)
    top_ups = [key for key in named if key[1]]
    assert top_ups  # the rejected first questions were asked again, each about a passage not asked about before
    assert all(not named[key] & named[(key[0], False)] for key in top_ups)


def test_evidence_first_asks_a_comparison_about_two_passages_of_its_chunk(
    fake_openai: FakeOpenAI, model: DocumentModel, tmp_path: Path
) -> None:
    out = run(
        fake_openai, tmp_path, *mix("comparative"), "mode.generation=evidence_first", "mode.num_queries_per_chunk=1"
    )
    asked = [last_user_text(r) for r in fake_openai.requests if "You write questions" in last_user_text(r)]
    assert len(asked) == 3 and all(re.search(r"answered by passages \[\d+\] and \[\d+\]", p) for p in asked)
    kept = turns(out)
    assert len(kept) == 3 and all(len(t["agentic"]["evidence"]) == 2 for t in kept)
    assert all(len({e["chunk_id"] for e in t["agentic"]["evidence"]}) == 1 for t in kept)  # of one chunk


def test_questions_worded_as_statements_vague_or_restating_their_evidence_are_rejected(
    fake_openai: FakeOpenAI, model: DocumentModel, tmp_path: Path
) -> None:
    def word_badly(prompt: str, questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if "already written" in prompt or "Section: Moon Guide > Tides" not in prompt:
            return questions
        stated = passages_in(prompt)[questions[2]["evidence"][0]]
        questions[0]["question"] = "The Moon raises two tidal bulges on Earth"  # a statement
        questions[1]["question"] = "What does this mean?"  # names nothing
        questions[2]["question"] = f"Is it true that {stated.rstrip('.')}?"  # its own answer
        return questions

    model.edit = word_badly
    out = run(fake_openai, tmp_path, *mix("factual"), "mode.num_queries_per_chunk=3")
    rejected = read_jsonl(out / "rejected.jsonl")
    assert sorted(r["reason"] for r in rejected) == ["not_a_question", "restates_evidence", "vague_question"]
    assert all(r["stage"] == "evidence_check" for r in rejected)
    assert len(turns(out)) == 9  # each replaced by a top-up


def test_a_comparison_that_compares_nothing_and_a_fact_worded_as_a_comparison_are_off_type(
    fake_openai: FakeOpenAI, model: DocumentModel, tmp_path: Path
) -> None:
    def swap_types(prompt: str, questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if "already written" not in prompt and "Comparative:" in prompt:  # each chunk's first comparison
            questions[0]["question"] = questions[0]["question"].replace(" or about ", " about ")
        elif "already written" not in prompt:  # and its first factual question, worded as a comparison
            questions[0]["question"] = questions[0]["question"].replace(" or about ", " or what is the difference ")
        return questions

    model.edit = swap_types
    out = run(fake_openai, tmp_path, *mix("factual", "comparative"), "mode.num_queries_per_chunk=2")
    rejected = Counter((r["reason"], r["question_type"]) for r in read_jsonl(out / "rejected.jsonl"))
    assert rejected == {("off_type", "comparative"): 3, ("off_type", "factual"): 3}
    assert Counter(t["agentic"]["question_type"] for t in turns(out)) == {"factual": 3, "comparative": 3}
    # in another language, no type has a pattern
    spanish = run(fake_openai, tmp_path, *mix("comparative"), "mode.language=spanish", name="spanish")
    assert read_jsonl(spanish / "rejected.jsonl") == []


def test_a_type_pattern_that_is_no_regular_expression_is_one_error_line(tmp_path: Path) -> None:
    result = run_cli(f"source={tmp_path}", "mode.types.comparative.patterns.english='(unclosed'", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "patterns" in line and "not a regular expression" in line, line


def test_an_answer_giving_a_number_its_evidence_lacks_is_rejected(
    fake_openai: FakeOpenAI, model: DocumentModel, tmp_path: Path
) -> None:
    answered, invented = model.answer, set[str]()

    def invent_once(prompt: str, question: str) -> dict[str, Any]:
        reply = answered(prompt, question)
        if len(invented) < 3 or question in invented:  # the first question of each chunk
            invented.add(question)
            return {**reply, "answer": "It takes 99 days.\n1. First step.\n2. Second step."}  # 99: in no passage
        return reply

    model.answer = invent_once
    out = run(fake_openai, tmp_path, *mix("factual"), "mode.num_queries_per_chunk=1", "mode.answers=true")
    rejected = read_jsonl(out / "rejected.jsonl")
    assert [r["reason"] for r in rejected] == ["answer_number_not_in_evidence"] * 3
    assert "gives 99" in rejected[0]["detail"]  # the step numbers 1. and 2. are not values
    assert len(turns(out)) == 3


def test_an_answer_drawn_from_another_passage_than_its_question_s_evidence_is_rejected(
    fake_openai: FakeOpenAI, model: DocumentModel, tmp_path: Path
) -> None:
    answered, strayed = model.answer, set[str]()

    def stray_once(prompt: str, question: str) -> dict[str, Any]:
        reply = answered(prompt, question)
        if len(strayed) < 3 or question in strayed:  # the first question of each chunk
            strayed.add(question)
            return {**reply, "evidence": [n for n in passages_in(prompt) if n not in reply["evidence"]][:1]}
        return reply

    model.answer = stray_once
    out = run(fake_openai, tmp_path, *mix("factual"), "mode.num_queries_per_chunk=1", "mode.answers=true")
    rejected = read_jsonl(out / "rejected.jsonl")
    assert [(r["stage"], r["reason"]) for r in rejected] == [("evidence_check", "answer_off_evidence")] * 3
    assert "cites none of its question's evidence" in rejected[0]["detail"]
    kept = turns(out)
    assert len(kept) == 3 and all(t["agentic"]["answer_evidence"] for t in kept)  # each replaced by a top-up


def test_a_choice_sharing_no_word_with_the_question_is_a_miss_and_a_pick_sharing_none_moves_to_the_choice(
    fake_openai: FakeOpenAI, model: DocumentModel, tmp_path: Path
) -> None:
    misses, others, chosen = set[str](), set[str](), dict[str, str]()

    def about(number: int, shown: dict[int, str]) -> str:
        """A question in three words only passage `number` has (not all: that would restate it)."""
        elsewhere = {word for n, text in shown.items() if n != number for word in topic_words(text)}
        only = [word for word in topic_words(shown[number]) if word not in elsewhere]
        return f"What does the guide say about {' '.join(only[:3])}?"

    def word_from_passages(prompt: str, questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if "already written" in prompt:
            return questions
        shown = passages_in(prompt)
        questions[0]["question"] = about(questions[0]["evidence"][0], shown)  # about its evidence
        misses.add(questions[0]["question"])
        other = next(n for n in shown if n != questions[1]["evidence"][0])
        questions[1]["question"] = about(other, shown)  # about another passage
        others.add(questions[1]["question"])
        return questions

    def choose_wrongly(prompt: str, question: str) -> dict[str, Any]:
        shown, asked = passages_in(prompt), set(topic_words(question))
        if question in misses:  # a passage with none of the question's words
            return {"passages": [next(n for n, text in shown.items() if not asked & set(topic_words(text)))]}
        if question in others:  # the passage the question is about, not its evidence
            number = next(n for n, text in shown.items() if asked & set(topic_words(text)))
            chosen[question] = shown[number]
            return {"passages": [number]}
        return model_choose(prompt, question)

    model_choose = model.choose
    model.edit, model.choose = word_from_passages, choose_wrongly
    out = run(fake_openai, tmp_path, *mix("factual"), "mode.num_queries_per_chunk=2", "mode.max_top_up_calls=0")
    assert read_jsonl(out / "rejected.jsonl") == []
    kept = {t["query"]: t["agentic"] for t in turns(out)}
    assert set(kept) == misses | others and len(misses) == len(others) == 3
    assert all(kept[question]["checks"][-1] == "roundtrip_words" for question in misses)
    for question in others:  # its evidence is now the passage it is about
        assert kept[question]["checks"][-1] == "roundtrip_moved"
        assert [e["quote"] for e in kept[question]["evidence"]] == [chosen[question]]


@pytest.mark.parametrize(
    ("question", "reason"),
    [
        ("Do not install it in a bedroom or in direct sunlight.", "not_a_question"),  # an instruction copied
        ("The Helios H5 stores 5.2 kWh in LFP cells", "not_a_question"),
        ("Do I need a ventilated garage for the Helios H5?", None),
        ("Explain how the Helios H5 connects to its inverter.", None),  # a request
        ("How the eight-person data team at Northwind Logistics works.", "not_a_question"),  # a title, copied
        ("How many kWh does the Helios H5 store", None),  # a question word first
        ("What does it mean?", "vague_question"),
    ],
)
def test_the_wording_check_tells_questions_from_statements(question: str, reason: str | None) -> None:
    verdict = check_wording(question, ["Mount the H5 indoors or in a ventilated garage."], "english")
    assert (verdict[0] if verdict else None) == reason


@pytest.mark.parametrize(
    ("chosen", "movable", "outcome"),
    [
        ("Keep 30 cm of free space above the unit for cooling.", True, "roundtrip_words"),  # no word of the question
        ("The rota names one engineer each week.", True, "roundtrip_words"),  # one word (rota), the evidence eight
        ("Swaps need both people to update the rota at least two days ahead.", True, "roundtrip_mismatch"),  # 6 of 8
    ],
)
def test_a_choice_sharing_far_fewer_words_than_the_evidence_is_a_miss(chosen: str, movable: bool, outcome: str) -> None:
    question = "Why do engineers update the rota in the shared calendar at least two days ahead?"
    evidence = "Swaps are allowed if both update the rota in the shared calendar at least two days ahead."
    passages = [Passage(n, 1, "c1", text, True) for n, text in ((1, chosen), (2, evidence))]
    verdict = check_roundtrip(question, passages[:1], passages[1:], answerable=True, movable=movable)
    assert (verdict.check or verdict.reason) == outcome and not verdict.moved


@pytest.mark.parametrize(("movable", "outcome"), [(True, "roundtrip_moved"), (False, "roundtrip_mismatch")])
def test_evidence_sharing_far_fewer_words_than_the_choice_moves_to_the_choice(movable: bool, outcome: str) -> None:
    question = "Why do engineers update the rota in the shared calendar at least two days ahead?"
    picked = Passage(1, 1, "c1", "One engineer is on call each week, from Monday 09:00.", True)
    chosen = Passage(
        2, 1, "c1", "Swaps are allowed if both update the rota in the shared calendar two days ahead.", True
    )
    verdict = check_roundtrip(question, [chosen], [picked], answerable=True, movable=movable)
    assert (verdict.check or verdict.reason) == outcome
    assert verdict.moved == ((chosen,) if movable else ())


@pytest.mark.parametrize(
    ("chosen", "standalone", "outcome", "moved"),
    [
        ([1], True, "off_evidence", ()),  # the round trip agrees, yet the question is not about its passage
        ([1], False, "roundtrip", ()),  # a later turn may name its topic in an earlier one
        ([1, 2], True, "roundtrip_moved", (2,)),  # it is about the other passage chosen: moved there alone
        ([3], True, "off_evidence", ()),  # a choice sharing no word with it either
    ],
)
def test_a_question_sharing_no_word_with_its_evidence_is_off_evidence(
    chosen: list[int], standalone: bool, outcome: str, moved: tuple[int, ...]
) -> None:
    question = "What is the default behaviour of the Node.js event loop?"
    passages = {
        1: Passage(1, 1, "c1", "This object is created internally and is returned from `setImmediate()`.", True),
        2: Passage(2, 1, "c1", "By default, the Node.js event loop keeps running while an immediate is active.", True),
        3: Passage(3, 1, "c1", "Calling `immediate.ref()` multiple times will have no effect.", True),
    }
    verdict = check_roundtrip(
        question, [passages[n] for n in chosen], [passages[1]], answerable=True, movable=True, standalone=standalone
    )
    assert (verdict.check or verdict.reason) == outcome
    assert [p.number for p in verdict.moved] == list(moved)


def test_a_passage_is_read_under_its_heading() -> None:
    chunk = Chunk("c1", "timers.md", ("Timers",), "## `setInterval(callback[, delay])`\n\n" + INTERVAL + "\n", 0)
    [passage] = number([chunk], 15)
    assert passage.heading == "`setInterval(callback[, delay])`"
    question = "What is the purpose of `setInterval()`?"  # named by the heading only
    assert check_roundtrip(question, [passage], [passage], answerable=True, movable=True).check == "roundtrip"
    alone = Passage(1, 1, "c1", INTERVAL, True)
    assert check_roundtrip(question, [alone], [alone], answerable=True, movable=True).reason == "off_evidence"


def test_a_two_passage_question_unrelated_to_one_of_them_is_off_evidence() -> None:
    question = "What is the difference between timers and intervals?"
    timers = Passage(1, 1, "c1", "The `timer` module exposes a global API for scheduling functions.", True)
    loop = Passage(5, 2, "c2", "If true, the `Immediate` object will keep the Node.js event loop active.", True)
    verdict = check_roundtrip(question, [timers, loop], [timers, loop], answerable=True, movable=False)
    assert verdict.reason == "off_evidence" and "passage 5" in verdict.detail


def test_questions_drifting_off_their_passages_are_rejected_and_replaced(
    fake_openai: FakeOpenAI, model: DocumentModel, tmp_path: Path
) -> None:
    def drift(prompt: str, questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if "already written" not in prompt:  # the first question of each first call names no word of the page
            questions[0]["question"] = re.sub(r" about [^?]*?(?= from|\?)", "", questions[0]["question"])
        return questions

    model.edit = drift
    out = run(fake_openai, tmp_path, *mix("factual"), "mode.num_queries_per_chunk=3")
    rejected = read_jsonl(out / "rejected.jsonl")
    assert [(r["stage"], r["reason"]) for r in rejected] == [("roundtrip", "off_evidence")] * 3  # one per chunk
    assert "no word of substance of the question is in passage" in rejected[0]["detail"]
    assert len(turns(out)) == 9  # each replaced by a top-up


def test_a_chunk_s_questions_share_a_round_trip_and_one_the_reply_skips_is_rejected(
    fake_openai: FakeOpenAI, model: DocumentModel, tmp_path: Path
) -> None:
    default = fake_openai.responder

    def answer_all_but_the_last(request: dict[str, Any]) -> Any:
        reply = default(request)
        if "Which passages answer each" in last_user_text(request):
            content = json.loads(reply.content)
            reply.content = json.dumps({"answers": content["answers"][:-1]})  # a model that stops one short
        return reply

    fake_openai.responder = answer_all_but_the_last
    both = (*mix("factual", "multi_hop"), "mode.num_queries_per_chunk=4", "mode.max_top_up_calls=0")
    out = run(fake_openai, tmp_path, *both)
    asked = [last_user_text(r) for r in fake_openai.requests if "Which passages answer" in last_user_text(r)]
    # per chunk, one call for its two factual questions (one excerpt), one for its two multi-hop ones (two)
    assert len(asked) == 6 and all(len(re.findall(r"(?m)^Question \d+: ", p)) == 2 for p in asked)
    rejected = read_jsonl(out / "rejected.jsonl")
    assert len(rejected) == 6 and {r["reason"] for r in rejected} == {"roundtrip_none"}  # the last of each call
    assert "no answer for it" in rejected[0]["detail"]
    assert Counter(t["agentic"]["question_type"] for t in turns(out)) == {"factual": 3, "multi_hop": 3}


def test_the_round_trip_asks_question_by_question_when_not_together(
    fake_openai: FakeOpenAI, model: DocumentModel, tmp_path: Path
) -> None:
    out = run(fake_openai, tmp_path, *mix("factual"), "mode.num_queries_per_chunk=3", "mode.roundtrip.together=false")
    asked = [last_user_text(r) for r in fake_openai.requests if "Which passages answer" in last_user_text(r)]
    assert len(asked) == 9 and all("Which passages answer the user's question below" in p for p in asked)
    assert len(turns(out)) == 9
