"""The one model client: every call goes through the call cache, then litellm with bounded concurrency and retries."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, cast

from aiolimiter import AsyncLimiter
from pydantic import BaseModel

from synthgen.core.errors import BudgetExhausted, CallsStopped
from synthgen.models.adaptive import AdaptiveLimit
from synthgen.models.batch import BatchRequestError
from synthgen.models.cache import CachedReply, CallCache, call_key
from synthgen.models.dialects import Dialect, DialectNegotiator, auto_order, example_instance, response_kwargs
from synthgen.models.pricing import CHARS_PER_TOKEN
from synthgen.models.providers.base import REDRAW_STRIDE, LiteLLMModel, import_litellm
from synthgen.models.retries import retry_after_seconds, retry_delay
from synthgen.models.structured import Schema, StructuredOutputError, parse_structured, strict_schema
from synthgen.models.transport import DirectTransport, open_transport, response_cost
from synthgen.models.usage import StageStats, Usage

log = logging.getLogger(__name__)
Messages = list[dict[str, str]]
# Dialects that do not constrain the reply to the schema: the prompt shows an example object instead.
_UNCONSTRAINED = ("json_object", "prompt")
# A reply cut off at max_tokens (a model looping inside its reply, typically) is never repaired nor cached: it is
# drawn again, at most REDRAWS times, as draw `draw + k * REDRAW_STRIDE`: a new seed and cache key, beyond any draw
# number a plan uses.
REDRAWS = 2
EMBEDDING_BATCH = 256  # inputs per embedding request (OpenAI takes up to 2048)


@dataclass(frozen=True)
class Completion:
    """One call's reply with its tokens and cost; `cached`: the call cache answered it (nothing paid or waited for)."""

    reply: CachedReply
    cached: bool


def cached_prompt_tokens(usage: Any) -> int:
    """The prompt tokens a provider read from its prompt cache: OpenAI's `prompt_tokens_details.cached_tokens`
    (where litellm also puts Anthropic's), or Anthropic's `cache_read_input_tokens`. litellm's cost already prices
    them at the cache-read rate."""
    details = getattr(usage, "prompt_tokens_details", None)
    openai = getattr(details, "cached_tokens", None) if details is not None else None
    anthropic = getattr(usage, "cache_read_input_tokens", None)
    return max(int(openai or 0), int(anthropic or 0))


class _Truncated(Exception):
    """The reply was cut off (finish_reason `length`): at max_tokens, or `early`, before it, by a provider that
    stops a looping reply at the loop (the embedded model)."""

    def __init__(self, early: bool) -> None:
        super().__init__()
        self.early = early


class TruncatedReply(StructuredOutputError):
    """Every draw of a call was cut off at max_tokens: no usable reply (a structured output error for callers)."""


_REDRAW = 1_000_003  # the draw offset of a call asked again after an unusable reply: far from every ordinary draw


