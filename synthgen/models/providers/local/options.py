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
    # llama.cpp's penalty on tokens repeated within the last 64: keeps the small model from looping in a reply
    # (1.1 is what Qwen2.5 0.5B's own generation config uses; 1.0 = off).
    repeat_penalty: float = Field(1.1, gt=0)
