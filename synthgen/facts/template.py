"""The fact template schema: the fact to teach and the seeds that vary how it is asked about."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class FactTemplate(BaseModel):
    """One fact to teach (a `fact_template` config option)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fact_name: str = Field(min_length=1)
    given_fact: str = Field(min_length=1)
    specific_information_to_always_include: str = Field(min_length=1)
    questions: list[str] = Field(min_length=1)
    question_requirements: list[str] = Field(min_length=1)

    @field_validator("fact_name", "given_fact", "specific_information_to_always_include")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("questions", "question_requirements")
    @classmethod
    def _distinct_non_blank(cls, values: list[str]) -> list[str]:
        stripped = [value.strip() for value in values]
        if not all(stripped):
            raise ValueError("entries must not be blank")
        repeated = sorted({value for value in stripped if stripped.count(value) > 1})
        if repeated:
            raise ValueError(f"entries must be distinct, repeated: {repeated[0]!r}")
        return stripped
