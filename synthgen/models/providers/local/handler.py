"""The embedded model as a litellm custom provider: llama.cpp in process, shaped like an API."""

from __future__ import annotations

import asyncio
import atexit
import importlib.util
import os
import threading
import time
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import litellm
from litellm import CustomLLM, ModelResponse

from synthgen.core.errors import UserError
from synthgen.models.providers.local.loops import LOOP_CHARS, looping
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
# Streamed chunks (about a token each, at least a character) the loop check looks back over: enough for its
# longest loop.
LOOP_WINDOW = LOOP_CHARS
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


# One call at a time across every embedded model: a llama.cpp context is not thread-safe, and each model uses
# every core but one.
_ONE_AT_A_TIME = threading.Lock()


class LocalLLM(CustomLLM):
    """litellm handler running one lazily loaded llama.cpp model, one call at a time."""

    def __init__(self, settings: LocalModelSettings, model_path: Path) -> None:
        super().__init__()
        self.settings = settings
        self.model_path = model_path
        self._llama: Llama | None = None
        self._lock = _ONE_AT_A_TIME

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
                result = _stream_until_loop(llama, messages, kwargs)
            except ValueError as error:
                if "exceed context window" in str(error):
                    raise litellm.ContextWindowExceededError(
                        message=f"{error} (raise model.local.n_ctx or shorten the prompt)",
                        model=model,
                        llm_provider=LOCAL_PROVIDER,
                    ) from None
                raise
        return _fill_response(model_response, model, result)

    def _loaded(self) -> Llama:
        """The model, loaded on first use; call with the lock held."""
        if self._llama is None:
            self._llama = _load_llama(self.model_path, self.settings)
        return self._llama


class _EmbeddedModels(CustomLLM):
    """The litellm handler of the `synthgen-local/<name>` models: each call goes to the model registered as
    <name>, so a panel may hold several (they take turns: `_ONE_AT_A_TIME`)."""

    def completion(self, model: str, *args: Any, **kwargs: Any) -> ModelResponse:
        return _handler_of(model).completion(model, *args, **kwargs)

    async def acompletion(self, model: str, *args: Any, **kwargs: Any) -> ModelResponse:
        return await _handler_of(model).acompletion(model, *args, **kwargs)


_handlers: dict[str, LocalLLM] = {}  # by model name (after "synthgen-local/")
_ROUTER = _EmbeddedModels()


def _handler_of(model: str) -> LocalLLM:
    name = model.removeprefix(f"{LOCAL_PROVIDER}/")
    if name not in _handlers:
        raise litellm.BadRequestError(
            message=f"the embedded model {name!r} is not registered", model=model, llm_provider=LOCAL_PROVIDER
        )
    return _handlers[name]


def register_local_provider(settings: LocalModelSettings, model: str = DEFAULT_LOCAL_MODEL) -> None:
    """Route "synthgen-local/<name>" calls to the embedded model `model` runs; idempotent.

    Checks that llama-cpp-python is installed and resolves (assembling if needed) the weights
    (`model.local.path`, else the bundled model <name>) now, so setup mistakes surface as
    UserError rather than as litellm errors mid-run. The model itself loads on the first call.
    """
    name = model.removeprefix(f"{LOCAL_PROVIDER}/")
    current = _handlers.get(name)
    if current is None or current.settings != settings:
        _require_llama_cpp()
        model_path = resolve_model_path(settings, name)
        if current is not None:
            current.close()
        _handlers[name] = LocalLLM(settings, model_path)
    others = [item for item in litellm.custom_provider_map if item["provider"] != LOCAL_PROVIDER]
    litellm.custom_provider_map = [*others, {"provider": LOCAL_PROVIDER, "custom_handler": _ROUTER}]
    # litellm does this on every call; doing it now lets register_model resolve the provider.
    litellm.utils.custom_llm_setup()
    _register_zero_pricing(name)


def close_local_model() -> None:
    """Free every embedded model loaded; idempotent, also run at exit."""
    for handler in _handlers.values():
        handler.close()


atexit.register(close_local_model)  # llama_cpp.Llama prints noise when collected at exit


def _require_llama_cpp() -> None:
    """Fail with the install command when llama-cpp-python is missing."""
    if importlib.util.find_spec("llama_cpp") is None:
        raise UserError(_MISSING_LLAMA_CPP)


