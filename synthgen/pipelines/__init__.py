"""Pipelines, looked up by `mode.pipeline`: documents/ (test sets) and facts/ (fine-tuning data)."""
