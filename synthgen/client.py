"""The one model client: every call goes through litellm with bounded concurrency and retries."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import re
from functools import cache
from typing import Any, TypeVar

from aiolimiter import AsyncLimiter
from pydantic import BaseModel, ValidationError

from synthgen.cache import CachedReply, CallCache, call_key
from synthgen.errors import BudgetExhausted, FatalModelError, UserError
from synthgen.settings import LocalModelSettings, ModelSettings
from synthgen.stats import RunStats

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

log = logging.getLogger(__name__)
Schema = TypeVar("Schema", bound=BaseModel)
Messages = list[dict[str, str]]

LOCAL_PREFIX = "synthgen-local/"


class StructuredOutputError(Exception):
    """The model's reply did not match the schema, even after one repair re-ask."""


def import_litellm() -> Any:
    """Import litellm on first use: it is slow to import and only needed when a call is made."""
    import litellm

    litellm.suppress_debug_info = True
    return litellm


def check_model_ready(settings: ModelSettings) -> None:
    """Fail before any work if the model string is unknown or its API key is missing."""
    if settings.model.startswith(LOCAL_PREFIX):
        return
    if settings.alquimia is not None:
        if not os.environ.get(settings.api_key_env or ""):
            variable = settings.api_key_env or "ALQUIMIA_API_KEY"
            raise UserError(
                f"model '{settings.name}' needs the Alquimia API key in the environment "
                f"(fix: export {variable}=... and keep model.api_key_env={variable})"
            )
        return
    litellm = import_litellm()
    try:
        _, provider, _, _ = litellm.get_llm_provider(settings.model, api_base=settings.api_base)
    except Exception:
        raise UserError(
            f"unknown model '{settings.model}': litellm does not know its provider "
            "(fix: set model.model to '<provider>/<model>', e.g. 'openai/gpt-4.1')"
        ) from None
    if settings.api_key_env is not None or settings.api_base is not None and provider in ("openai", "hosted_vllm"):
        return
    missing = litellm.validate_environment(model=settings.model).get("missing_keys", [])
    if missing:
        raise UserError(
            f"model '{settings.name}' needs {', '.join(missing)} in the environment "
            f"(fix: export {missing[0]}=... or choose another model, e.g. model=local)"
        )


def extract_json(text: str) -> Any:
    """Parse JSON from a reply that may wrap it in a code fence, prose, or <think> tags."""
    text = re.sub(r"<think>.*?</think>", "", text, flags=re.DOTALL).strip()
    fenced = re.search(r"```(?:json)?\s*(.*?)```", text, flags=re.DOTALL)
    if fenced:
        text = fenced.group(1).strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        start, end = text.find("{"), text.rfind("}")
        if start == -1 or end <= start:
            raise
        return json.loads(text[start : end + 1])


def parse_structured(text: str, schema: type[Schema]) -> Schema:
    """Validate a reply against `schema`; raises ValueError with a message fit to show the model."""
    try:
        return schema.model_validate(extract_json(text))
    except json.JSONDecodeError as error:
        raise ValueError(f"the reply is not valid JSON ({error.msg} at position {error.pos})") from None
    except ValidationError as error:
        raise ValueError(f"the JSON does not match the schema: {error.errors(include_url=False)}") from None


