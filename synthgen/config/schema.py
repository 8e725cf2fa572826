"""Typed, validated settings: the composed Hydra config after pydantic checks."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from synthgen.config.targets import InvalidConfig, build_target, problems_of
from synthgen.config.tree import group_options
from synthgen.core.errors import UserError

# Upper bounds of the counts a user sets: a larger value is a mistake (it would spin while planning, or ask one call
# for more than a reply can hold), named in one line by validation. docs/hooks/descriptions.yaml states each.
MAX_PER_UNIT = 50  # questions per chunk, turns per conversation
MAX_TOP_UPS = 10
MAX_SAMPLES = 100_000
MAX_CHUNKS_PER_SAMPLE = 1_000


class Strict(BaseModel):
    """Base for settings: unknown keys are errors, so typos never pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelSettings(Strict):
    """One model reached through litellm. A `model` option names its provider class with `_target_`
    (a subclass in synthgen/models/providers/ that adds its own fields and call hooks)."""

    name: str
    model: str
    api_base: str | None = None
    api_key_env: str | None = None
    temperature: float = Field(0.7, ge=0.0, le=2.0)
    max_tokens: int = Field(1024, ge=1)
    output_budgets: bool = True
    max_concurrency: int = Field(8, ge=1)
    adaptive: bool = True
    timeout: float = Field(60.0, gt=0)
    retries: int = Field(4, ge=0)
    backoff_base: float = Field(1.0, ge=0)
    backoff_max: float = Field(30.0, ge=0)
    rpm: int | None = Field(None, ge=1)
    tpm: int | None = Field(None, ge=1)
    structured_output: Literal["auto", "json_schema", "llama_cpp", "ollama", "vllm", "json_object", "prompt"] = (
        "json_schema"
    )
    batch: bool = False
    batch_poll_interval: float = Field(15.0, gt=0)
    batch_max_wait: float = Field(25 * 3600.0, gt=0)
    llm_judge: bool = True
    quote_choices: bool = False

    @field_validator("api_base")
    @classmethod
    def _api_base_is_a_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"https?://[^\s/?#]+", value):
            raise ValueError(
                f"'{value}' is not an http(s) URL (fix: e.g. model.api_base=http://127.0.0.1:8000/v1, or null)"
            )
        return value


class LoaderSettings(Strict):
    """What every loader has: the file suffixes it picks up from directories and globs. A `loader` option names
    its class with `_target_` (a subclass in synthgen/sources/ that adds its own fields and splits documents)."""

    extensions: list[str] = Field(default_factory=lambda: [".md", ".markdown", ".txt"])
    strict: bool = False  # true: one unreadable file of a source of several stops the run


class StrategySettings(Strict):
    """What every strategy has: its name (in sample ids). A `strategy` option names its class with `_target_` (a
    subclass in synthgen/pipelines/documents/strategies.py that adds its own fields and groups the chunks)."""

    kind: str = Field(min_length=1)


class QuestionTypeSettings(Strict):
    """One question type (an entry of conf/question_types/): its prompt and what its items must satisfy."""

    prompt: str = Field(min_length=1)
    chunks: int = Field(1, ge=1, le=3)
    # Evidence first: the passages of each excerpt a question is asked about (2 for a comparison of two things).
    passages: int = Field(1, ge=1, le=3)
    answerable: bool = True
    fields: dict[str, str] = Field(default_factory=dict)
    answer_instructions: str = ""
    # By language (mode.language): a regular expression (case-insensitive) every question of the type must
    # contain, e.g. a comparison's words; a question without it is rejected as `off_type`. None for a language
    # not listed: no such check.
    patterns: dict[str, str] = Field(default_factory=dict)

    @field_validator("patterns")
    @classmethod
    def _patterns_compile(cls, value: dict[str, str]) -> dict[str, str]:
        for language, pattern in value.items():
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"{language}: not a regular expression ({error})") from None
        return {language.casefold(): pattern for language, pattern in value.items()}


Difficulty = Literal["easy", "medium", "hard"]


class EvidenceSettings(Strict):
    """The deterministic quote check: every quote an item claims must be in its chunks."""

    enabled: bool = True
    cite: Literal["number", "text"] = "number"
    threshold: float = Field(0.9, gt=0.0, le=1.0)
    min_quote_chars: int = Field(15, ge=1)


class RoundTripSettings(Strict):
    """The round trip: a short call answers each question by choosing the passages that answer it, and the item
    stays only if they are its own evidence (none, for a type the documents must not answer)."""

    enabled: bool = True
    prompt: str = "roundtrip.j2"
    # Queries of one chunk (and excerpts) asked in one call: true, false (one call per question), or auto: true
    # but for models with quote_choices (the embedded ones, whose prompt cache reads a chunk once anyway).
    together: bool | Literal["auto"] = "auto"


