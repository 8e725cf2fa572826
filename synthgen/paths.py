"""Where synthgen keeps files that outlive a run (model weights, the call cache)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """$SYNTHGEN_CACHE_DIR, else $XDG_CACHE_HOME/synthgen, else ~/.cache/synthgen."""
    if explicit := os.environ.get("SYNTHGEN_CACHE_DIR"):
        return Path(explicit).expanduser()
    if xdg := os.environ.get("XDG_CACHE_HOME"):
        return Path(xdg).expanduser() / "synthgen"
    return Path.home() / ".cache" / "synthgen"
