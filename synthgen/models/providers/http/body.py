"""The HTTP assistant's request body: a Jinja template whose values are JSON-escaped, and the answer's path."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jinja2

# What a body template may use, with the values a check renders it with.
SAMPLE = {
    "query": 'a "question"\nwith {braces}',
    "session_id": "session-1",
    "history": [{"role": "user", "content": "earlier"}, {"role": "assistant", "content": "answer"}],
    "context": "",
    "agentic": {"question_type": "factual"},
}


def _json_value(value: Any) -> str:
    """A string as JSON string content (put it between quotes in the template); anything else as JSON."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)[1:-1]
    return json.dumps(value, ensure_ascii=False)


@cache
def _template(body: str) -> jinja2.Template:
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, finalize=_json_value)
    return environment.from_string(body)


def render_body(body: str, **values: Any) -> Any:
    """The JSON request body: `body` rendered with `values` (strings escaped, lists and objects as JSON)."""
    return json.loads(_template(body).render(**values))


def check_body(body: str) -> None:
    """Raise ValueError naming the fix unless `body` renders to JSON with the variables of SAMPLE."""
    try:
        render_body(body, **SAMPLE)
    except jinja2.TemplateSyntaxError as error:
        raise ValueError(f"not a Jinja template: {error.message}") from None
    except jinja2.UndefinedError as error:
        raise ValueError(f"{error.message} (fix: use only {', '.join(SAMPLE)})") from None
    except json.JSONDecodeError as error:
        raise ValueError(
            f'does not render to JSON ({error.msg}): strings go between quotes, e.g. "{{{{ query }}}}", lists '
            "and objects without, e.g. {{ history }}"
        ) from None


def answer_at(data: Any, path: str) -> Any:
    """The value at the dotted `path` of a JSON reply (`data.text`, `choices.0.message.content`); KeyError if none."""
    node = data
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.lstrip("-").isdigit() and -len(node) <= int(part) < len(node):
            node = node[int(part)]
        else:
            raise KeyError(part)
    return node
