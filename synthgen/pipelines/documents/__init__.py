"""Document-grounded test sets: chunks → samples → questions (or conversations) → answers → datasets.jsonl."""

from synthgen.pipelines.documents.pipeline import DocumentPipeline

__all__ = ["DocumentPipeline"]
