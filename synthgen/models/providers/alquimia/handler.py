"""Alquimia agents as a litellm custom provider: model strings "alquimia/<agent_id>".

One call speaks the protocol of the `alquimia-client` package:

1. `POST {base}/event/infer/{channel_id}/{agent_id}?chat_history=N&agentspace=S` with
   `{"query", "session_id", "extra_data", "attachments": []}`, answered with `{"stream_id": ...}`;
2. `GET {base}/event/stream/{stream_id}?response_only=true` (Server-Sent Events): each `data:` line
   is one JSON event, the answer is `response.data.content` of the last one.

`{base}` is `base_url`, plus `/{api_version}` when set. ModelClient puts the call's settings under
the `alquimia` kwarg (the AlquimiaSettings fields, the caller's `extra_data` and the `sample`), so
all of it is part of the cache key; the key travels as litellm's `api_key`, which is not.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import json
import re
from typing import Any

import httpx
import litellm
from litellm import CustomLLM, ModelResponse

from synthgen.models.providers.http_client import http_client
from synthgen.models.providers.http_errors import raise_for_status
from synthgen.models.structured import extract_json

ALQUIMIA_PROVIDER = "alquimia"
_PARAMS = "alquimia"  # the litellm kwarg ModelClient fills for Alquimia models
_LIST_MARKER = re.compile(r"^(?:\d+[.)]|[-*•])\s*")


class AlquimiaLLM(CustomLLM):
    """litellm handler that sends the last message to an Alquimia agent and reads its answer stream."""

    async def acompletion(  # type: ignore[override]
        self,
        model: str,
        messages: list,
        model_response: ModelResponse,
        optional_params: dict,
        api_key: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        **_: Any,
    ) -> ModelResponse:
        """One agent answer (litellm.acompletion); failures are raised as litellm errors."""
        params = optional_params[_PARAMS]
        extra_data = {"date": datetime.date.today().isoformat(), **params["extra_data"]}
        seconds = timeout.read if isinstance(timeout, httpx.Timeout) else timeout
        try:
            async with asyncio.timeout(seconds):
                answer = await _ask(model, messages, params, extra_data, api_key or "", seconds)
        except (TimeoutError, httpx.TimeoutException):
            raise litellm.Timeout(
                message=f"Alquimia agent '{model}' did not answer within {seconds}s (raise model.timeout)",
                model=model,
                llm_provider=ALQUIMIA_PROVIDER,
            ) from None
        except httpx.TransportError as error:
            raise litellm.APIConnectionError(
                message=f"cannot reach Alquimia at {params['base_url']}: {error!r}",
                model=model,
                llm_provider=ALQUIMIA_PROVIDER,
            ) from None
        model_response.choices[0].message.content = (
            as_question_list(answer) if _asks_for_questions(extra_data) else answer
        )
        model_response.model = f"{ALQUIMIA_PROVIDER}/{model}"
        return model_response


async def _ask(
    agent_id: str,
    messages: list,
    params: dict[str, Any],
    extra_data: dict[str, Any],
    api_key: str,
    seconds: float | None,
) -> str:
    """Start the inference, then follow its event stream to the end; the last event's content."""
    base = params["base_url"].rstrip("/") + (f"/{params['api_version'].strip('/')}" if params["api_version"] else "")
    payload = {
        "query": messages[-1]["content"],
        # A caller's session (a trial's conversation) travels in extra_data, as Fair-Forge's runner passes it.
        "session_id": extra_data.pop("session_id", None) or session_id(agent_id, messages, params),
        "extra_data": extra_data,
        "attachments": [],
    }
    headers = {"Authorization": f"Bearer {api_key}"}
    async with http_client(seconds, headers=headers) as http:
        url = f"{base}/event/infer/{params['channel_id']}/{agent_id}"
        reply = await http.post(
            url, json=payload, params={"chat_history": params["chat_history"], "agentspace": params["agentspace"]}
        )
        raise_for_status(reply, agent_id, ALQUIMIA_PROVIDER, "Alquimia")
        stream_id = _json_object(reply.text).get("stream_id")
        if not stream_id:
            raise litellm.BadGatewayError(
                message=f"Alquimia gave no stream_id for POST {url}: {reply.text[:200]!r}",
                model=agent_id,
                llm_provider=ALQUIMIA_PROVIDER,
            )
        answer = ""
        url = f"{base}/event/stream/{stream_id}"
        async with http.stream(
            "GET", url, params={"response_only": "true"}, headers={"Accept": "text/event-stream"}
        ) as stream:
            if stream.status_code == 404:  # the inference exists, its stream is gone: a server fault, not setup
                raise litellm.BadGatewayError(
                    message=f"Alquimia lost stream {stream_id} (HTTP 404 for GET {url})",
                    model=agent_id,
                    llm_provider=ALQUIMIA_PROVIDER,
                )
            if stream.is_error:
                await stream.aread()
                raise_for_status(stream, agent_id, ALQUIMIA_PROVIDER, "Alquimia")
            async for line in stream.aiter_lines():
                content = _event_content(line[5:]) if line.startswith("data:") else None
                if content is not None:
                    answer = content
    if not answer.strip():
        raise litellm.BadGatewayError(
            message=f"Alquimia agent '{agent_id}' gave an empty answer (stream {stream_id})",
            model=agent_id,
            llm_provider=ALQUIMIA_PROVIDER,
        )
    return answer


