"""Prompt files render strictly, and document text is data: nothing in it is evaluated."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthgen.core.errors import UserError
from synthgen.pipelines.prompts import PROMPTS_DIR, render_prompt

HOSTILE = (
    "Config uses {{ user.name }} and {% if x %}yes{% endif %} and {# note #}.\n"
    "```python\n# comment\nprint({'a': 1}[\"a\"])\n```\n"
    "Literal }} and {{ and {%- raw %} and ${oc.env:HOME} stay as they are."
)


def _render(prompt: str, text: str, cite: str = "none") -> str:
    return render_prompt(
        prompt,
        count=2,
        language="german",
        seed_examples=["Wie geht das?"],
        written=[],
        excerpts=[{"number": 1, "document": "doc.md", "header": "Guide > Install", "text": text}],
        instructions="Factual: one fact.",
        slots=[
            {
                "number": 1,
                "type": "factual",
                "persona": "a new user",
                "difficulty": "hard",
                "passages": [3],
                "stated": ["{{ x }}"],
            },
            {"number": 2, "type": None, "persona": None, "difficulty": None, "passages": [], "stated": []},
        ],
        answerable=True,
        fields={"situation": "the user's situation"},
        persona="a new user",
        turns=[{"number": 1, "difficulty": None, "instructions": "Factual: one fact.", "passages": [3]}],
        cite=cite,
    )


@pytest.mark.parametrize("cite", ["none", "number", "text"])
@pytest.mark.parametrize("prompt", ["queries.j2", "conversation.j2"])
def test_hostile_document_text_reaches_the_prompt_unchanged(prompt: str, cite: str) -> None:
    rendered = _render(prompt, HOSTILE, cite)
    assert HOSTILE in rendered
    assert "answered by passage [3]" in rendered  # a slot's passages, evidence first
    assert ('"evidence": first' in rendered) == (cite == "number") and ('"quotes": first' in rendered) == (
        cite == "text"
    )
    assert "german" in rendered and "Wie geht das?" in rendered and "Guide > Install" in rendered


def test_answer_prompt_carries_history_and_question() -> None:
    rendered = render_prompt(
        "answer.j2",
        language="english",
        excerpts=[{"number": 1, "document": "d.md", "header": "", "text": HOSTILE}],
        instructions="",
        notes={},
        answerable=True,
        history=[{"query": "What is {{ x }}?", "answer": "It is {% y %}."}],
        question="And {{ z }}?",
        cite="number",
        evidence=[2],
    )
    assert HOSTILE in rendered and "What is {{ x }}?" in rendered and "It is {% y %}." in rendered
    assert rendered.endswith("Question: And {{ z }}?") and "written from passage [2]" in rendered


def test_misspelt_variable_in_a_user_prompt_is_an_error(tmp_path: Path) -> None:
    custom = tmp_path / "mine.j2"
    custom.write_text("Write {{ cuont }} questions about {{ text }}")
    with pytest.raises(UserError, match="cuont"):
        _render(str(custom), "anything")


def test_user_prompt_file_is_used_and_missing_one_is_clear(tmp_path: Path) -> None:
    custom = tmp_path / "mine.j2"
    custom.write_text("{{ count }} in {{ language }}: {{ excerpts[0].text }}")
    assert _render(str(custom), "{{ body }}") == "2 in german: {{ body }}"
    with pytest.raises(UserError, match=r"prompt file not found: nope\.j2"):
        _render("nope.j2", "x")


def test_bundled_prompts_exist() -> None:
    assert {p.name for p in PROMPTS_DIR.glob("*.j2")} >= {
        "queries.j2",
        "conversation.j2",
        "answer.j2",
        "document_judge.j2",
        "closed_book.j2",
    }
