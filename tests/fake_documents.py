"""A scripted model for the document prompts, in the style of test_facts_pipeline.FactsModel: each behaviour
(questions, their quotes, answers, the judge's verdicts, failures) can be replaced by a test."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from tests.fake_openai import Reply, excerpts_of, last_user_text, scripted_choice, scripted_evidence, scripted_questions

TYPE_OF = {  # the first words of each bundled type's prompt file
    "Factual:": "factual",
    "Reasoning:": "reasoning",
    "Comparative:": "comparative",
    "Procedural:": "procedural",
    "Multi-hop:": "multi_hop",
    "Situational:": "situational",
    "False premise:": "false_premise",
    "Out of scope:": "out_of_scope",
}


ALIKE_TYPES = ("factual", "reasoning", "procedural")  # bundled types asked in one call (no field, one excerpt)


def call_group(question_type: str) -> str:
    """The question call a bundled type is asked in, per chunk: alike types share one."""
    return "alike" if question_type in ALIKE_TYPES else question_type


def prompt_types(prompt: str) -> list[str]:
    """The question types a question prompt asks for, one per question or turn, in order."""
    return [
        TYPE_OF[label]
        for label in re.findall(r"(?m)(?:^|: )([A-Z][a-z-]+(?: [a-z]+){0,2}:)", prompt)
        if label in TYPE_OF
    ]


def together_questions(prompt: str) -> list[str]:
    """The questions of a round-trip prompt that asks about several at once, in order."""
    return re.findall(r"(?m)^Question \d+: (.+)$", prompt.split("Which passages answer each", 1)[1])


def between(text: str, tag: str) -> str:
    return text.split(f"<{tag}", 1)[1].split(">\n", 1)[1].split(f"\n</{tag}>", 1)[0]


def scripted_answer(prompt: str, question: str) -> dict[str, Any]:
    """An answer citing (the first of) the passages its question was written from when the prompt names them,
    else the evidence `scripted_evidence` gives its first excerpt."""
    named = re.search(r"The question was written from passages? \[([\d\] and\[]+)\]", prompt)
    quoted = re.findall(r'(?m)^- "(.+)"$', prompt.split("The question was written from:\n", 1)[-1])
    cited: dict[str, Any] = {"evidence": [int(n) for n in re.findall(r"\d+", named.group(1))]} if named else {}
    if quoted and "The question was written from:" in prompt:
        excerpts = excerpts_of(prompt)
        found = next(i for i, text in enumerate(excerpts, 1) if quoted[0] in " ".join(text.split()))
        cited = {"quotes": [quoted[0]] if len(excerpts) == 1 else [{"excerpt": found, "text": quoted[0]}]}
    return {
        **(cited or {name: found[:1] for name, found in scripted_evidence(prompt).items()}),
        "answer": f"From the excerpt: {question}",
    }


class DocumentModel:
    """Questions as many as asked (each quoting its excerpts), answers quoting the first excerpt, a judge
    that passes everything, a closed-book answer; replace `edit`, `answer`, `verdict` or `fail` to script."""

    def __init__(self) -> None:
        # edit(prompt, questions) -> questions: change what a question call returns
        self.edit: Callable[[str, list[dict[str, Any]]], list[dict[str, Any]]] = lambda prompt, questions: questions
        # answer(prompt, question) -> reply: cites the question's passages, or the first excerpt, as the prompt asks
        self.answer: Callable[[str, str], dict[str, Any]] = scripted_answer
        # choose(prompt, question) -> reply: the round trip's passages, those the question was written from
        self.choose: Callable[[str, str], dict[str, Any]] = lambda prompt, question: scripted_choice(prompt)
        self.verdict: Callable[[str, str], dict[str, Any]] = lambda question, question_type: {
            "reason": "fine",
            "answerable": True,
            "grounded": True,
            "self_contained": True,
        }
        self.fail: Callable[[str], bool] = lambda prompt: False
        self.prompts: list[str] = []

    def __call__(self, request: dict[str, Any]) -> Reply:
        text = last_user_text(request)
        self.prompts.append(text)
        if self.fail(text):
            return Reply(status=500, body='{"error": {"message": "model crashed"}}')
        if "Which passages answer the user's question" in text:
            return Reply(content=json.dumps(self.choose(text, text.rsplit("Question: ", 1)[1])))
        if "Which passages answer each of the user's questions" in text:  # each as if asked alone
            shown, questions = text.split("Which passages answer each", 1)[0], together_questions(text)
            return Reply(content=json.dumps({"answers": [self.choose(f"{shown}Question: {q}", q) for q in questions]}))
        if "Answer the user's question" in text:
            return Reply(content=json.dumps(self.answer(text, text.rsplit("Question: ", 1)[1])))
        if text.startswith("Answer the question in"):
            return Reply(content="I think so.")
        if text.startswith("You check one item"):
            question_type = re.search(r'<question type="(\w+)">', text).group(1)  # type: ignore[union-attr]
            verdict = self.verdict(between(text, "question"), question_type)
            if "closed_book_correct" in text:
                verdict = {"closed_book_correct": False, **verdict}
            return Reply(content=json.dumps(verdict))
        return Reply(content=json.dumps({"questions": self.edit(text, scripted_questions(text))}))
