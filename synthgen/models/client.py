"""The one model client: every call goes through the call cache, then litellm with bounded concurrency and retries."""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from typing import Any

from aiolimiter import AsyncLimiter
from pydantic import BaseModel

from synthgen.core.errors import BudgetExhausted, CallsStopped, FatalModelError, ModelUnreachable
from synthgen.models.cache import CachedReply, CallCache, call_key
from synthgen.models.providers.base import LiteLLMModel, import_litellm
from synthgen.models.structured import Schema, StructuredOutputError, parse_structured, schema_json, strict_schema
from synthgen.models.usage import Usage

log = logging.getLogger(__name__)
Messages = list[dict[str, str]]
# A reply cut off at max_tokens (a model looping inside its reply, typically) is never repaired nor cached: it is
# drawn again, at most REDRAWS times, as draw `draw + k * REDRAW_STRIDE`: a new seed and cache key, beyond any draw
# number a plan uses.
REDRAWS = 2
REDRAW_STRIDE = 1 << 20


class _Truncated(Exception):
    """The reply stopped at max_tokens (finish_reason `length`)."""


class TruncatedReply(StructuredOutputError):
    """Every draw of a call was cut off at max_tokens: no usable reply (a structured output error for callers)."""


_REDRAW = 1_000_003  # the draw offset of a call asked again after an unusable reply: far from every ordinary draw


