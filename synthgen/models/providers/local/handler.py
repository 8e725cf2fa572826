"""The embedded model as a litellm custom provider: llama.cpp in process, shaped like an API."""

from __future__ import annotations

import asyncio
import atexit
import importlib.util
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import litellm
from litellm import CustomLLM, ModelResponse

from synthgen.core.errors import UserError
from synthgen.models.providers.local.options import LOCAL_PROVIDER, LocalModelSettings
from synthgen.models.providers.local.weights import INSTALL_HINT, resolve_model_path

if TYPE_CHECKING:
    from llama_cpp import Llama

DEFAULT_LOCAL_MODEL = f"{LOCAL_PROVIDER}/qwen2.5-coder-0.5b-instruct"
# Call parameters (as litellm hands them over in optional_params) that llama.cpp honours: OpenAI's, and its own
# repeat_penalty.
_PASSTHROUGH = (
    "temperature",
    "top_p",
    "max_tokens",
    "seed",
    "stop",
    "presence_penalty",
    "frequency_penalty",
    "repeat_penalty",
)
_MISSING_LLAMA_CPP = f"the local model needs llama-cpp-python, which is not installed: {INSTALL_HINT}"
_ZERO_PRICING = {
    "litellm_provider": LOCAL_PROVIDER,
    "mode": "chat",
    "input_cost_per_token": 0.0,
    "output_cost_per_token": 0.0,
    # Named too, or litellm warns that they default to 0.
    "cache_creation_input_token_cost": 0.0,
    "cache_read_input_token_cost": 0.0,
}


class LocalLLM(CustomLLM):
    """litellm handler running one lazily loaded llama.cpp model, one call at a time."""

    def __init__(self, settings: LocalModelSettings, model_path: Path) -> None:
        super().__init__()
        self.settings = settings
        self.model_path = model_path
        self._llama: Llama | None = None
        self._lock = threading.Lock()  # a llama.cpp context is not thread-safe

    def completion(  # type: ignore[override]
        self, model: str, messages: list, model_response: ModelResponse, optional_params: dict, **_: Any
    ) -> ModelResponse:
        """Blocking chat completion (litellm.completion)."""
        _register_zero_pricing(model)
        return self._complete(model, messages, model_response, optional_params)

    async def acompletion(  # type: ignore[override]
        self, model: str, messages: list, model_response: ModelResponse, optional_params: dict, **_: Any
    ) -> ModelResponse:
        """Chat completion in a worker thread, so the event loop keeps running (litellm.acompletion)."""
        _register_zero_pricing(model)
        return await asyncio.to_thread(self._complete, model, messages, model_response, optional_params)

    def close(self) -> None:
        """Free the model; a later call loads it again."""
        with self._lock:
            if self._llama is not None:
                self._llama.close()
                self._llama = None

    def _complete(
        self, model: str, messages: list, model_response: ModelResponse, optional_params: dict
    ) -> ModelResponse:
        kwargs = _llama_kwargs(model, optional_params)
        with self._lock:
            llama = self._loaded()
            try:
                result = llama.create_chat_completion(messages=messages, **kwargs)
            except ValueError as error:
                if "exceed context window" in str(error):
                    raise litellm.ContextWindowExceededError(
                        message=f"{error} (raise model.local.n_ctx or shorten the prompt)",
                        model=model,
                        llm_provider=LOCAL_PROVIDER,
                    ) from None
                raise
        return _fill_response(model_response, model, cast(dict, result))  # no stream was asked for

    def _loaded(self) -> Llama:
        """The model, loaded on first use; call with the lock held."""
        if self._llama is None:
            self._llama = _load_llama(self.model_path, self.settings)
        return self._llama


_handler: LocalLLM | None = None


