"""The Hydra config tree: its resolvers, plain containers for pydantic, and composing it outside the CLI."""

from __future__ import annotations

import threading
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, OmegaConf

from synthgen.core.paths import CONF_DIR, EXAMPLES_DIR

_COMPOSE_LOCK = threading.Lock()  # Hydra's GlobalHydra is one per process


def register_resolvers() -> None:
    """`${synthgen_examples:}` is the bundled example documents folder, wherever synthgen is run from."""
    if not OmegaConf.has_resolver("synthgen_examples"):
        OmegaConf.register_new_resolver("synthgen_examples", lambda: str(EXAMPLES_DIR))


def to_plain(cfg: DictConfig) -> dict[str, Any]:
    """The job config as plain containers (resolved, without the hydra node) for pydantic."""
    register_resolvers()
    data = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False)
    assert isinstance(data, dict)
    data.pop("hydra", None)
    return {str(k): v for k, v in data.items()}


def compose_config(overrides: list[str], *, bundled: bool = False) -> DictConfig:
    """The composed job config for `overrides`.

    Inside a running Hydra app this uses the app's search path (so a user's `--config-dir` options are found);
    elsewhere, or with `bundled`, the bundled tree only.
    """
    register_resolvers()
    if not bundled and GlobalHydra.instance().is_initialized():
        return compose(config_name="config", overrides=overrides)
    with _COMPOSE_LOCK:
        GlobalHydra.instance().clear()
        try:
            with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
                return compose(config_name="config", overrides=overrides)
        finally:
            GlobalHydra.instance().clear()


def group_options(group: str) -> list[str]:
    """The option names of a bundled config group (e.g. `model`), sorted."""
    return sorted(path.stem for path in (CONF_DIR / group).glob("*.yaml"))
