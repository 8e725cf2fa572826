"""Structured output: JSON schemas sent to providers, and tolerant parsing of replies into pydantic models."""

from __future__ import annotations

import json
import re
from functools import cache, lru_cache
from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError

Schema = TypeVar("Schema", bound=BaseModel)
# Every string bound stays below this: llama.cpp's grammar sampler refuses the grammar of a longer `maxLength` (the
# nested optional rules that bound a string count against its repetition limit; llama-cpp-python 0.3.36 loads
# 1,000 and refuses 1,100), and the embedded model then crashes.
REPETITION_LIMIT = 1001
# The bound of a free-text string no field sized: a long paragraph. A reply schema's fields size their own
# (`text_field`); this only keeps a field nobody sized from running on.
DEFAULT_MAX_CHARS = 1000


class StructuredOutputError(Exception):
    """The model's reply did not match the schema, even after one repair re-ask."""


def extract_json(text: str) -> Any:
    """Parse JSON from a reply that may wrap it in a code fence, prose, or <think> tags. Raw control characters
    inside strings (a literal newline or tab, as small models and some grammars write) are accepted."""
    text = re.sub(r"<think>.*?</think>", "", text, flags=re.DOTALL).strip()
    fenced = re.search(r"```(?:json)?\s*(.*?)```", text, flags=re.DOTALL)
    if fenced:
        text = fenced.group(1).strip()
    try:
        return json.loads(text, strict=False)
    except json.JSONDecodeError:
        start, end = text.find("{"), text.rfind("}")
        if start == -1 or end <= start:
            raise
        return json.loads(text[start : end + 1], strict=False)


def parse_structured(text: str, schema: type[Schema]) -> Schema:
    """Validate a reply against `schema`; raises ValueError with a message fit to show the model."""
    try:
        return schema.model_validate(extract_json(text))
    except json.JSONDecodeError as error:
        raise ValueError(f"the reply is not valid JSON ({error.msg} at position {error.pos})") from None
    except ValidationError as error:
        raise ValueError(f"the JSON does not match the schema: {error.errors(include_url=False)}") from None


def text_field(max_chars: int, description: str | None = None) -> Any:
    """A reply schema's string field of at most `max_chars` characters: the bound is in the JSON schema sent
    (`maxLength`, which constrained decoding enforces, so a model looping inside the string stops there), not a
    validation rule, so a longer string from an unconstrained model is still parsed."""
    if not 0 < max_chars < REPETITION_LIMIT:
        raise ValueError(f"a string bound must be between 1 and {REPETITION_LIMIT - 1}, not {max_chars}")
    return Field(description=description, json_schema_extra={"maxLength": max_chars})


def unbounded_strings(schema: dict[str, Any], path: str = "$") -> list[str]:
    """The paths of the free-text strings in a JSON schema that no `maxLength` (under REPETITION_LIMIT) bounds;
    an enum or const is bounded by its values."""
    found: list[str] = []
    free = schema.get("type") == "string" and "enum" not in schema and "const" not in schema
    if free and not 0 < schema.get("maxLength", REPETITION_LIMIT) < REPETITION_LIMIT:
        found.append(path)
    for key, value in schema.items():
        if isinstance(value, dict):
            found += unbounded_strings(value, f"{path}.{key}")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    found += unbounded_strings(item, f"{path}.{key}[{i}]")
    return found


@cache
def schema_json(schema: type[BaseModel]) -> str:
    """The JSON schema of `schema` as compact text, for prompts."""
    return json.dumps(schema.model_json_schema())


@lru_cache(maxsize=1024)  # document modes with model.quote_choices make a schema per chunk
def strict_schema(schema: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema with additionalProperties false everywhere, as strict providers require, and every
    free-text string bounded (DEFAULT_MAX_CHARS where its field set no `maxLength`)."""
    data = schema.model_json_schema()

    def close(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object":
                node.setdefault("additionalProperties", False)
                node.setdefault("required", list(node.get("properties", {})))
            if node.get("type") == "string" and "enum" not in node and "const" not in node:
                node.setdefault("maxLength", DEFAULT_MAX_CHARS)
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    close(data)
    return data
