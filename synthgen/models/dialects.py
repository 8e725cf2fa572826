"""Structured-output dialects: how each kind of server is asked for JSON that follows a schema.

- `json_schema`: OpenAI's `response_format={"type": "json_schema", ...}`; also vLLM, SGLang, LM Studio, recent
  llama.cpp servers and Ollama's OpenAI endpoint.
- `llama_cpp`: `response_format={"type": "json_object", "schema": ...}`, the form llama-cpp-python's server and
  older llama.cpp servers take (llama-cpp-python rejects `json_schema`).
- `ollama`: Ollama's native `format=<schema>` (litellm's `ollama`/`ollama_chat` providers pass it through).
- `vllm`: vLLM's `guided_json` extra parameter, for vLLM releases from before it took `json_schema`.
- `json_object`: any JSON object, no schema (the prompt carries the schema).
- `prompt`: nothing but the prompt.

`auto` tries the dialects of `auto_order(model)` in turn; `DialectNegotiator` remembers, for the run, the first
one the server did not reject. Without a constraint the prompt must still describe the reply: `example_instance`
gives an example object to show the model.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any, Literal, get_args

log = logging.getLogger(__name__)

Dialect = Literal["json_schema", "llama_cpp", "ollama", "vllm", "json_object", "prompt"]
DIALECTS: tuple[Dialect, ...] = get_args(Dialect)
OPENAI_COMPATIBLE_ORDER: tuple[Dialect, ...] = ("json_schema", "llama_cpp", "json_object", "prompt")
OLLAMA_ORDER: tuple[Dialect, ...] = ("ollama", "json_object", "prompt")
OLLAMA_PROVIDERS = ("ollama/", "ollama_chat/")

# Words of an error that is about the way structured output was asked for.
_FORMAT_WORDS = re.compile(
    r"response_format|json_schema|json_object|guided_json|guided_decoding|structured.output|grammar|schema|\bformat\b",
    re.IGNORECASE,
)
# Words of a server error (5xx) that is really a rejected request: a validation message, not a crash or overload.
_VALIDATION_WORDS = re.compile(
    r"validation error|input should be|field required|extra inputs are not permitted|literal_error|value_error|"
    r"type_error|cannot unmarshal|must be one of|is required|invalid (?:argument|request|value|type|format)|"
    r"not supported|unsupported|unknown (?:field|parameter)",
    re.IGNORECASE,
)
# Statuses that are never about the request's form: auth, missing model, timeout, rate limit.
_NOT_THE_REQUEST = frozenset({401, 402, 403, 404, 408, 409, 429})
_MAX_DEPTH = 12


def response_kwargs(dialect: Dialect, schema_name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """The extra litellm.acompletion kwargs that ask for a reply following `schema` in `dialect`.

    For `json_schema` pass a strict schema (additionalProperties false, every property required): it is sent
    with strict=true, as OpenAI requires.
    """
    name = re.sub(r"[^A-Za-z0-9_-]", "_", schema_name)[:64] or "reply"
    if dialect == "json_schema":
        return {
            "response_format": {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}
        }
    if dialect == "llama_cpp":
        return {"response_format": {"type": "json_object", "schema": schema}}
    if dialect == "ollama":
        return {"format": schema}
    if dialect == "vllm":
        return {"extra_body": {"guided_json": schema}}
    if dialect == "json_object":
        return {"response_format": {"type": "json_object"}}
    if dialect == "prompt":
        return {}
    raise ValueError(f"unknown structured-output dialect {dialect!r} (one of {', '.join(DIALECTS)})")


def auto_order(model: str) -> tuple[Dialect, ...]:
    """The dialects `auto` tries for a litellm model string, most exact first."""
    return OLLAMA_ORDER if model.startswith(OLLAMA_PROVIDERS) else OPENAI_COMPATIBLE_ORDER


def example_instance(schema: dict[str, Any]) -> Any:
    """An example object that follows `schema`, to show a model in prompt mode: each string is "...", an enum
    its first value, an array one item, every property of an object filled ($ref/$defs, anyOf and allOf
    followed; a schema's own `examples` or `const` used where it has them)."""
    return _example(schema, schema.get("$defs") or schema.get("definitions") or {}, 0)


def _example(node: Any, defs: dict[str, Any], depth: int) -> Any:
    if not isinstance(node, dict) or depth > _MAX_DEPTH:
        return None
    if "$ref" in node:
        return _example(defs.get(str(node["$ref"]).rsplit("/", 1)[-1], {}), defs, depth + 1)
    if "const" in node:
        return node["const"]
    if node.get("examples"):
        return node["examples"][0]
    if node.get("enum"):
        return node["enum"][0]
    for combinator in ("anyOf", "oneOf"):
        if node.get(combinator):
            options = [option for option in node[combinator] if option.get("type") != "null"] or node[combinator]
            return _example(options[0], defs, depth + 1)
    if node.get("allOf"):
        merged: dict[str, Any] = {}
        for part in node["allOf"]:
            merged = _merge(merged, defs.get(str(part["$ref"]).rsplit("/", 1)[-1], {}) if "$ref" in part else part)
        return _example(merged, defs, depth + 1)
    kind = node.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in node:
        return {name: _example(sub, defs, depth + 1) for name, sub in node.get("properties", {}).items()}
    if kind == "array":
        return [_example(node.get("items", {}), defs, depth + 1)]
    return {"string": "...", "integer": 0, "number": 0.0, "boolean": True}.get(str(kind))


def _merge(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    properties = {**left.get("properties", {}), **right.get("properties", {})}
    return {**left, **right, **({"properties": properties} if properties else {})}


def _status(error: BaseException) -> int | None:
    status = getattr(error, "status_code", None)
    return status if isinstance(status, int) else None


def is_format_rejection(error: BaseException) -> bool:
    """Whether `error` says the server does not take the way structured output was asked for: a 4xx/5xx reply
    whose message names response_format, json_schema, format, grammar, schema and the like."""
    status = _status(error)
    if status is None or status < 400 or status in _NOT_THE_REQUEST:
        return False
    return _FORMAT_WORDS.search(str(error)) is not None


def is_request_validation_error(error: BaseException) -> bool:
    """Whether `error` is the server refusing the request itself (asking again cannot help): a 400/413/422, or a
    5xx whose message is a validation message (llama-cpp-python answers a malformed request with a 500)."""
    status = _status(error)
    if status is None or status in _NOT_THE_REQUEST:
        return False
    if status in (400, 413, 422):
        return True
    return status >= 500 and _VALIDATION_WORDS.search(str(error)) is not None


class DialectNegotiator:
    """The dialect to ask a server in, learnt once per run: the first of `order` the server did not reject.

    Each structured call asks in `current()`; when it fails, `rejected(dialect, error)` says whether the failure
    was the server refusing that dialect. If so, the call should be made again in `current()`, which has moved
    on (once, for every call of the run). Calls that failed in a dialect already left behind also get True.
    """

    def __init__(self, order: Sequence[Dialect]) -> None:
        unknown = [dialect for dialect in order if dialect not in DIALECTS]
        if not order or unknown:
            raise ValueError(f"a dialect order needs known dialects ({', '.join(DIALECTS)}), got {list(order)}")
        self.order: tuple[Dialect, ...] = tuple(order)
        self.rejections: dict[Dialect, str] = {}  # each dialect ruled out, with the first line of the server's error
        self._index = 0

    def current(self) -> Dialect:
        """The dialect to ask in now."""
        return self.order[self._index]

    def rejected(self, dialect: Dialect, error: BaseException) -> bool:
        """True if `error` means the server does not speak `dialect`: then ask again in `current()`."""
        if dialect not in self.order or not is_format_rejection(error):
            return False
        position = self.order.index(dialect)
        if position < self._index:
            return True  # another call already moved past it
        if position + 1 >= len(self.order):
            return False  # nothing left to try: the error stands
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:300]
        self.rejections[dialect] = reason
        self._index = position + 1
        log.warning(
            "the server rejected structured output as %s (%s); using %s from now on", dialect, reason, self.current()
        )
        return True
