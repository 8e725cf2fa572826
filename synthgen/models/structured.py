"""Structured output: JSON schemas sent to providers, and tolerant parsing of replies into pydantic models."""

from __future__ import annotations

import json
import re
from functools import cache, lru_cache
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

Schema = TypeVar("Schema", bound=BaseModel)


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


@cache
def schema_json(schema: type[BaseModel]) -> str:
    """The JSON schema of `schema` as compact text, for prompts."""
    return json.dumps(schema.model_json_schema())


@lru_cache(maxsize=1024)  # document modes with model.quote_choices make a schema per chunk
def strict_schema(schema: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema with additionalProperties false everywhere, as strict providers require."""
    data = schema.model_json_schema()

    def close(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object":
                node.setdefault("additionalProperties", False)
                node.setdefault("required", list(node.get("properties", {})))
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    close(data)
    return data
