"""Stable identifiers: the same inputs give the same id in every process."""

from __future__ import annotations

import hashlib


def stable_id(*parts: str, length: int = 16) -> str:
    """A hex digest of the parts (NUL-separated), shortened to `length` characters."""
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:length]
