"""synthgen: declarative, config-driven synthetic dataset generation with LLMs."""

__version__ = "0.1.0"
