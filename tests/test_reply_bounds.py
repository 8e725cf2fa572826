"""Every string in every reply schema is bounded (`maxLength`, under llama.cpp's repetition limit), so constrained
decoding cannot run on inside one: checked on the schemas the pipelines actually send (recorded by the fake
server, whatever the stages and their schemas are), and through llama-cpp-python's own schema-to-grammar
conversion."""

from __future__ import annotations

import atexit
import functools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from llama_cpp import llama_grammar
from pydantic import BaseModel

from synthgen.models.providers.local.weights import default_model_path
from synthgen.models.structured import DEFAULT_MAX_CHARS, REPETITION_LIMIT, strict_schema, text_field, unbounded_strings
from tests.fake_documents import DocumentModel
from tests.fake_openai import FakeOpenAI
from tests.test_document_checks import run
from tests.test_facts_pipeline import FactsModel, run_in_process

# A grammar rule that repeats a string character without end: what an unbounded string becomes.
_UNBOUNDED_CHARS = re.compile(r"\bchar\*")


class Loose(BaseModel):
    """Strings of every shape a reply schema uses, none of them sized."""

    name: str
    notes: list[str]
    maybe: str | None
    choice: str = text_field(40)


def sent_schemas(server: FakeOpenAI) -> dict[str, dict[str, Any]]:
    """The reply schemas the server was asked for, by name (json_schema dialect)."""
    found = {}
    for request in server.requests:
        response_format = request.get("response_format") or {}
        if response_format.get("type") == "json_schema":
            schema = response_format["json_schema"]
            found[json.dumps(schema["schema"], sort_keys=True)] = schema
    return {f"{schema['name']}#{i}": schema["schema"] for i, schema in enumerate(found.values())}


@functools.cache
def embedded_vocab() -> Any:
    """The embedded model's vocabulary (no weights loaded), which llama.cpp's grammar sampler needs."""
    import llama_cpp

    model = llama_cpp.Llama(str(default_model_path()), vocab_only=True, verbose=False)
    atexit.register(model.close)
    return model, llama_cpp.llama_model_get_vocab(model._model.model)


def grammar_loads(grammar: str) -> bool:
    """Whether llama.cpp's own grammar sampler accepts `grammar` (it refuses rules past its limits, and the
    embedded model then crashes on the call)."""
    import llama_cpp

    sampler = llama_cpp.llama_sampler_init_grammar(embedded_vocab()[1], grammar.encode(), b"root")
    if sampler:
        llama_cpp.llama_sampler_free(sampler)
    return bool(sampler)


def assert_bounded(schemas: dict[str, dict[str, Any]]) -> None:
    """No free-text string unbounded, in the schema nor in llama-cpp-python's grammar for it, and llama.cpp's
    grammar sampler loads that grammar."""
    assert schemas
    for name, schema in schemas.items():
        assert unbounded_strings(schema) == [], name
        grammar = llama_grammar.json_schema_to_gbnf(json.dumps(schema))
        assert not _UNBOUNDED_CHARS.search(grammar), name
        assert grammar_loads(grammar), name


def test_the_largest_bound_allowed_loads_in_llama_cpp_and_a_larger_one_does_not() -> None:
    def grammar(max_chars: int) -> str:
        return llama_grammar.json_schema_to_gbnf(json.dumps({"type": "string", "maxLength": max_chars}))

    assert grammar_loads(grammar(REPETITION_LIMIT - 1))
    assert not grammar_loads(grammar(REPETITION_LIMIT + 200))


def test_strict_schema_bounds_every_string_no_field_sized() -> None:
    raw = Loose.model_json_schema()
    assert sorted(unbounded_strings(raw)) == [
        "$.properties.maybe.anyOf[0]",
        "$.properties.name",
        "$.properties.notes.items",
    ]
    sent = strict_schema(Loose)
    assert unbounded_strings(sent) == []
    assert sent["properties"]["name"]["maxLength"] == DEFAULT_MAX_CHARS
    assert sent["properties"]["choice"]["maxLength"] == 40  # a field's own bound is kept


def test_a_bound_must_stay_under_the_grammar_repetition_limit() -> None:
    with pytest.raises(ValueError, match=f"between 1 and {REPETITION_LIMIT - 1}"):
        text_field(REPETITION_LIMIT)
    assert unbounded_strings({"type": "string", "maxLength": REPETITION_LIMIT}) == ["$"]


def test_the_grammar_of_a_bounded_string_repeats_a_character_at_most_its_bound() -> None:
    """llama-cpp-python turns maxLength into nested optional characters: N of them and no unbounded `char*`."""
    grammar = llama_grammar.json_schema_to_gbnf(json.dumps(strict_schema(Loose)))
    assert _UNBOUNDED_CHARS.search(llama_grammar.json_schema_to_gbnf(json.dumps(Loose.model_json_schema())))
    assert not _UNBOUNDED_CHARS.search(grammar)
    choice_rule = next(line for line in grammar.splitlines() if line.startswith("choice ::="))
    assert choice_rule.count("char") == 40


def test_every_schema_the_document_modes_send_is_bounded(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.responder = DocumentModel()
    judged = ("mode.answers=true", "mode.judge.enabled=true", "mode.judge.closed_book=true")
    run(fake_openai, tmp_path, *judged, name="queries")
    run(fake_openai, tmp_path, *judged, "model.quote_choices=true", name="evidence_first")
    run(fake_openai, tmp_path, *judged, "model.quote_choices=true", "mode.evidence.cite=text", name="choices")
    run(fake_openai, tmp_path, "mode.answers=true", "mode.evidence.cite=text", name="copied")
    run(fake_openai, tmp_path, "mode=conversation", "mode.answers=true", name="conversation")
    schemas = sent_schemas(fake_openai)
    names = {name.split("#")[0] for name in schemas}
    assert {"QuestionList", "Answer", "RoundTrip", "ClosedBookJudgement"} <= names
    assert_bounded(schemas)


def test_every_schema_facts_mode_sends_is_bounded(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.responder = FactsModel()
    assert run_in_process(fake_openai, tmp_path / "facts", "limit=2") == 0
    schemas = sent_schemas(fake_openai)
    assert {name.split("#")[0] for name in schemas} == {"QuestionVariation", "Verdict"}
    assert_bounded(schemas)
