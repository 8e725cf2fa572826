"""The settings of `mode=trial`: a generated set answered by the assistant under test (`model`) and scored."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from synthgen.config.schema import ModeSettings, Strict

# Phrases of an assistant declining to answer, or saying its sources do not cover the question (lower case).
REFUSAL_PHRASES = [
    "i don't know",
    "i do not know",
    "i cannot answer",
    "i can't answer",
    "i'm not able to answer",
    "i am not able to answer",
    "i'm unable to",
    "i am unable to",
    "cannot help with",
    "can't help with",
    "no information",
    "not mentioned",
    "does not mention",
    "doesn't mention",
    "does not say",
    "doesn't say",
    "does not specify",
    "doesn't specify",
    "does not provide",
    "doesn't provide",
    "not covered",
    "does not cover",
    "doesn't cover",
    "not in the documentation",
    "not in the provided",
    "no mention",
    "not enough information",
    "insufficient information",
]


class TrialJudgeSettings(Strict):
    """The judge of each answer against the item's reference answer and evidence (`mode.judge.*`)."""

    enabled: bool = True
    model: str | None = Field(None, min_length=1)
    temperature: float | None = Field(0.0, ge=0.0, le=2.0)
    prompt: str = "trial_judge.j2"


class TrialModeSettings(ModeSettings):
    """Answer a generated set (`source`) with the assistant under test (`model`) and score every answer."""

    kind: Literal["trial"] = "trial"
    pipeline: str = "synthgen.pipelines.trial.TrialPipeline"
    context: Literal["none", "reference"] = "none"
    context_prompt: str = "trial_context.j2"
    judge: TrialJudgeSettings = Field(default_factory=TrialJudgeSettings)
    f1_threshold: float = Field(0.5, gt=0.0, le=1.0)
    refusal_phrases: list[str] | None = None  # None: REFUSAL_PHRASES
    level: float = Field(0.95, gt=0.0, lt=1.0)

    @model_validator(mode="after")
    def _judge_named(self) -> TrialModeSettings:
        if self.judge.enabled and self.judge.model is None:
            raise ValueError(
                "judge.model is required to score answers (fix: mode.judge.model=<an option of the model group, "
                "e.g. gpt41_mini>, or mode.judge.enabled=false for deterministic scores only)"
            )
        return self

    def refusals(self) -> list[str]:
        """The phrases that mark a refusal, lower case."""
        return [phrase.lower() for phrase in (self.refusal_phrases or REFUSAL_PHRASES)]
