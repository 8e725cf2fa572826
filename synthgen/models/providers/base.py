"""The provider extension point: a `model` option's class, with the hooks the client calls around litellm."""

from __future__ import annotations

import os
from typing import Any, ClassVar, Self

from pydantic import PrivateAttr

from synthgen.config.schema import ModelSettings
from synthgen.config.targets import require_class
from synthgen.core.errors import UserError

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # never download the price map
_OWN_SERVERS = ("openai", "hosted_vllm")  # OpenAI-compatible servers at api_base need no OPENAI_API_KEY


def import_litellm() -> Any:
    """Import litellm on first use: it takes seconds to import and only a model call or a price needs it."""
    import litellm

    litellm.suppress_debug_info = True
    # The client retries every call itself. litellm's OpenAI and Azure embedding calls read `max_retries or
    # DEFAULT_MAX_RETRIES`, so the client's max_retries=0 would become hidden SDK retries (BerriAI/litellm#7003).
    litellm.DEFAULT_MAX_RETRIES = 0  # type: ignore[misc]  # declared Final, read at call time
    return litellm


# A reply cut off at its limit (or stopped at a loop) is drawn again as draw `draw + k * REDRAW_STRIDE`, k = 1, 2:
# a new seed and cache key beyond any draw number a plan uses; a provider may also change its sampling for it.
REDRAW_STRIDE = 1 << 20


class LiteLLMModel(ModelSettings):
    """Any model litellm reaches by its model string (`openai/gpt-4.1`, `ollama_chat/llama3.2`, ...).

    Subclasses add their own fields and override the hooks; the client calls nothing provider-specific.
    """

    _request_key: str | None = PrivateAttr(None)  # never in a dump, a repr or the config
    embeds: ClassVar[bool] = True  # litellm's embedding call reaches the provider (mode.dedup.embedding_model)
    # The provider stops a reply that starts looping (finish_reason `length` before max_tokens): counted as a loop.
    stops_loops: ClassVar[bool] = False

    def with_api_key(self, key: str) -> Self:
        """A copy that sends `key` with every call: a key for one request, used instead of the environment's.

        It travels only in the call arguments, which the cache key leaves out; callers hide it from messages
        with `synthgen.core.secrets.hidden`.
        """
        copy = self.model_copy()
        copy._request_key = key
        return copy

    def context_tokens(self) -> int | None:
        """The model's context window in tokens when it is known without a call or an import (None: unchecked)."""
        return None

    def register(self) -> None:
        """Make the model callable through litellm (custom providers register their handler); once per process."""

    def check_ready(self) -> None:
        """Fail before the first model call if litellm does not know the model or its API key is missing."""
        litellm = import_litellm()
        try:
            _, provider, _, _ = litellm.get_llm_provider(self.model, api_base=self.api_base)
        except Exception:
            raise UserError(
                f"unknown model '{self.model}': litellm does not know its provider "
                "(fix: set model.model to '<provider>/<model>', e.g. 'openai/gpt-4.1')"
            ) from None
        if self.api_key_env is not None or (self.api_base is not None and provider in _OWN_SERVERS):
            return  # a server of the user's own: its key, if any, comes from api_key_env
        if self._request_key is not None:
            return  # the request brought its key
        missing = litellm.validate_environment(model=self.model, api_base=self.api_base).get("missing_keys", [])
        if missing:
            raise UserError(
                f"model '{self.name}' needs {', '.join(missing)} in the environment "
                f"(fix: export {missing[0]}=... or choose another model, e.g. model=local)"
            )

    def call_kwargs(self, draw: int, extra_data: dict[str, Any] | None) -> dict[str, Any]:
        """Provider-specific litellm arguments of one call (keyed in the call cache, except `api_key`).

        `draw` numbers independent draws of one prompt; `extra_data` is the call's context for agents.
        """
        if self._request_key is not None:
            return {"api_key": self._request_key}
        return {"api_key": os.environ.get(self.api_key_env) or "not-needed"} if self.api_key_env else {}

    def price(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        """litellm's price for the tokens, None when the model has no known price."""
        litellm = import_litellm()
        try:
            prompt_cost, completion_cost = litellm.cost_per_token(
                model=self.model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
            )
        except Exception:  # litellm raises for models missing from its price map
            return None
        return float(prompt_cost + completion_cost)

    def close(self) -> None:
        """Free what the provider holds in this process (the embedded model's weights); idempotent."""


def as_provider(settings: ModelSettings) -> LiteLLMModel:
    """The validated `model` option as a provider, or a UserError naming the fix."""
    return require_class(settings, LiteLLMModel, "model")
