"""Where the Hydra config tree lives, its resolvers, and composing it outside the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

ROOT = Path(__file__).resolve().parent.parent
CONF_DIR = ROOT / "conf"
EXAMPLES_DIR = ROOT / "examples"


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
