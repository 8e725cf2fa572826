"""Where synthgen's bundled files are (config tree, prompts, examples) and where it keeps files between runs."""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent


def bundled(name: str) -> Path:
    """A folder shipped with synthgen: inside the installed wheel, or at the top of a source checkout."""
    inside = _PACKAGE / name
    return inside if inside.is_dir() else _PACKAGE.parent / name


CONF_DIR = bundled("conf")
PROMPTS_DIR = bundled("prompts")
EXAMPLES_DIR = bundled("examples")


def cache_dir() -> Path:
    """$SYNTHGEN_CACHE_DIR, else $XDG_CACHE_HOME/synthgen, else ~/.cache/synthgen."""
    if explicit := os.environ.get("SYNTHGEN_CACHE_DIR"):
        return Path(explicit).expanduser()
    if xdg := os.environ.get("XDG_CACHE_HOME"):
        return Path(xdg).expanduser() / "synthgen"
    return Path.home() / ".cache" / "synthgen"
