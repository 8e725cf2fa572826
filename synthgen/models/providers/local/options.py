"""Settings of the embedded model (`model.local.*`)."""

from __future__ import annotations

from pydantic import Field

from synthgen.config.schema import Strict

LOCAL_PROVIDER = "synthgen-local"  # model strings "synthgen-local/<name>" reach the embedded model


class LocalModelSettings(Strict):
    """The embedded llama.cpp model."""

    path: str | None = None
    n_ctx: int = Field(4096, ge=512)
    n_threads: int | None = Field(None, ge=1)
    seed: int = 0
