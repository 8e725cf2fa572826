"""Every option of every config group composes with the real Hydra and validates with pydantic."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir

from synthgen.config.schema import Settings, validate_settings
from synthgen.config.tree import to_plain
from synthgen.core.errors import UserError
from synthgen.core.paths import CONF_DIR, EXAMPLES_DIR

GROUPS = ("model", "loader", "strategy", "mode")
OPTIONS = [(group, path.stem) for group in GROUPS for path in sorted((CONF_DIR / group).glob("*.yaml"))]


def compose_settings(*overrides: str) -> Settings:
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return validate_settings(to_plain(compose(config_name="config", overrides=list(overrides))))


def test_groups_offer_the_documented_options() -> None:
    offered = {group: {option for g, option in OPTIONS if g == group} for group in GROUPS}
    assert offered["model"] >= {"local", "gpt41", "gpt41_mini", "claude", "groq_qwen3", "ollama", "openai_compatible"}
    assert offered["loader"] == {"markdown", "text", "document"}
    assert offered["strategy"] == {"sequential", "random"}
    assert offered["mode"] >= {"queries", "conversation"}


# Options that need a companion choice to be complete.
REQUIRED = {
    ("mode", "facts"): ["fact_template=blue_honeyeater"],
    ("model", "alquimia"): [
        "model.alquimia.base_url=http://127.0.0.1:9",
        "model.alquimia.agent_id=a",
        "model.alquimia.channel_id=c",
    ],
    ("model", "litellm"): ["model.model=mistral/mistral-large-latest"],
    ("model", "http"): ["model.url=http://127.0.0.1:9/chat"],
    ("mode", "trial"): ["mode.judge.enabled=false"],
}
LOADERS = {"markdown": "MarkdownLoader", "text": "TextLoader", "document": "DocumentLoader"}


@pytest.mark.parametrize(("group", "option"), OPTIONS)
def test_every_option_composes_and_validates(group: str, option: str) -> None:
    settings = compose_settings(f"{group}={option}", *REQUIRED.get((group, option), []))
    chosen = getattr(settings, group)
    if group == "model":
        assert chosen.name == option
    elif group == "loader":
        assert type(chosen).__name__ == LOADERS[option]
    else:
        assert chosen.kind == option


def test_defaults_are_the_offline_local_run_on_bundled_examples() -> None:
    settings = compose_settings()
    assert settings.model.model.startswith("synthgen-local/")
    assert settings.source == str(EXAMPLES_DIR)
    assert type(settings.loader).__name__ == "MarkdownLoader"
    assert (settings.strategy.kind, settings.mode.kind) == ("sequential", "queries")
    assert (settings.loader.max_chunk_size, settings.loader.min_chunk_size, settings.loader.overlap) == (2000, 200, 100)  # type: ignore[attr-defined]


def test_command_line_contract_overrides_reach_the_settings() -> None:
    settings = compose_settings(
        "source=docs/",
        "model=gpt41",
        "model.max_concurrency=3",
        "model.api_base=http://127.0.0.1:9/v1",
        "loader=text",
        "loader.max_chunk_size=500",
        "strategy=random",
        "strategy.num_samples=2",
        "strategy.seed=7",
        "mode=conversation",
        "mode.num_turns=4",
        "mode.language=spanish",
        "mode.answers=true",
    )
    assert settings.source == "docs/"
    assert (settings.model.max_concurrency, settings.model.api_base) == (3, "http://127.0.0.1:9/v1")
    assert (type(settings.loader).__name__, settings.loader.max_chunk_size) == ("TextLoader", 500)  # type: ignore[attr-defined]
    assert (settings.strategy.num_samples, settings.strategy.seed) == (2, 7)  # type: ignore[union-attr]
    assert (settings.mode.num_turns, settings.mode.language, settings.mode.answers) == (4, "spanish", True)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("loader.overlap=2000", "overlap"),
        ("loader.min_chunk_size=5000", "min_chunk_size"),
        ("loader.max_chunk_size=0", "loader.max_chunk_size"),
        ("mode.num_queries_per_chunk=0", "mode.num_queries_per_chunk"),
        ("model.temperature=5", "model.temperature"),
        ("+loader.max_chunk_sise=10", "loader.max_chunk_sise"),
    ],
)
def test_bad_settings_are_one_clear_error_naming_the_setting(override: str, named: str) -> None:
    with pytest.raises(UserError, match=named):
        compose_settings(override)
