"""The embedded default model: llama.cpp behind a litellm custom provider."""

from synthgen.local_model.provider import (
    DEFAULT_LOCAL_MODEL,
    LOCAL_PROVIDER,
    close_local_model,
    register_local_provider,
)
from synthgen.local_model.weights import cache_dir, default_model_path, resolve_model_path

__all__ = [
    "DEFAULT_LOCAL_MODEL",
    "LOCAL_PROVIDER",
    "cache_dir",
    "close_local_model",
    "default_model_path",
    "register_local_provider",
    "resolve_model_path",
]
