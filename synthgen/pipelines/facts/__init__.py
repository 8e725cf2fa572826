"""Synthetic fact data for fine-tuning (`mode=facts`): fact template → questions → answers → validation."""

from synthgen.pipelines.facts.pipeline import FactsPipeline

__all__ = ["FactsPipeline"]
