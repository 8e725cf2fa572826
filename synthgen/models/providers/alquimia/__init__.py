"""`model=alquimia`: an Alquimia agent (its prompt lives on the server) as a litellm custom provider."""

from __future__ import annotations

import os
from typing import Any, ClassVar

from pydantic import Field, model_validator

from synthgen.config.schema import Strict
from synthgen.core.errors import UserError
from synthgen.models.providers.base import LiteLLMModel


class AlquimiaSettings(Strict):
    """Where the agent lives (`model.alquimia.*`)."""

    base_url: str = Field(min_length=1)
    agent_id: str = Field(min_length=1)
    channel_id: str = Field(min_length=1)
    api_version: str | None = None
    chat_history: int = Field(50, ge=0)
    agentspace: str = Field("_default", min_length=1)


class AlquimiaAgent(LiteLLMModel):
    """Questions from an Alquimia agent; the call's context travels as the agent's `extra_data`."""

    alquimia: AlquimiaSettings
    embeds: ClassVar[bool] = False

    @model_validator(mode="after")
    def _model_names_the_agent(self) -> AlquimiaAgent:
        if self.model != f"alquimia/{self.alquimia.agent_id}":
            raise ValueError(
                f"an Alquimia agent's model string must be 'alquimia/{self.alquimia.agent_id}', not "
                f"'{self.model}' (fix: leave model.model alone and set model.alquimia.agent_id)"
            )
        return self

    def register(self) -> None:
        """Route `alquimia/...` models to the Alquimia handler."""
        from synthgen.models.providers.alquimia.handler import register_alquimia_provider

        register_alquimia_provider()

    def check_ready(self) -> None:
        """The key must be in the environment variable `api_key_env` names."""
        if self._request_key is None and not os.environ.get(self.api_key_env or ""):
            variable = self.api_key_env or "ALQUIMIA_API_KEY"
            raise UserError(
                f"model '{self.name}' needs the Alquimia API key in the environment "
                f"(fix: export {variable}=... and keep model.api_key_env={variable})"
            )

    def call_kwargs(self, draw: int, extra_data: dict[str, Any] | None) -> dict[str, Any]:
        """The agent's settings, the call's context and the draw go to the handler (and into the cache key)."""
        return {
            **super().call_kwargs(draw, extra_data),
            "alquimia": {**self.alquimia.model_dump(), "extra_data": extra_data or {}, "sample": draw},
        }
