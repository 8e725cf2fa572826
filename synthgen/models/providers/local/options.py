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
    n_batch: int = Field(512, ge=1)  # prompt tokens llama.cpp evaluates per step
    # Prompt-lookup decoding: tokens guessed at once by copying what followed the last tokens in the prompt, then
    # checked in one step (0 = off; benchmarks/embedded_decoding.py measures it).
    prompt_lookup: int = Field(0, ge=0)
    # llama.cpp states kept in RAM after each call (llama-cpp-python's LlamaRAMCache, least recently used out): a
    # call resumes from the one sharing the longest prefix with its prompt, so the excerpts a chunk's question
    # calls, round trips and top-ups share are read once, whatever ran in between (0 = off: only the last call's).
    prompt_cache_mb: int = Field(1024, ge=0)
    # llama.cpp's extra weight buffers (AMX tiles, repacked weights): they crash llama.cpp (a segfault in the first
    # decode) on a CPU that advertises AMX where the hypervisor does not give it, as on the 2-core build machine.
    extra_buffers: bool = False
    seed: int = 0
    # llama.cpp's penalty on tokens repeated within the last 64: keeps the small model from looping in a reply
    # (1.1 is what Qwen2.5 0.5B's own generation config uses; 1.0 = off).
    repeat_penalty: float = Field(1.1, gt=0)
    # Added to repeat_penalty for each redraw of a reply that looped or ran to its limit (0 = the same penalty).
    redraw_penalty_step: float = Field(0.1, ge=0)
