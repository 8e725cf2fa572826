"""Typed, validated settings: the composed Hydra config after pydantic checks."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from synthgen.config import CONF_DIR
from synthgen.errors import UserError
from synthgen.facts.template import FactTemplate


class Strict(BaseModel):
    """Base for settings: unknown keys are errors, so typos never pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class LocalModelSettings(Strict):
    """The embedded llama.cpp model."""

    path: str | None = None
    n_ctx: int = Field(4096, ge=512)
    n_threads: int | None = Field(None, ge=1)
    seed: int = 0


class AlquimiaSettings(Strict):
    """An Alquimia agent (`model=alquimia`): where it lives; its prompt lives on the server."""

    base_url: str = Field(min_length=1)
    agent_id: str = Field(min_length=1)
    channel_id: str = Field(min_length=1)
    api_version: str | None = None
    chat_history: int = Field(50, ge=0)
    agentspace: str = Field("_default", min_length=1)


class ModelSettings(Strict):
    """One model reached through litellm (an API, a local server or the embedded model)."""

    name: str
    model: str
    api_base: str | None = None
    api_key_env: str | None = None
    temperature: float = Field(0.7, ge=0.0, le=2.0)
    max_tokens: int = Field(1024, ge=1)
    max_concurrency: int = Field(8, ge=1)
    timeout: float = Field(60.0, gt=0)
    retries: int = Field(4, ge=0)
    backoff_base: float = Field(1.0, ge=0)
    backoff_max: float = Field(30.0, ge=0)
    rpm: int | None = Field(None, ge=1)
    tpm: int | None = Field(None, ge=1)
    structured_output: Literal["json_schema", "json_object", "prompt"] = "json_schema"
    llm_judge: bool = True
    local: LocalModelSettings | None = None
    alquimia: AlquimiaSettings | None = None

    @model_validator(mode="after")
    def _alquimia_model_names_the_agent(self) -> ModelSettings:
        if self.alquimia is not None and self.model != f"alquimia/{self.alquimia.agent_id}":
            raise ValueError(
                f"an Alquimia agent's model string must be 'alquimia/{self.alquimia.agent_id}', not "
                f"'{self.model}' (fix: leave model.model alone and set model.alquimia.agent_id)"
            )
        return self


class ChunkSizes(Strict):
    """Size rules shared by every loader."""

    max_chunk_size: int = Field(2000, gt=0)
    min_chunk_size: int = Field(200, ge=0)
    overlap: int = Field(100, ge=0)
    extensions: list[str] = Field(default_factory=lambda: [".md", ".markdown", ".txt"])

    @model_validator(mode="after")
    def _sizes_agree(self) -> ChunkSizes:
        if self.overlap >= self.max_chunk_size:
            raise ValueError(
                f"overlap ({self.overlap}) must be smaller than max_chunk_size ({self.max_chunk_size})"
            )
        if self.min_chunk_size > self.max_chunk_size:
            raise ValueError(
                f"min_chunk_size ({self.min_chunk_size}) must not exceed max_chunk_size ({self.max_chunk_size})"
            )
        return self


class MarkdownLoaderSettings(ChunkSizes):
    """Markdown split on headers of the given levels, then on size."""

    kind: Literal["markdown"] = "markdown"
    header_levels: list[Annotated[int, Field(ge=1, le=6)]] = Field(default_factory=lambda: [1, 2, 3])


class TextLoaderSettings(ChunkSizes):
    """Plain text split on paragraphs, then on size."""

    kind: Literal["text"] = "text"


LoaderSettings = Annotated[Union[MarkdownLoaderSettings, TextLoaderSettings], Field(discriminator="kind")]


class SequentialStrategySettings(Strict):
    """All chunks, in order, in one dataset."""

    kind: Literal["sequential"] = "sequential"


class RandomStrategySettings(Strict):
    """num_samples datasets of chunks_per_sample chunks drawn with a seed."""

    kind: Literal["random"] = "random"
    num_samples: int = Field(5, ge=1)
    chunks_per_sample: int = Field(3, ge=1)
    seed: int = 42
    with_replacement: bool = False


StrategySettings = Annotated[
    Union[SequentialStrategySettings, RandomStrategySettings], Field(discriminator="kind")
]


class DocumentModeSettings(Strict):
    """What both document-grounded modes share."""

    language: str = Field("english", min_length=1)
    assistant_id: str = Field("synthgen-assistant", min_length=1)
    seed_examples: list[str] = Field(default_factory=list)
    answers: bool = False
    answer_prompt: str = "answer.j2"
    max_top_up_calls: int = Field(2, ge=0)


class QueriesModeSettings(DocumentModeSettings):
    """Independent questions per chunk."""

    kind: Literal["queries"] = "queries"
    num_queries_per_chunk: int = Field(3, ge=1)
    prompt: str = "queries.j2"


class ConversationModeSettings(DocumentModeSettings):
    """One coherent multi-turn conversation per chunk."""

    kind: Literal["conversation"] = "conversation"
    num_turns: int = Field(3, ge=1)
    prompt: str = "conversation.j2"


class FactsValidationSettings(Strict):
    """Facts mode checks: an LLM compliance judge and a deterministic inclusion check."""

    model: str | None = Field(None, min_length=1)
    temperature: float | None = Field(0.0, ge=0.0, le=2.0)
    judge_questions: bool = True
    judge_answers: bool = True
    inclusion_check: Literal["exact", "case_insensitive", "key_terms"] = "key_terms"
    key_term_coverage: float = Field(0.8, gt=0.0, le=1.0)


class FactsModeSettings(Strict):
    """Fine-tuning data that teaches the fact of `fact_template`: `limit` question/answer items."""

    kind: Literal["facts"] = "facts"
    seed: int = 0
    question_prompt: str = "fact_question.j2"
    answer_prompt: str = "fact_answer.j2"
    validation_prompt: str = "fact_validation.j2"
    near_duplicate_threshold: float = Field(0.95, gt=0.0, le=1.0)
    system_prompt: str | None = None
    doc_tag: str | None = None
    validation: FactsValidationSettings = Field(default_factory=FactsValidationSettings)


ModeSettings = Annotated[
    Union[QueriesModeSettings, ConversationModeSettings, FactsModeSettings], Field(discriminator="kind")
]


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
    dry_run: bool = False
    shard: ShardSettings = Field(default_factory=ShardSettings)


def _describe(error: ValidationError) -> str:
    """One line per problem, each naming the setting to fix."""
    lines = []
    for item in error.errors():
        # Discriminated unions add the tag (e.g. "markdown") to the location: drop it.
        loc = [str(p) for p in item["loc"] if not isinstance(p, int)]
        if len(loc) > 1 and loc[1] in {"markdown", "text", "sequential", "random", "queries", "conversation", "facts"}:
            loc.pop(1)
        message = item["msg"].removeprefix("Value error, ")
        lines.append(f"{'.'.join(loc) or 'config'}: {message}")
    return "; ".join(lines)


def validate_settings(raw: dict[str, Any]) -> Settings:
    """Validate a plain config dict, turning pydantic errors into one clear UserError."""
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as error:
        raise UserError(f"invalid config: {_describe(error)} (fix the value on the command line or in conf/)") from None
    if settings.mode.kind == "facts" and settings.fact_template is None:
        options = ", ".join(sorted(path.stem for path in (CONF_DIR / "fact_template").glob("*.yaml")))
        raise UserError(f"mode=facts needs a fact template (fix: add fact_template=NAME, one of: {options})")
    return settings
