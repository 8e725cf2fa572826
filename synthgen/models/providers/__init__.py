"""Providers: a `model` option names one with `_target_`. `LiteLLMModel` reaches any model litellm knows;
the embedded llama.cpp model and Alquimia agents subclass it and register as litellm custom providers."""
