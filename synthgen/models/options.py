"""A `model` group option by name, for a stage that runs on another model than generation (e.g. a judge)."""

from __future__ import annotations

from hydra.errors import HydraException
from omegaconf import OmegaConf

from synthgen.config.schema import ModelSettings
from synthgen.config.targets import build_target
from synthgen.config.tree import compose_config, group_options
from synthgen.core.errors import UserError
from synthgen.models.providers.base import LiteLLMModel, as_provider


def load_model_option(name: str, setting: str) -> LiteLLMModel:
    """The validated provider of option `name` of the `model` group; `setting` names where it was asked for."""
    try:
        cfg = compose_config([f"model={name}"])
    except HydraException:
        raise UserError(
            f"{setting}: unknown model '{name}' (fix: use null or an option of the model group: "
            f"{', '.join(group_options('model'))})"
        ) from None
    data = OmegaConf.to_container(cfg.model, resolve=True)
    try:
        return as_provider(build_target("model", data, ModelSettings))
    except UserError as error:
        raise UserError(f"{setting}={name}: {error}") from None