class ModelClient:
    """Async access to one configured model: cache, concurrency bound, rate limits, retries with jitter, accounting.

    litellm is imported, and the provider registered and checked (key, model string), only when a call misses
    the cache: a rerun served from the cache never pays for either.
    """

    def __init__(
        self,
        provider: LiteLLMModel,
        stats: Usage,
        cache: CallCache | None = None,
        max_cost_usd: float | None = None,
    ) -> None:
        self.settings = provider
        self.stats = stats
        self.cache = cache
        self.max_cost_usd = max_cost_usd
        self._semaphore = asyncio.Semaphore(provider.max_concurrency)
        # One request per 60/rpm seconds: a steady rate, not a burst of rpm calls then a minute's wait.
        self._requests = AsyncLimiter(1, 60 / provider.rpm) if provider.rpm else None
        self._tokens = AsyncLimiter(provider.tpm, 60) if provider.tpm else None
        self._litellm: Any = None
        self._ready = asyncio.Lock()
        self._stopping = threading.Event()  # set by `stop`, shared with the `for_model` clients
        self._answered = False  # whether this model has answered once: a refused connection is then worth a retry

    def for_model(self, provider: LiteLLMModel) -> ModelClient:
        """A client for another model that shares this one's stats, cache, budget and stop."""
        client = ModelClient(provider, self.stats, self.cache, self.max_cost_usd)
        client._stopping = self._stopping
        return client

    def stop(self) -> None:
        """Start no new call from now on (the run was interrupted): a call not yet sent raises CallsStopped."""
        self._stopping.set()

    async def text(
        self,
        messages: Messages,
        *,
        stage: str,
        draw: int = 0,
        extra_data: dict[str, Any] | None = None,
        max_tokens: int | None = None,
    ) -> str:
        """One completion, returned as stripped text.

        `draw` numbers independent draws of the same prompt: different draws are different calls (and, for
        seeded models, different seeds), never one answer repeated. `extra_data` is the call's context for an
        agent provider (keyed in the cache); other providers ignore it. `max_tokens` is the call's output budget,
        sized from what it asks for; the model's `max_tokens` stays the ceiling. A reply cut off at the limit is
        drawn again.
        """
        reply, _ = await self._untruncated(messages, stage, None, draw, extra_data, max_tokens)
        return reply

    async def structured(
        self,
        messages: Messages,
        schema: type[Schema],
        *,
        stage: str,
        draw: int = 0,
        extra_data: dict[str, Any] | None = None,
        max_tokens: int | None = None,
    ) -> Schema:
        """A completion parsed into `schema`, with one repair re-ask that shows the model its error.

        Arguments as for `text`; a reply cut off at max_tokens is drawn again, not repaired.
        """
        messages = self._with_format_instruction(messages, schema)
        response_format = self._response_format(schema)
        reply, first_draw = await self._untruncated(messages, stage, response_format, draw, extra_data, max_tokens)
        try:
            return parse_structured(reply, schema)
        except ValueError as first_error:
            self.stats.stage(stage).repairs += 1
            repair = messages + [
                {"role": "assistant", "content": reply},
                {
                    "role": "user",
                    "content": f"That reply was not usable: {first_error}. Reply again with only "
                    f"a JSON object that matches this JSON schema: {schema_json(schema)}",
                },
            ]
            reply, repair_draw = await self._untruncated(repair, stage, response_format, draw, extra_data, max_tokens)
            try:
                return parse_structured(reply, schema)
            except ValueError as error:
                self._reject(messages, response_format, first_draw, extra_data, max_tokens, first_error)
                self._reject(repair, response_format, repair_draw, extra_data, max_tokens, error)
                raise StructuredOutputError(f"invalid structured output after one repair: {error}") from None

    async def _untruncated(
        self,
        messages: Messages,
        stage: str,
        response_format: dict[str, Any] | None,
        draw: int,
        extra_data: dict[str, Any] | None,
        max_tokens: int | None,
    ) -> tuple[str, int]:
        """The first reply not cut off at max_tokens, of at most 1 + REDRAWS fresh draws, and its draw number."""
        for redraw in range(REDRAWS + 1):
            used = draw + redraw * REDRAW_STRIDE
            try:
                reply = await self._complete(
                    messages,
                    stage=stage,
                    response_format=response_format,
                    draw=used,
                    extra_data=extra_data,
                    max_tokens=max_tokens,
                )
            except _Truncated:
                self.stats.stage(stage).truncations += 1
            else:
                return reply, used
        limit = self._max_tokens(max_tokens)
        fix = "set model.output_budgets=false" if limit < self.settings.max_tokens else "raise model.max_tokens"
        raise TruncatedReply(
            f"every reply was cut off at max_tokens={limit} ({REDRAWS + 1} draws): the model looped, or the limit is "
            f"too low (fix: {fix})"
        )

    def _reject(
        self,
        messages: Messages,
        response_format: dict[str, Any] | None,
        draw: int,
        extra_data: dict[str, Any] | None,
        max_tokens: int | None,
        error: Exception,
    ) -> None:
        """Keep an unusable reply in the cache for diagnosis only, so a rerun asks the model again."""
        if self.cache is not None and self.cache.mode != "off":
            key = call_key(self._call_kwargs(messages, response_format, draw, extra_data, max_tokens), draw)
            self.cache.reject(key, str(error))

    def _with_format_instruction(self, messages: Messages, schema: type[BaseModel]) -> Messages:
        if self.settings.structured_output == "json_schema":
            return messages
        instruction = (
            "Reply with only a JSON object, no prose and no code fence, matching this JSON schema: "
            + schema_json(schema)
        )
        return messages[:-1] + [{**messages[-1], "content": messages[-1]["content"] + "\n\n" + instruction}]

    def _response_format(self, schema: type[BaseModel]) -> dict[str, Any] | None:
        mode = self.settings.structured_output
        if mode == "json_schema":
            return {
                "type": "json_schema",
                "json_schema": {"name": schema.__name__, "schema": strict_schema(schema), "strict": True},
            }
        return {"type": "json_object"} if mode == "json_object" else None

    async def _complete(
        self,
        messages: Messages,
        *,
        stage: str,
        response_format: dict[str, Any] | None,
        draw: int,
        extra_data: dict[str, Any] | None = None,
        max_tokens: int | None = None,
    ) -> str:
        """One call's reply: from the cache, else from the model with retries; raises _Truncated (uncached) for a
        reply cut off at max_tokens."""
        kwargs = self._call_kwargs(messages, response_format, draw, extra_data, max_tokens)
        counters = self.stats.stage(stage)
        key = call_key(kwargs, draw) if self.cache is not None and self.cache.mode != "off" else None
        if key is not None and self.cache is not None and (hit := self.cache.get(key)) is not None:
            counters.cache_hits += 1
            counters.mark()
            return hit.content
        if key is not None and self.cache is not None and (rejected := self.cache.rejections(key)):
            # The same call once gave an unusable reply: a seeded model gets another draw (kept under the same key).
            kwargs = self._call_kwargs(messages, response_format, draw + _REDRAW * rejected, extra_data, max_tokens)
        litellm = await self._litellm_ready()
        for attempt in range(self.settings.retries + 1):
            try:
                async with self._semaphore:
                    self._check_budget()
                    await self._rate_limit(messages)
                    self._check_budget()  # the wait may have outlasted the budget or the run
                    counters.mark()
                    started = time.monotonic()
                    response = await litellm.acompletion(**kwargs)
                    counters.mark()
                    counters.max_call_seconds = max(counters.max_call_seconds, round(time.monotonic() - started, 3))
            except Exception as error:  # classified below: retry, give up on the unit, or stop the run
                counters.mark()
                delay = self._retry_delay(error, attempt)
                if delay is None:
                    raise
                counters.retries += 1
                log.info("retrying %s in %.1fs after %s", self.settings.name, delay, type(error).__name__)
                await asyncio.sleep(delay)
                continue
            self._answered = True
            reply = self._account(response, stage)
            if response.choices[0].finish_reason == "length":
                raise _Truncated
            if key is not None and self.cache is not None:
                self.cache.put(key, self.settings.model, reply)
            return reply.content
        raise AssertionError("unreachable: the last attempt either returns or raises")

    async def _litellm_ready(self) -> Any:
        """litellm, with the provider registered and checked; done once, by the first call that misses the cache."""
        async with self._ready:
            if self._litellm is None:
                litellm = import_litellm()
                self.settings.register()
                self.settings.check_ready()
                self._litellm = litellm
        return self._litellm

    async def _rate_limit(self, messages: Messages) -> None:
        """Wait for room under the model's requests- and tokens-per-minute limits, if set."""
        if self._requests is not None:
            await self._requests.acquire()
        if self._tokens is not None:
            estimate = sum(len(m["content"]) for m in messages) // 4 + self.settings.max_tokens
            await self._tokens.acquire(min(estimate, self._tokens.max_rate))

    def _check_budget(self) -> None:
        """Start no new call once the run is stopping or its spend has reached max_cost_usd."""
        if self._stopping.is_set():
            raise CallsStopped("the run was interrupted")
        if self.max_cost_usd is not None and self.stats.cost_usd >= self.max_cost_usd:
            raise BudgetExhausted(f"spent ${self.stats.cost_usd:.4f} of max_cost_usd={self.max_cost_usd}")

    def _call_kwargs(
        self,
        messages: Messages,
        response_format: dict[str, Any] | None,
        draw: int,
        extra_data: dict[str, Any] | None = None,
        max_tokens: int | None = None,
    ) -> dict[str, Any]:
        s = self.settings
        kwargs: dict[str, Any] = {
            "model": s.model,
            "messages": messages,
            "temperature": s.temperature,
            "max_tokens": self._max_tokens(max_tokens),
            "timeout": s.timeout,
            "num_retries": 0,
            "max_retries": 0,
        }
        if s.api_base:
            kwargs["api_base"] = s.api_base
        if response_format is not None:
            kwargs["response_format"] = response_format
        return {**kwargs, **s.call_kwargs(draw, extra_data)}

    def _max_tokens(self, budget: int | None) -> int:
        """A call's limit: its own budget, under the model's max_tokens (unless the model opts out of budgets)."""
        if budget is None or not self.settings.output_budgets:
            return self.settings.max_tokens
        return min(budget, self.settings.max_tokens)

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
        if not self._answered and _connection_refused(error):  # nothing listens there: no point in waiting
            if self.settings.api_base:
                raise ModelUnreachable(
                    f"cannot reach {self.settings.api_base} (connection refused)",
                    "start the server or set model.api_base",
                ) from error
            raise ModelUnreachable(
                f"{_first_line(error)} (connection refused)", "start the server or correct its address in model"
            ) from error
        retryable = (
            litellm.RateLimitError,
            litellm.Timeout,
            litellm.APIConnectionError,
            litellm.InternalServerError,
            litellm.ServiceUnavailableError,
            litellm.BadGatewayError,
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


def _retry_after_seconds(error: Exception) -> float | None:
    headers = getattr(error, "litellm_response_headers", None) or getattr(
        getattr(error, "response", None), "headers", None
    )
    value = headers.get("retry-after") if headers else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _connection_refused(error: BaseException) -> bool:
    """Whether a refused connection is among the causes of `error` (litellm wraps the socket error)."""
    cause: BaseException | None = error
    for _ in range(16):  # chains are short; a bound guards against a cycle
        if cause is None:
            return False
        if isinstance(cause, ConnectionRefusedError):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:300]
