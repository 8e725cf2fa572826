"""How a model call reaches the provider: one request per call, or gathered into the provider's batch API."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from synthgen.core.errors import UserError
from synthgen.models.batch import BatchDispatcher, batch_endpoint, batch_price
from synthgen.models.cache import CallCache
from synthgen.models.providers.base import LiteLLMModel

log = logging.getLogger(__name__)


def response_cost(litellm: Any, response: Any) -> float:
    """What a litellm response (a completion or embeddings) cost, 0 for models without a known price."""
    hidden = getattr(response, "_hidden_params", {})
    cost = hidden.get("response_cost")
    if cost is None and "response_cost" not in hidden:  # litellm already tried: the model has no price
        try:
            cost = litellm.completion_cost(completion_response=response)
        except Exception:  # models without a price entry cost nothing known
            cost = 0.0
    return float(cost or 0.0)


class DirectTransport:
    """One litellm request per call, priced by litellm."""

    batched = False  # a batched call waits in the provider's queue, not in one of the concurrency limit's slots

    async def send(self, litellm: Any, kwargs: dict[str, Any], key: str | None) -> Any:
        """The litellm response to the call `kwargs` (whose cache key is `key`)."""
        return await litellm.acompletion(**kwargs)

    def cost(self, litellm: Any, model: str, response: Any) -> float:
        """What `response` cost, 0 for models without a known price (local servers)."""
        return response_cost(litellm, response)

    async def aclose(self) -> None:
        """Release what the transport holds (nothing, for direct calls)."""


class BatchTransport(DirectTransport):
    """Calls gathered into provider batches by one BatchDispatcher on the call cache's database, priced at batch
    prices (litellm's, else half the regular price)."""

    batched = True

    def __init__(self, db_path: Path, poll_interval: float, max_wait: float) -> None:
        self._db_path = db_path
        self._poll_interval = poll_interval
        self._max_wait = max_wait
        self._dispatcher: BatchDispatcher | None = None

    async def send(self, litellm: Any, kwargs: dict[str, Any], key: str | None) -> Any:
        if key is None:
            raise AssertionError("a batched call needs its cache key")
        if self._dispatcher is None:  # opened by the first call that misses the cache
            self._dispatcher = BatchDispatcher(
                self._db_path, poll_interval=self._poll_interval, max_wait=self._max_wait
            )
        body = await self._dispatcher.submit(kwargs, key)
        return litellm.ModelResponse(**body)

    def cost(self, litellm: Any, model: str, response: Any) -> float:
        usage = getattr(response, "usage", None)
        if usage is None:
            return 0.0
        return batch_price(model, usage.prompt_tokens or 0, usage.completion_tokens or 0).cost_usd

    async def aclose(self) -> None:
        """Stop polling and close the dispatcher; batches still running stay recorded for a rerun to resume."""
        if self._dispatcher is not None:
            await self._dispatcher.aclose()
            self._dispatcher = None


def open_transport(provider: LiteLLMModel, cache: CallCache | None) -> DirectTransport:
    """The transport of `provider`'s calls: batched with model.batch=true (checked now, before any work)."""
    if not provider.batch:
        return DirectTransport()
    if cache is None or cache.mode == "off":
        raise UserError("model.batch=true keeps its batches in the call cache (fix: set cache.mode=use)")
    if cache.mode == "refresh":
        log.warning("cache.mode=refresh: calls go one by one, not through batches (model.batch is ignored)")
        return DirectTransport()
    call = {"model": provider.model, "api_base": provider.api_base, **provider.call_kwargs(0, None)}
    batch_endpoint(call)  # a UserError for a provider without a batch API
    return BatchTransport(cache.path, provider.batch_poll_interval, provider.batch_max_wait)
