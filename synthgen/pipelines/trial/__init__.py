"""mode=trial: answer a generated set with the assistant under test, score every answer, calibrate every item."""

from synthgen.pipelines.trial.pipeline import TrialPipeline

__all__ = ["TrialPipeline"]