class ModelClient:
    """Async access to one configured model: concurrency bound, retries with jitter, accounting."""

    def __init__(
        self,
        settings: ModelSettings,
        stats: RunStats,
        cache: CallCache | None = None,
        max_cost_usd: float | None = None,
    ) -> None:
        self.settings = settings
        self.stats = stats
        self.cache = cache
        self.max_cost_usd = max_cost_usd
        self._semaphore = asyncio.Semaphore(settings.max_concurrency)
        # One request per 60/rpm seconds: a steady rate, not a burst of rpm calls then a minute's wait.
        self._requests = AsyncLimiter(1, 60 / settings.rpm) if settings.rpm else None
        self._tokens = AsyncLimiter(settings.tpm, 60) if settings.tpm else None
        self._litellm = import_litellm()
        if settings.model.startswith(LOCAL_PREFIX):
            from synthgen.local_model import register_local_provider

            register_local_provider(settings.local or LocalModelSettings())
        if settings.alquimia is not None:
            from synthgen.alquimia import register_alquimia_provider

            register_alquimia_provider()

    def with_settings(self, settings: ModelSettings) -> ModelClient:
        """A client for another model that shares this one's stats, cache and budget."""
        return ModelClient(settings, self.stats, self.cache, self.max_cost_usd)

    async def text(
        self, messages: Messages, *, stage: str, sample: int = 0, extra_data: dict[str, Any] | None = None
    ) -> str:
        """One completion, returned as stripped text.

        `sample` numbers independent draws of the same prompt: different samples are different calls
        (and, for the seeded local model, different seeds), never one answer repeated. `extra_data`
        is the call's context for an Alquimia agent (keyed in the cache); other models ignore it.
        """
        return await self._complete(messages, stage=stage, response_format=None, sample=sample, extra_data=extra_data)

    async def structured(
        self,
        messages: Messages,
        schema: type[Schema],
        *,
        stage: str,
        sample: int = 0,
        extra_data: dict[str, Any] | None = None,
    ) -> Schema:
        """A completion parsed into `schema`, with one repair re-ask that shows the model its error."""
        messages = self._with_format_instruction(messages, schema)
        response_format = self._response_format(schema)
        reply = await self._complete(
            messages, stage=stage, response_format=response_format, sample=sample, extra_data=extra_data
        )
        try:
            return parse_structured(reply, schema)
        except ValueError as first_error:
            self.stats.stage(stage).repairs += 1
            repair = messages + [
                {"role": "assistant", "content": reply},
                {"role": "user", "content": f"That reply was not usable: {first_error}. Reply again with only "
                 f"a JSON object that matches this JSON schema: {_schema_json(schema)}"},
            ]
            reply = await self._complete(
                repair, stage=stage, response_format=response_format, sample=sample, extra_data=extra_data
            )
            try:
                return parse_structured(reply, schema)
            except ValueError as error:
                raise StructuredOutputError(f"invalid structured output after one repair: {error}") from None

    def _with_format_instruction(self, messages: Messages, schema: type[BaseModel]) -> Messages:
        if self.settings.structured_output == "json_schema":
            return messages
        instruction = (
            "Reply with only a JSON object, no prose and no code fence, matching this JSON schema: "
            + _schema_json(schema)
        )
        return messages[:-1] + [{**messages[-1], "content": messages[-1]["content"] + "\n\n" + instruction}]

    def _response_format(self, schema: type[BaseModel]) -> dict[str, Any] | None:
        mode = self.settings.structured_output
        if mode == "json_schema":
            return {
                "type": "json_schema",
                "json_schema": {"name": schema.__name__, "schema": _strict_schema(schema), "strict": True},
            }
        return {"type": "json_object"} if mode == "json_object" else None

    async def _complete(
        self,
        messages: Messages,
        *,
        stage: str,
        response_format: dict[str, Any] | None,
        sample: int,
        extra_data: dict[str, Any] | None = None,
    ) -> str:
        kwargs = self._call_kwargs(messages, response_format, sample, extra_data)
        counters = self.stats.stage(stage)
        key = call_key(kwargs, sample) if self.cache is not None and self.cache.mode != "off" else None
        if key is not None and (hit := self.cache.get(key)) is not None:  # type: ignore[union-attr]
            counters.cache_hits += 1
            counters.mark()
            return hit.content
        for attempt in range(self.settings.retries + 1):
            try:
                async with self._semaphore:
                    self._check_budget()
                    await self._rate_limit(messages)
                    counters.mark()
                    response = await self._litellm.acompletion(**kwargs)
                    counters.mark()
            except Exception as error:  # classified below: retry, give up on the unit, or stop the run
                counters.mark()
                delay = self._retry_delay(error, attempt)
                if delay is None:
                    raise
                counters.retries += 1
                log.info("retrying %s in %.1fs after %s", self.settings.name, delay, type(error).__name__)
                await asyncio.sleep(delay)
                continue
            reply = self._account(response, stage)
            if key is not None:
                self.cache.put(key, self.settings.model, reply)  # type: ignore[union-attr]
            return reply.content
        raise AssertionError("unreachable: the last attempt either returns or raises")

    async def _rate_limit(self, messages: Messages) -> None:
        """Wait for room under the model's requests- and tokens-per-minute limits, if set."""
        if self._requests is not None:
            await self._requests.acquire()
        if self._tokens is not None:
            estimate = sum(len(m["content"]) for m in messages) // 4 + self.settings.max_tokens
            await self._tokens.acquire(min(estimate, self._tokens.max_rate))

    def _check_budget(self) -> None:
        """Start no new call once the run's spend has reached max_cost_usd."""
        if self.max_cost_usd is not None and self.stats.cost_usd >= self.max_cost_usd:
            raise BudgetExhausted(f"spent ${self.stats.cost_usd:.4f} of max_cost_usd={self.max_cost_usd}")

    def _call_kwargs(
        self,
        messages: Messages,
        response_format: dict[str, Any] | None,
        sample: int,
        extra_data: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        s = self.settings
        kwargs: dict[str, Any] = {
            "model": s.model,
            "messages": messages,
            "temperature": s.temperature,
            "max_tokens": s.max_tokens,
            "timeout": s.timeout,
            "num_retries": 0,
            "max_retries": 0,
        }
        if s.api_base:
            kwargs["api_base"] = s.api_base
        if s.api_key_env:
            kwargs["api_key"] = os.environ.get(s.api_key_env) or "not-needed"
        if response_format is not None:
            kwargs["response_format"] = response_format
        if s.local is not None or s.model.startswith(LOCAL_PREFIX):
            kwargs["seed"] = (s.local.seed if s.local else 0) + sample
        if s.alquimia is not None:  # read by synthgen.alquimia; keyed, so each context and sample is its own entry
            kwargs["alquimia"] = {**s.alquimia.model_dump(), "extra_data": extra_data or {}, "sample": sample}
        return kwargs

    def _retry_delay(self, error: Exception, attempt: int) -> float | None:
        """Seconds to wait before retrying, None to give up; fatal errors stop the whole run."""
        litellm = self._litellm
        if isinstance(error, (litellm.AuthenticationError, litellm.PermissionDeniedError)):
            raise FatalModelError(
                f"model '{self.settings.name}' rejected the API key: {_first_line(error)} "
                "(fix: export a valid key for this provider)"
            ) from None
        if isinstance(error, litellm.NotFoundError):
            raise FatalModelError(
                f"model '{self.settings.model}' was not found: {_first_line(error)} (fix: check model.model)"
            ) from None
        retryable = (
            litellm.RateLimitError, litellm.Timeout, litellm.APIConnectionError, litellm.InternalServerError,
            litellm.ServiceUnavailableError, litellm.BadGatewayError,
        )
        if not isinstance(error, retryable) or attempt >= self.settings.retries:
            return None
        wait = min(self.settings.backoff_max, self.settings.backoff_base * 2**attempt)
        retry_after = _retry_after_seconds(error)
        if retry_after is not None:
            return min(self.settings.backoff_max, retry_after)
        return wait * random.uniform(0.5, 1.5)

    def _account(self, response: Any, stage: str) -> CachedReply:
        """Count the call's tokens and cost into the stage; return what the cache keeps."""
        usage = getattr(response, "usage", None)
        reply = CachedReply(
            content=(response.choices[0].message.content or "").strip(),
            prompt_tokens=(usage.prompt_tokens or 0) if usage is not None else 0,
            completion_tokens=(usage.completion_tokens or 0) if usage is not None else 0,
            cost_usd=self._cost(response),
        )
        counters = self.stats.stage(stage)
        counters.calls += 1
        counters.prompt_tokens += reply.prompt_tokens
        counters.completion_tokens += reply.completion_tokens
        counters.cost_usd += reply.cost_usd
        return reply

    def _cost(self, response: Any) -> float:
        hidden = getattr(response, "_hidden_params", {})
        cost = hidden.get("response_cost")
        if cost is None and "response_cost" not in hidden:  # litellm already tried: the model has no price
            try:
                cost = self._litellm.completion_cost(completion_response=response)
            except Exception:  # models without a price entry (local servers) cost nothing known
                cost = 0.0
        return float(cost or 0.0)


@cache
def _schema_json(schema: type[BaseModel]) -> str:
    return json.dumps(schema.model_json_schema())


@cache
def _strict_schema(schema: type[BaseModel]) -> dict[str, Any]:
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


def _retry_after_seconds(error: Exception) -> float | None:
    headers = getattr(error, "litellm_response_headers", None) or getattr(
        getattr(error, "response", None), "headers", None
    )
    value = headers.get("retry-after") if headers else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:300]