def _load_llama(model_path: Path, settings: LocalModelSettings) -> Llama:
    """Load the GGUF model quietly (llama-cpp-python hides its load logs when verbose=False)."""
    try:
        from llama_cpp import Llama, LlamaRAMCache
        from llama_cpp.llama_speculative import LlamaPromptLookupDecoding
    except ImportError:
        raise UserError(_MISSING_LLAMA_CPP) from None
    threads = settings.n_threads or default_threads()
    try:
        with model_params(use_extra_bufts=settings.extra_buffers):
            llama = Llama(
                model_path=str(model_path),
                n_ctx=settings.n_ctx,
                n_threads=threads,
                n_threads_batch=threads,
                n_batch=settings.n_batch,
                draft_model=LlamaPromptLookupDecoding(num_pred_tokens=settings.prompt_lookup)
                if settings.prompt_lookup
                else None,
                seed=settings.seed,
                verbose=False,
            )
    except ValueError as error:
        raise UserError(
            f"llama.cpp cannot load {model_path} ({error}): point model.local.path at a valid GGUF file"
        ) from None
    if settings.prompt_cache_mb:
        llama.set_cache(_prompt_cache(LlamaRAMCache, settings.prompt_cache_mb << 20))
    return llama


def _prompt_cache(base: type, capacity_bytes: int) -> Any:
    """llama-cpp-python's RAM cache of llama.cpp states, each kept without its rows of logits but the last
    (a state restored is evaluated again from its last token; the rows, 600 KB a token, would fill the RAM)."""

    class PromptCache(base):
        def __setitem__(self, key: Any, state: Any) -> None:
            state.scores = state.scores[-1:].copy()
            super().__setitem__(key, state)

    return PromptCache(capacity_bytes=capacity_bytes)


def _stream_until_loop(llama: Llama, messages: list, kwargs: dict[str, Any]) -> _Completion:
    """The chat completion, streamed so a reply that starts looping is stopped at the loop (finish_reason
    `length`, as if cut off at max_tokens, so the client draws it again) rather than at max_tokens. Tokens are
    counted from the stream (a chunk a token; llama.cpp's own count of the tokens in its context gives the
    prompt's): a logits processor would count them exactly, at 30% of the decoding speed."""
    import llama_cpp.llama_cpp as native

    parts: list[str] = []
    finish: Literal["stop", "length"] = "stop"
    native.llama_perf_context_reset(llama.ctx)
    stream = llama.create_chat_completion(messages=messages, stream=True, **kwargs)
    for chunk in cast(Iterator[dict], stream):
        choice = chunk["choices"][0]
        content = choice["delta"].get("content")
        if content:
            parts.append(content)
            if looping("".join(parts[-LOOP_WINDOW:])):
                finish = "length"
                break
        if choice["finish_reason"] == "length":
            finish = "length"
    cast(Generator, stream).close()
    # The context holds the prompt and every reply token but a cut-off reply's last one (never evaluated).
    prompt_tokens = max(llama.n_tokens - len(parts) + (finish == "length"), 0)
    # llama.cpp evaluates only the prompt after its longest prefix shared with the last call's context.
    evaluated = native.llama_perf_context(llama.ctx).n_p_eval
    return _Completion("".join(parts), finish, prompt_tokens, len(parts), max(prompt_tokens - evaluated, 0))


@contextmanager
def model_params(**fields: Any) -> Iterator[None]:
    """Load a model with these `llama_model_params` fields changed: `Llama()` takes no argument for some (e.g.
    `use_extra_bufts`), so its defaults are wrapped while it loads (under the handler's lock: one load at a time)."""
    import llama_cpp.llama_cpp as native

    defaults = native.llama_model_default_params

    def changed() -> Any:
        params = defaults()
        for name, value in fields.items():
            setattr(params, name, value)
        return params

    native.llama_model_default_params = changed
    try:
        yield
    finally:
        native.llama_model_default_params = defaults


def default_threads() -> int:
    """Every core but one: llama.cpp's threads spin while they wait for each other, so one more thread than the
    cores left free (the run's own work, anything else on the machine) makes decoding several times slower
    (docs/embedded-model.md)."""
    return max(1, (os.cpu_count() or 1) - 1)


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


@dataclass(frozen=True)
class _Completion:
    """A finished (or stopped) reply: its text, finish reason and token counts (one token per streamed chunk)."""

    content: str
    finish_reason: Literal["stop", "length"]
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int  # of prompt_tokens, those llama.cpp's context still held from the last call


def _fill_response(model_response: ModelResponse, model: str, result: _Completion) -> ModelResponse:
    """Copy the reply into litellm's response, usage included."""
    model_response.choices[0].message.content = result.content
    model_response.choices[0].finish_reason = result.finish_reason
    model_response.created = int(time.time())
    model_response.model = f"{LOCAL_PROVIDER}/{model}"
    model_response.usage = litellm.Usage(  # type: ignore[attr-defined]
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
        total_tokens=result.prompt_tokens + result.completion_tokens,
        prompt_tokens_details={"cached_tokens": result.cached_tokens},
    )
    return model_response


def _register_zero_pricing(model: str) -> None:
    """Price the local model at 0 so litellm's cost (hidden response_cost, completion_cost) is 0.0."""
    key = f"{LOCAL_PROVIDER}/{model}"
    if key not in litellm.model_cost:
        litellm.register_model({key: dict(_ZERO_PRICING)})