def session_id(agent_id: str, messages: list, params: dict[str, Any]) -> str:
    """A stable session per call and its repair re-ask: the agent's chat history never mixes units.

    Derived from the first message (a repair re-ask keeps it and sends its follow-up in the same
    session, so the agent sees the reply it is asked to fix), the endpoint, extra_data and sample.
    """
    identity = json.dumps([agent_id, messages[0], params], sort_keys=True, ensure_ascii=False, default=str)
    return "synthgen-" + hashlib.sha256(identity.encode("utf-8")).hexdigest()[:32]


def as_question_list(answer: str) -> str:
    """A question call's reply as `{"questions": [...]}` where its shape makes them clear.

    Plain text gives its lines ending in '?' (list markers dropped); Fair-Forge's JSON shapes
    (`{"queries": [{"query": ...}]}`, `{"turns": [{"query": ...}]}`) give their queries. Anything
    else is returned unchanged, for the client's parse and repair re-ask.
    """
    try:
        data = extract_json(answer)
    except json.JSONDecodeError:
        lines = (_LIST_MARKER.sub("", line.strip()) for line in answer.splitlines())
        questions = [line for line in lines if line.endswith("?")]
    else:
        questions = _fair_forge_queries(data)
    return json.dumps({"questions": questions}, ensure_ascii=False) if questions else answer


def register_alquimia_provider() -> None:
    """Route "alquimia/..." models to the Alquimia handler; idempotent."""
    others = [item for item in litellm.custom_provider_map if item["provider"] != ALQUIMIA_PROVIDER]
    litellm.custom_provider_map = [*others, {"provider": ALQUIMIA_PROVIDER, "custom_handler": AlquimiaLLM()}]
    litellm.utils.custom_llm_setup()


def _asks_for_questions(extra_data: dict[str, Any]) -> bool:
    """The question stage's extra_data names a count; only its replies get the plain-text fallback."""
    return "num_queries" in extra_data or "num_turns" in extra_data


def _fair_forge_queries(data: Any) -> list[str]:
    """The `query` of each item of a Fair-Forge `queries` or `turns` list; [] for other JSON."""
    items = (data.get("queries") or data.get("turns")) if isinstance(data, dict) else None
    if not isinstance(items, list):
        return []
    return [item["query"] for item in items if isinstance(item, dict) and isinstance(item.get("query"), str)]


def _event_content(data: str) -> str | None:
    """`response.data.content` of one SSE event, None for events without it or that are not JSON."""
    node: Any = _json_object(data)
    for key in ("response", "data", "content"):
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, str) else None


def _json_object(text: str) -> dict[str, Any]:
    """A JSON object, or {} for anything else."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}
