"""`model=local`: the embedded llama.cpp model, a litellm custom provider; llama.cpp loads on the first call."""

from __future__ import annotations

import sys
from typing import Any, ClassVar

from pydantic import Field, model_validator

from synthgen.models.providers.base import REDRAW_STRIDE, LiteLLMModel
from synthgen.models.providers.local.options import LOCAL_PROVIDER, LocalModelSettings
from synthgen.models.providers.local.weights import BUNDLED

_HANDLER_MODULE = "synthgen.models.providers.local.handler"


class EmbeddedModel(LiteLLMModel):
    """Any GGUF model run in process (default: the bundled Qwen2.5-Coder-0.5B-Instruct; `local_large`: the
    1.5B), offline and free."""

    local: LocalModelSettings = Field(default_factory=LocalModelSettings)
    embeds: ClassVar[bool] = False
    stops_loops: ClassVar[bool] = True

    @model_validator(mode="after")
    def _model_is_embedded(self) -> EmbeddedModel:
        if not self.model.startswith(f"{LOCAL_PROVIDER}/"):
            raise ValueError(
                f"unknown model '{self.model}' for the embedded model: its string starts with '{LOCAL_PROVIDER}/' "
                "(fix: set model.local.path to run another GGUF file, or choose an API model, e.g. "
                "model=litellm model.model=<provider>/<model>)"
            )
        name = self.model.removeprefix(f"{LOCAL_PROVIDER}/")
        if self.local.path is None and name not in BUNDLED:
            raise ValueError(
                f"unknown bundled model '{name}' (fix: model=local or model=local_large, or set model.local.path "
                "to a GGUF file)"
            )
        return self

    def context_tokens(self) -> int:
        """`local.n_ctx`: llama.cpp refuses a longer prompt."""
        return self.local.n_ctx

    def register(self) -> None:
        """Check llama-cpp-python and the weights, then route `synthgen-local/...` to the embedded model."""
        from synthgen.models.providers.local.handler import register_local_provider

        register_local_provider(self.local, self.model)

    def check_ready(self) -> None:
        """Nothing to check beyond what `register` did: no key, no network."""

    def call_kwargs(self, draw: int, extra_data: dict[str, Any] | None) -> dict[str, Any]:
        """Draw N of a prompt uses seed `local.seed + N`, so draws differ and repeat exactly; the repetition
        penalty travels with the call, so it is part of the cache key. A redraw of a reply that looped (or ran to
        its limit) raises the penalty by `local.redraw_penalty_step` each time, against what made it loop."""
        redraw = draw // REDRAW_STRIDE
        penalty = round(self.local.repeat_penalty + redraw * self.local.redraw_penalty_step, 3)
        return {"seed": self.local.seed + draw, "repeat_penalty": penalty}

    def price(self, prompt_tokens: int, completion_tokens: int) -> float:
        """The embedded model costs nothing."""
        return 0.0

    def close(self) -> None:
        """Free the weights if they were loaded in this process."""
        if _HANDLER_MODULE in sys.modules:
            sys.modules[_HANDLER_MODULE].close_local_model()