class ModelClient:
    """Async access to one configured model: cache, adaptive concurrency bound, rate limits, retries with jitter,
    structured-output dialect negotiation, direct or batched transport (a batched call holds no concurrency slot:
    it waits in its batch), accounting.

    litellm is imported, and the provider registered and checked (key, model string), only when a call misses
    the cache: a rerun served from the cache never pays for either (with model.batch=true the provider's batch
    support is checked at once, before any work). Await `aclose()` when the run ends.
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
        self._limit = AdaptiveLimit(provider.max_concurrency, adaptive=provider.adaptive)
        mode = provider.structured_output
        self._dialects = DialectNegotiator(auto_order(provider.model) if mode == "auto" else (cast(Dialect, mode),))
        self._transport = open_transport(provider, cache)
        self._transports: list[DirectTransport] = [self._transport]  # shared with the `for_model` clients
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
        client._transports = self._transports
        self._transports.append(client._transport)
        return client

    async def aclose(self) -> None:
        """Close the transports of this client and its `for_model` clients (stop polling batches)."""
        for transport in self._transports:
            await transport.aclose()

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
        completion, _ = await self._untruncated(messages, stage, None, draw, extra_data, max_tokens)
        return completion.reply.content

    async def complete(
        self,
        messages: Messages,
        *,
        stage: str,
        draw: int = 0,
        extra_data: dict[str, Any] | None = None,
    ) -> Completion:
        """One completion as `text` makes it, with its own tokens and cost and whether the cache answered it."""
        completion, _ = await self._untruncated(messages, stage, None, draw, extra_data, None)
        return completion

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
        completion, first_draw = await self._untruncated(messages, stage, schema, draw, extra_data, max_tokens)
        reply = completion.reply.content
        try:
            return parse_structured(reply, schema)
        except ValueError as first_error:
            self.stats.stage(stage).repairs += 1
            repair = messages + [
                {"role": "assistant", "content": reply},
                {
                    "role": "user",
                    "content": f"That reply was not usable: {first_error}. Reply again with only the JSON object.",
                },
            ]
            completion, repair_draw = await self._untruncated(repair, stage, schema, draw, extra_data, max_tokens)
            try:
                return parse_structured(completion.reply.content, schema)
            except ValueError as error:
                self._reject(messages, schema, first_draw, extra_data, max_tokens, first_error)
                self._reject(repair, schema, repair_draw, extra_data, max_tokens, error)
                raise StructuredOutputError(f"invalid structured output after one repair: {error}") from None

    async def _untruncated(
        self,
        messages: Messages,
        stage: str,
        schema: type[BaseModel] | None,
        draw: int,
        extra_data: dict[str, Any] | None,
        max_tokens: int | None,
    ) -> tuple[Completion, int]:
        """The first reply not cut off at max_tokens, of at most 1 + REDRAWS fresh draws, and its draw number."""
        for redraw in range(REDRAWS + 1):
            used = draw + redraw * REDRAW_STRIDE
            try:
                reply = await self._complete(messages, stage, schema, used, extra_data, max_tokens)
            except _Truncated as cut:
                if cut.early:
                    self.stats.stage(stage).loops += 1
                else:
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
        schema: type[BaseModel] | None,
        draw: int,
        extra_data: dict[str, Any] | None,
        max_tokens: int | None,
        error: Exception,
    ) -> None:
        """Keep an unusable reply in the cache for diagnosis only, so a rerun asks the model again."""
        if self._caching() and self.cache is not None:
            self.cache.reject(self._key(messages, schema, draw, extra_data, max_tokens), str(error))

    def _key(
        self,
        messages: Messages,
        schema: type[BaseModel] | None,
        draw: int,
        extra_data: dict[str, Any] | None,
        max_tokens: int | None,
    ) -> str:
        """A call's cache key: its arguments with the schema in place of the dialect's form of it, so a rerun
        replays without negotiating a dialect again."""
        kwargs = self._base_kwargs(messages, draw, extra_data, max_tokens)
        if schema is not None:
            kwargs["structured"] = {"mode": self.settings.structured_output, "schema": strict_schema(schema)}
        return call_key(kwargs, draw)

    async def _complete(
        self,
        messages: Messages,
        stage: str,
        schema: type[BaseModel] | None,
        draw: int,
        extra_data: dict[str, Any] | None,
        max_tokens: int | None,
    ) -> Completion:
        """One call's reply: from the cache, else from the model with retries; raises _Truncated (uncached) for a
        reply cut off at max_tokens. A server refusing the dialect structured output was asked in is asked again
        in the next dialect (not counted as a retry)."""
        counters = self.stats.stage(stage)
        key = self._key(messages, schema, draw, extra_data, max_tokens) if self._caching() else None
        if key is not None and self.cache is not None and (hit := self.cache.get(key)) is not None:
            counters.cache_hits += 1
            counters.mark()
            return Completion(hit, cached=True)
        if key is not None and self.cache is not None and (rejected := self.cache.rejections(key)):
            # The same call once gave an unusable reply: a seeded model gets another draw (kept under the same key).
            draw += _REDRAW * rejected
        litellm = await self._litellm_ready()
        dialect = self._dialects.current() if schema is not None else None
        kwargs = self._call_kwargs(messages, schema, dialect, draw, extra_data, max_tokens)

        def next_dialect(error: Exception) -> bool:
            """Ask again in the next dialect if the server refused this one's structured output."""
            nonlocal dialect, kwargs
            if dialect is None or not self._dialects.rejected(dialect, error):
                return False
            dialect = self._dialects.current()
            kwargs = self._call_kwargs(messages, schema, dialect, draw, extra_data, max_tokens)
            return True

        tokens = sum(len(m["content"]) for m in messages) // CHARS_PER_TOKEN + self.settings.max_tokens
        response = await self._request(
            litellm,
            counters,
            lambda: self._transport.send(litellm, kwargs, key),
            tokens,
            next_dialect,
            batched=self._transport.batched,
        )
        reply = self._account(litellm, response, stage)
        if response.choices[0].finish_reason == "length":
            raise _Truncated(early=self.settings.stops_loops and reply.completion_tokens < kwargs["max_tokens"])
        if key is not None and self.cache is not None:
            self.cache.put(key, self.settings.model, reply)
        return Completion(reply, cached=False)

    async def embed(self, texts: list[str], *, stage: str) -> list[list[float]]:
        """The embedding vector of each text, in order: from the call cache where it is there, the others asked for
        in requests of at most EMBEDDING_BATCH inputs, under the same limits, budget, retries and accounting as
        completions. `calls` counts the requests, `cache_hits` the texts the cache answered."""
        counters = self.stats.stage(stage)
        base: dict[str, Any] = {"model": self.settings.model, **self.settings.call_kwargs(0, None)}
        if self.settings.api_base:
            base["api_base"] = self.settings.api_base
        keys = {text: call_key({**base, "input": text}, 0) for text in dict.fromkeys(texts)}
        found: dict[str, list[float]] = {}
        for text, key in keys.items():
            if self._caching() and self.cache is not None and (hit := self.cache.get(key)) is not None:
                found[text] = json.loads(hit.content)
                counters.cache_hits += 1
                counters.mark()
        missing = [text for text in keys if text not in found]
        if missing:
            litellm = await self._litellm_ready()
            batches = [missing[start : start + EMBEDDING_BATCH] for start in range(0, len(missing), EMBEDDING_BATCH)]
            requests = (self._embed_batch(litellm, batch, base, keys, counters) for batch in batches)
            for batch, vectors in zip(batches, await asyncio.gather(*requests)):
                found.update(zip(batch, vectors))
        return [found[text] for text in texts]

    async def _embed_batch(
        self, litellm: Any, texts: list[str], base: dict[str, Any], keys: dict[str, str], counters: StageStats
    ) -> list[list[float]]:
        """One embedding request for `texts`: counted into `counters`, each vector cached under its key in `keys`
        with its share (by length) of the request's tokens and cost."""
        kwargs = {**base, "input": texts, "timeout": self.settings.timeout, "num_retries": 0, "max_retries": 0}
        tokens = sum(len(text) for text in texts) // CHARS_PER_TOKEN
        response = await self._request(litellm, counters, lambda: litellm.aembedding(**kwargs), tokens)
        rows = sorted(response.data, key=lambda row: row["index"])
        if len(rows) != len(texts):
            raise ValueError(f"the embedding reply has {len(rows)} vectors for {len(texts)} inputs")
        vectors = [list(row["embedding"]) for row in rows]
        usage = getattr(response, "usage", None)
        prompt_tokens = (usage.prompt_tokens or 0) if usage is not None else 0
        cost = response_cost(litellm, response)
        counters.count_call(prompt_tokens, 0, cost)
        if self._caching() and self.cache is not None:
            chars = sum(len(text) for text in texts) or 1
            for text, vector in zip(texts, vectors):
                share = len(text) / chars
                reply = CachedReply(json.dumps(vector), round(prompt_tokens * share), 0, cost * share)
                self.cache.put(keys[text], self.settings.model, reply)
        return vectors

    async def _request(
        self,
        litellm: Any,
        counters: StageStats,
        send: Callable[[], Awaitable[Any]],
        tokens: int,
        switch: Callable[[Exception], bool] | None = None,
        *,
        batched: bool = False,
    ) -> Any:
        """The response of `send()`, sent when the concurrency limit, the budget and the rate limits (`tokens`:
        its estimated size) allow, and retried with backoff while the error is worth it. `switch(error)` returning
        True means the request was changed to be sent again at once (not counted as a retry).

        A `batched` request skips the concurrency and rate limits: it waits in a provider batch, whose limits
        the dispatcher keeps, so every call of a round goes into the same batch instead of a slot's worth at a time.
        """
        attempt = 0
        while True:
            try:
                async with nullcontext() if batched else self._limit:
                    self._check_budget()
                    if not batched:
                        await self._rate_limit(tokens)
                        self._check_budget()  # the wait may have outlasted the budget or the run
                    counters.mark()
                    started = time.monotonic()
                    response = await send()
                    counters.mark()
                    counters.max_call_seconds = max(counters.max_call_seconds, round(time.monotonic() - started, 3))
            except Exception as error:  # classified below: resend changed, retry, give up, or stop the run
                counters.mark()
                if switch is not None and switch(error):
                    continue
                paced = not batched and self._rate_limited(error, counters)
                delay = self._transport_retry_delay(litellm, error, attempt)
                if delay is None:
                    raise
                attempt += 1
                counters.retries += 1
                if not paced:
                    log.info("retrying %s in %.1fs after %s", self.settings.name, delay, type(error).__name__)
                    await asyncio.sleep(delay)
                continue
            self._answered = True
            if not batched:
                self._limit.succeeded()
                counters.allowed = self._limit.allowed
            return response

    def _caching(self) -> bool:
        return self.cache is not None and self.cache.mode != "off"

    def _rate_limited(self, error: Exception, counters: Any) -> bool:
        """Tell the concurrency limit about a 429; True if the limit now paces the retry (adaptive mode)."""
        if not isinstance(error, self._litellm.RateLimitError):
            return False
        cuts = self._limit.cuts
        self._limit.rate_limited(retry_after_seconds(error))
        counters.cuts += self._limit.cuts - cuts
        counters.allowed = self._limit.allowed
        return self.settings.adaptive

    def _transport_retry_delay(self, litellm: Any, error: Exception, attempt: int) -> float | None:
        """Seconds before retrying a failed call, None to give up (a batch request's error says if it may help)."""
        if isinstance(error, BatchRequestError):
            return self.settings.backoff_base if error.retryable and attempt < self.settings.retries else None
        return retry_delay(litellm, self.settings, error, attempt, self._answered)

    async def _litellm_ready(self) -> Any:
        """litellm, with the provider registered and checked; done once, by the first call that misses the cache."""
        async with self._ready:
            if self._litellm is None:
                litellm = import_litellm()
                self.settings.register()
                self.settings.check_ready()
                self._litellm = litellm
        return self._litellm

    async def _rate_limit(self, tokens: int) -> None:
        """Wait for room under the model's requests- and tokens-per-minute limits, if set, for a request of an
        estimated `tokens`."""
        if self._requests is not None:
            await self._requests.acquire()
        if self._tokens is not None:
            await self._tokens.acquire(min(tokens, self._tokens.max_rate))

    def _check_budget(self) -> None:
        """Start no new call once the run is stopping or its spend has reached max_cost_usd."""
        if self._stopping.is_set():
            raise CallsStopped("the run was interrupted")
        if self.max_cost_usd is not None and self.stats.cost_usd >= self.max_cost_usd:
            raise BudgetExhausted(f"spent ${self.stats.cost_usd:.4f} of max_cost_usd={self.max_cost_usd}")

    def _base_kwargs(
        self, messages: Messages, draw: int, extra_data: dict[str, Any] | None, max_tokens: int | None
    ) -> dict[str, Any]:
        """A call's litellm arguments, without structured output."""
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
        return {**kwargs, **s.call_kwargs(draw, extra_data)}

    def _call_kwargs(
        self,
        messages: Messages,
        schema: type[BaseModel] | None,
        dialect: Dialect | None,
        draw: int,
        extra_data: dict[str, Any] | None,
        max_tokens: int | None,
    ) -> dict[str, Any]:
        """A call's litellm arguments, asking for `schema` in `dialect` (an unconstrained dialect gets an example
        object in the prompt)."""
        if schema is None or dialect is None:
            return self._base_kwargs(messages, draw, extra_data, max_tokens)
        json_schema = strict_schema(schema)
        if dialect in _UNCONSTRAINED:
            instruction = (
                "Reply with only a JSON object, no prose and no code fence, in this form (the same keys, your own "
                "values): " + json.dumps(example_instance(json_schema), ensure_ascii=False)
            )
            # On the request's last message: before the assistant turn of a repair re-ask (an agent keys its
            # session on the first message, so the re-ask must repeat the request exactly).
            at = next((i - 1 for i, m in enumerate(messages) if m["role"] == "assistant"), len(messages) - 1)
            asked = messages[at]
            messages = [
                *messages[:at],
                {**asked, "content": asked["content"] + "\n\n" + instruction},
                *messages[at + 1 :],
            ]
        kwargs = self._base_kwargs(messages, draw, extra_data, max_tokens)
        return {**kwargs, **response_kwargs(dialect, schema.__name__, json_schema)}

    def _max_tokens(self, budget: int | None) -> int:
        """A call's limit: its own budget, under the model's max_tokens (unless the model opts out of budgets)."""
        if budget is None or not self.settings.output_budgets:
            return self.settings.max_tokens
        return min(budget, self.settings.max_tokens)

    def _account(self, litellm: Any, response: Any, stage: str) -> CachedReply:
        """Count the call's tokens and cost into the stage; return what the cache keeps."""
        usage = getattr(response, "usage", None)
        reply = CachedReply(
            content=(response.choices[0].message.content or "").strip(),
            prompt_tokens=(usage.prompt_tokens or 0) if usage is not None else 0,
            completion_tokens=(usage.completion_tokens or 0) if usage is not None else 0,
            cost_usd=self._transport.cost(litellm, self.settings.model, response),
        )
        self.stats.stage(stage).count_call(
            reply.prompt_tokens, reply.completion_tokens, reply.cost_usd, cached_prompt_tokens(usage)
        )
        return reply
