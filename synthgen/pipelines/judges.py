"""The model a judge stage runs on, shared by every pipeline that has one."""

from __future__ import annotations

from synthgen.models.options import load_model_option
from synthgen.models.providers.base import LiteLLMModel


def judge_provider(generation: LiteLLMModel, name: str | None, temperature: float | None, setting: str) -> LiteLLMModel:
    """The generation model or the `model` group option `name` (asked for by `setting`), at `temperature`
    (None: the model's own)."""
    base = generation if name is None else load_model_option(name, setting)
    return base if temperature is None else base.model_copy(update={"temperature": temperature})