class DocumentJudgeSettings(Strict):
    """The optional LLM judge of document items, and its closed-book check."""

    enabled: bool = False
    model: str | None = Field(None, min_length=1)
    temperature: float | None = Field(0.0, ge=0.0, le=2.0)
    closed_book: bool = False
    prompt: str = "document_judge.j2"
    closed_book_prompt: str = "closed_book.j2"


class DedupSettings(Strict):
    """Exact and near-duplicate questions across the run: by their words and, with an embedding model, by the
    cosine similarity of their embeddings."""

    threshold: float = Field(0.92, gt=0.0, le=1.0)
    embedding_model: str | None = Field(None, min_length=1)
    embedding_threshold: float = Field(0.9, gt=0.0, le=1.0)


class ModeSettings(Strict):
    """What every mode has: its name and the Pipeline class that runs it. A `mode` option names its settings class
    with `_target_` (a subclass that adds its own fields and sets both defaults)."""

    uses_fact_template: ClassVar[bool] = False  # it needs a `fact_template`, which other modes refuse

    kind: str = Field(min_length=1)
    pipeline: str = Field(min_length=1)


class DocumentModeSettings(ModeSettings):
    """What both document-grounded modes share."""

    pipeline: str = "synthgen.pipelines.documents.DocumentPipeline"

    language: str = Field("english", min_length=1)
    assistant_id: str = Field("synthgen-assistant", min_length=1)
    seed_examples: list[str] = Field(default_factory=list)
    answers: bool = False
    answer_prompt: str = "answer.j2"
    max_top_up_calls: int = Field(2, ge=0, le=MAX_TOP_UPS)
    types: dict[str, QuestionTypeSettings] = Field(
        default_factory=lambda: {"factual": QuestionTypeSettings(prompt="question_types/factual.j2")}
    )
    question_types: dict[str, float] = Field(default_factory=lambda: {"factual": 1.0})
    difficulty: dict[Difficulty, float] | None = None
    personas: list[str] | str = Field(default_factory=list)
    generation: Literal["auto", "evidence_first", "free"] = "auto"
    evidence: EvidenceSettings = Field(default_factory=EvidenceSettings)
    roundtrip: RoundTripSettings = Field(default_factory=RoundTripSettings)
    judge: DocumentJudgeSettings = Field(default_factory=DocumentJudgeSettings)
    dedup: DedupSettings = Field(default_factory=DedupSettings)

    @field_validator("question_types", "difficulty")
    @classmethod
    def _shares(cls, shares: dict[str, float] | None) -> dict[str, float] | None:
        if shares is None:
            return None
        if any(share < 0 for share in shares.values()) or sum(shares.values()) <= 0:
            raise ValueError("shares must be >= 0 with at least one above 0")
        return {name: share for name, share in shares.items() if share > 0}

    @field_validator("personas")
    @classmethod
    def _personas(cls, personas: list[str] | str) -> list[str] | str:
        if isinstance(personas, list) and not all(persona.strip() for persona in personas):
            raise ValueError("entries must not be blank")
        return personas

    @model_validator(mode="after")
    def _known_types(self) -> DocumentModeSettings:
        unknown = sorted(set(self.question_types) - set(self.types))
        if unknown:
            raise ValueError(
                f"question_types: unknown type '{unknown[0]}' (known: {', '.join(self.types)}; a new type is "
                "an entry in mode.types, e.g. conf/question_types/standard.yaml, plus its prompt file)"
            )
        return self


class QueriesModeSettings(DocumentModeSettings):
    """Independent questions per chunk."""

    kind: Literal["queries"] = "queries"
    num_queries_per_chunk: int = Field(3, ge=1, le=MAX_PER_UNIT)
    prompt: str = "queries.j2"


class ConversationModeSettings(DocumentModeSettings):
    """One coherent multi-turn conversation per chunk (or per random sample), each its own dataset."""

    kind: Literal["conversation"] = "conversation"
    num_turns: int = Field(3, ge=1, le=MAX_PER_UNIT)
    prompt: str = "conversation.j2"

    @model_validator(mode="after")
    def _single_chunk_types(self) -> ConversationModeSettings:
        several = [name for name in self.question_types if name in self.types and self.types[name].chunks > 1]
        if several:
            raise ValueError(
                f"question_types: {several[0]} combines several chunks, which conversation turns do not "
                f"(fix: drop it, e.g. mode.question_types.{several[0]}=0)"
            )
        return self


class FactsValidationSettings(Strict):
    """Facts mode checks: an LLM compliance judge and deterministic inclusion and format checks."""

    model: str | None = Field(None, min_length=1)
    temperature: float | None = Field(0.0, ge=0.0, le=2.0)
    judge_questions: bool = True
    judge_answers: bool = True
    inclusion_check: Literal["exact", "case_insensitive", "key_terms"] = "key_terms"
    key_term_coverage: float = Field(0.8, gt=0.0, le=1.0)
    format_check: bool = True