def register_local_provider(settings: LocalModelSettings) -> None:
    """Route "synthgen-local/..." models to the embedded model; idempotent.

    Checks that llama-cpp-python is installed and resolves (assembling if needed) the weights
    now, so setup mistakes surface as UserError rather than as litellm errors mid-run.
    The model itself loads on the first call.
    """
    global _handler
    if _handler is None or _handler.settings != settings:
        _require_llama_cpp()
        model_path = resolve_model_path(settings)
        close_local_model()
        _handler = LocalLLM(settings, model_path)
    others = [item for item in litellm.custom_provider_map if item["provider"] != LOCAL_PROVIDER]
    litellm.custom_provider_map = [*others, {"provider": LOCAL_PROVIDER, "custom_handler": _handler}]
    # litellm does this on every call; doing it now lets register_model resolve the provider.
    litellm.utils.custom_llm_setup()
    _register_zero_pricing(DEFAULT_LOCAL_MODEL.removeprefix(f"{LOCAL_PROVIDER}/"))


def close_local_model() -> None:
    """Free the embedded model if it is loaded; idempotent, also run at exit."""
    if _handler is not None:
        _handler.close()


atexit.register(close_local_model)  # llama_cpp.Llama prints noise when collected at exit


def _require_llama_cpp() -> None:
    """Fail with the install command when llama-cpp-python is missing."""
    if importlib.util.find_spec("llama_cpp") is None:
        raise UserError(_MISSING_LLAMA_CPP)


def _load_llama(model_path: Path, settings: LocalModelSettings) -> Llama:
    """Load the GGUF model quietly (llama-cpp-python hides its load logs when verbose=False)."""
    try:
        from llama_cpp import Llama
    except ImportError:
        raise UserError(_MISSING_LLAMA_CPP) from None
    threads = settings.n_threads or os.cpu_count() or 1
    try:
        return Llama(
            model_path=str(model_path),
            n_ctx=settings.n_ctx,
            n_threads=threads,
            n_threads_batch=threads,
            seed=settings.seed,
            verbose=False,
        )
    except ValueError as error:
        raise UserError(
            f"llama.cpp cannot load {model_path} ({error}): point model.local.path at a valid GGUF file"
        ) from None


def _llama_kwargs(model: str, optional_params: dict) -> dict[str, Any]:
    """create_chat_completion arguments from litellm's optional_params."""
    kwargs = {name: optional_params[name] for name in _PASSTHROUGH if optional_params.get(name) is not None}
    response_format = _llama_response_format(model, optional_params.get("response_format"))
    if response_format is not None:
        kwargs["response_format"] = response_format
    return kwargs


def _llama_response_format(model: str, response_format: dict | None) -> dict | None:
    """Map OpenAI response_format to llama.cpp's JSON (optionally schema-constrained) grammar."""
    if response_format is None or response_format.get("type") == "text":
        return None
    kind = response_format.get("type")
    if kind == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
    elif kind == "json_object":
        schema = response_format.get("schema")
    else:
        raise litellm.BadRequestError(
            message=f"response_format type {kind!r} is not supported: use json_schema, json_object or text",
            model=model,
            llm_provider=LOCAL_PROVIDER,
        )
    return {"type": "json_object", "schema": schema} if schema else {"type": "json_object"}


def _fill_response(model_response: ModelResponse, model: str, result: dict) -> ModelResponse:
    """Copy llama.cpp's OpenAI-shaped result into litellm's response, usage included."""
    choice = result["choices"][0]
    model_response.choices[0].message.content = choice["message"]["content"]
    model_response.choices[0].finish_reason = choice["finish_reason"] or "stop"
    model_response.created = result.get("created", int(time.time()))
    model_response.model = f"{LOCAL_PROVIDER}/{model}"
    usage = result["usage"]
    model_response.usage = litellm.Usage(  # type: ignore[attr-defined]
        prompt_tokens=usage["prompt_tokens"],
        completion_tokens=usage["completion_tokens"],
        total_tokens=usage["total_tokens"],
    )
    return model_response


def _register_zero_pricing(model: str) -> None:
    """Price the local model at 0 so litellm's cost (hidden response_cost, completion_cost) is 0.0."""
    key = f"{LOCAL_PROVIDER}/{model}"
    if key not in litellm.model_cost:
        litellm.register_model({key: dict(_ZERO_PRICING)})
