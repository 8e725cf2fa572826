"""HTTP assistants as a litellm custom provider: model strings "synthgen_http/<name>".

One call is one request: the body template rendered with the last message as `query`, the earlier messages (the
assistant's own answers among them) as `history`, a system message as `context`, the caller's `session_id` and
`agentic` data; the answer is read at `answer_path` of the JSON reply. ModelClient puts the request's shape under
the `synthgen_http` kwarg, so all of it is part of the cache key; header values are read from the environment here.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from typing import Any

import httpx
import litellm
from litellm import CustomLLM, ModelResponse

from synthgen.models.providers.http import HTTP_PROVIDER
from synthgen.models.providers.http.body import answer_at, render_body
from synthgen.models.providers.http_client import http_client
from synthgen.models.providers.http_errors import raise_for_status


class HttpLLM(CustomLLM):
    """litellm handler that sends one rendered request to an HTTP assistant and reads its answer."""

    async def acompletion(  # type: ignore[override]
        self,
        model: str,
        messages: list,
        model_response: ModelResponse,
        optional_params: dict,
        timeout: float | httpx.Timeout | None = None,
        **_: Any,
    ) -> ModelResponse:
        """One answer (litellm.acompletion); failures are raised as litellm errors."""
        params = optional_params[HTTP_PROVIDER]
        seconds = timeout.read if isinstance(timeout, httpx.Timeout) else timeout
        try:
            async with asyncio.timeout(seconds):
                answer = await _ask(model, messages, params, seconds)
        except (TimeoutError, httpx.TimeoutException):
            raise litellm.Timeout(
                message=f"HTTP assistant '{model}' did not answer within {seconds}s (raise model.timeout)",
                model=model,
                llm_provider=HTTP_PROVIDER,
            ) from None
        except httpx.TransportError as error:
            raise litellm.APIConnectionError(
                message=f"cannot reach the HTTP assistant at {params['url']}: {error!r}",
                model=model,
                llm_provider=HTTP_PROVIDER,
            ) from None
        model_response.choices[0].message.content = answer
        model_response.model = f"{HTTP_PROVIDER}/{model}"
        return model_response


def request_values(messages: list, params: dict[str, Any]) -> dict[str, Any]:
    """The body template's variables for one call."""
    extra = dict(params["extra_data"])
    system = [message["content"] for message in messages if message["role"] == "system"]
    turns = [{"role": m["role"], "content": m["content"]} for m in messages if m["role"] != "system"]
    return {
        "query": turns[-1]["content"],
        "history": turns[:-1],
        "context": "\n\n".join(system),
        "session_id": extra.pop("session_id", None) or _session_id(turns, params),
        "agentic": extra.get("agentic", extra),
    }


async def _ask(model: str, messages: list, params: dict[str, Any], seconds: float | None) -> str:
    body = render_body(params["body"], **request_values(messages, params))
    headers = {name: os.environ.get(variable, "") for name, variable in params["header_variables"].items()}
    async with http_client(seconds) as http:
        reply = await http.request(params["method"], params["url"], json=body, headers=headers)
    raise_for_status(reply, model, HTTP_PROVIDER, "the HTTP assistant")
    try:
        answer = answer_at(reply.json(), params["answer_path"])
    except (json.JSONDecodeError, KeyError) as error:
        missing = f"no '{error.args[0]}' on the way to" if isinstance(error, KeyError) else "not JSON, so no"
        raise litellm.BadGatewayError(
            message=f"the HTTP assistant's reply has {missing} answer_path={params['answer_path']}: "
            f"{reply.text[:200]!r} (fix: set model.answer_path to the dotted path of the answer)",
            model=model,
            llm_provider=HTTP_PROVIDER,
        ) from None
    text = answer if isinstance(answer, str) else json.dumps(answer, ensure_ascii=False)
    if not text.strip():
        raise litellm.BadGatewayError(
            message=f"the HTTP assistant gave an empty answer at {params['answer_path']}",
            model=model,
            llm_provider=HTTP_PROVIDER,
        )
    return text


def _session_id(turns: list[dict[str, str]], params: dict[str, Any]) -> str:
    """A stable session per conversation without one given: the first message and the request's shape."""
    identity = json.dumps([turns[0], params["url"], params["sample"]], sort_keys=True, ensure_ascii=False)
    return "synthgen-" + hashlib.sha256(identity.encode("utf-8")).hexdigest()[:32]


def register_http_provider() -> None:
    """Route "synthgen_http/..." models to the HTTP handler; idempotent."""
    others = [item for item in litellm.custom_provider_map if item["provider"] != HTTP_PROVIDER]
    litellm.custom_provider_map = [*others, {"provider": HTTP_PROVIDER, "custom_handler": HttpLLM()}]
    litellm.utils.custom_llm_setup()