class FactsModeSettings(ModeSettings):
    """Fine-tuning data that teaches the fact of `fact_template`: `limit` question/answer items."""

    uses_fact_template: ClassVar[bool] = True

    kind: Literal["facts"] = "facts"
    pipeline: str = "synthgen.pipelines.facts.FactsPipeline"
    seed: int = 0
    question_prompt: str = "fact_question.j2"
    answer_prompt: str = "fact_answer.j2"
    validation_prompt: str = "fact_validation.j2"
    near_duplicate_threshold: float = Field(0.95, gt=0.0, le=1.0)
    system_prompt: str | None = None
    doc_tag: str | None = None
    answer_attempts: int = Field(1, ge=1)
    dpo: bool = False
    probes: int = Field(0, ge=0)
    held_out_questions: int | None = Field(None, ge=0)
    validation: FactsValidationSettings = Field(default_factory=FactsValidationSettings)

    @model_validator(mode="after")
    def _dpo_needs_a_second_attempt(self) -> FactsModeSettings:
        if self.dpo and self.answer_attempts < 2:
            raise ValueError(
                f"dpo=true needs answer_attempts of 2 or more, not {self.answer_attempts}: a pair is an answer the "
                "checks rejected and a later one they kept (set mode.answer_attempts=2)"
            )
        return self


class FactTemplate(BaseModel):
    """One fact to teach (a `fact_template` config option)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fact_name: str = Field(min_length=1)
    given_fact: str = Field(min_length=1)
    specific_information_to_always_include: str = Field(min_length=1)
    questions: list[str] = Field(min_length=1)
    question_requirements: list[str] = Field(min_length=1)
    probe_questions: list[str] = Field(default_factory=list)

    @field_validator("fact_name", "given_fact", "specific_information_to_always_include")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("questions", "question_requirements", "probe_questions")
    @classmethod
    def _distinct_non_blank(cls, values: list[str]) -> list[str]:
        stripped = [value.strip() for value in values]
        if not all(stripped):
            raise ValueError("entries must not be blank")
        repeated = sorted({value for value in stripped if stripped.count(value) > 1})
        if repeated:
            raise ValueError(f"entries must be distinct, repeated: {repeated[0]!r}")
        return stripped

    @model_validator(mode="after")
    def _probes_held_out(self) -> FactTemplate:
        shared = [question for question in self.probe_questions if question in self.questions]
        if shared:
            raise ValueError(
                f"probe_questions must be held out of questions, but both list {shared[0]!r} (remove it from one)"
            )
        return self


class CacheSettings(Strict):
    """The persistent call cache shared by every run on the machine."""

    mode: Literal["use", "refresh", "off"] = "use"
    path: str | None = None


class ShardSettings(Strict):
    """This job runs shard `index` of `count`: one contiguous block of the work units."""

    count: int = Field(1, ge=1)
    index: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _index_in_range(self) -> ShardSettings:
        if self.index >= self.count:
            raise ValueError(f"index ({self.index}) must be smaller than count ({self.count}): shards are 0..count-1")
        return self


class Settings(Strict):
    """The whole validated run configuration."""

    source: str | list[str]
    model: ModelSettings
    loader: LoaderSettings
    strategy: StrategySettings
    mode: ModeSettings
    fact_template: FactTemplate | None = None
    limit: int | None = Field(None, ge=1)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    max_cost_usd: float | None = Field(None, gt=0)
    max_failure_rate: float = Field(0.5, ge=0.0, le=1.0)
    dry_run: bool = False
    resume: bool = True
    report: bool = True
    quiet: bool = False
    export: dict[str, dict[str, Any]] = Field(default_factory=dict)
    shard: ShardSettings = Field(default_factory=ShardSettings)
    baseline: str | None = Field(None, min_length=1)  # an earlier run directory this run updates (docs/updating.md)


def validate_settings(raw: dict[str, Any]) -> Settings:
    """Validate a plain config dict, turning pydantic errors into one clear UserError."""
    built = {
        "model": build_target("model", raw.get("model"), ModelSettings),
        "loader": build_target("loader", raw.get("loader"), LoaderSettings),
        "strategy": build_target("strategy", raw.get("strategy"), StrategySettings),
        "mode": build_target("mode", raw.get("mode"), ModeSettings),
    }
    try:
        settings = Settings.model_validate({**raw, **built})
    except ValidationError as error:
        raise InvalidConfig(problems_of(error)) from None
    uses_template = settings.mode.uses_fact_template
    if uses_template and settings.fact_template is None:
        options = ", ".join(group_options("fact_template"))
        raise UserError(f"mode=facts needs a fact template (fix: add fact_template=NAME, one of: {options})")
    if uses_template and settings.baseline is not None:
        raise UserError("baseline= updates a document test set; mode=facts makes none (fix: drop baseline=)")
    if not uses_template and settings.fact_template is not None:
        raise UserError(
            f"fact_template={settings.fact_template.fact_name} is set but mode={settings.mode.kind} does not use it "
            "(fix: add mode=facts, or drop fact_template)"
        )
    return settings
