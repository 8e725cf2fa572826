"""Every option of every config group composes with the real Hydra and validates with pydantic."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, OmegaConf

from synthgen.config.schema import Settings, validate_settings
from synthgen.config.tree import to_plain
from synthgen.core.errors import UserError
from synthgen.core.paths import CONF_DIR, EXAMPLES_DIR
from synthgen.outputs.export import build_exporter

# Every group config.yaml's defaults list offers, each option found by globbing its folder: a new option file is
# composed here without anyone listing it.
GROUPS = tuple(
    group
    for entry in OmegaConf.load(CONF_DIR / "config.yaml").defaults
    if isinstance(entry, DictConfig)
    for group in entry
)
OPTIONS = [(group, path.stem) for group in GROUPS for path in sorted((CONF_DIR / group).glob("*.yaml"))]
# Folders that are no group of the defaults list: lists that options include, and Hydra's own groups.
INCLUDED = {"question_types", "question_requirements", "hydra"}


def compose_settings(*overrides: str) -> Settings:
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return validate_settings(to_plain(compose(config_name="config", overrides=list(overrides))))


def test_groups_offer_the_documented_options() -> None:
    assert {path.name for path in CONF_DIR.iterdir() if path.is_dir()} == set(GROUPS) | INCLUDED
    offered = {group: {option for g, option in OPTIONS if g == group} for group in GROUPS}
    assert offered["model"] >= {"local", "gpt41", "gpt41_mini", "claude", "groq_qwen3", "ollama", "openai_compatible"}
    assert offered["loader"] == {"markdown", "text", "document"}
    assert offered["strategy"] == {"sequential", "random"}
    assert offered["mode"] >= {"queries", "conversation"}
    assert offered["export"] >= {"hf", "ragas", "openai"} and offered["experiment"] >= {"sharded_corpus"}


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
    **{("fact_template", path.stem): ["mode=facts"] for path in (CONF_DIR / "fact_template").glob("*.yaml")},
}
LOADERS = {"markdown": "MarkdownLoader", "text": "TextLoader", "document": "DocumentLoader"}


@pytest.mark.parametrize(("group", "option"), OPTIONS)
def test_every_option_composes_and_validates(group: str, option: str) -> None:
    chosen_option = f"{group}=[{option}]" if group == "export" else f"{group}={option}"
    settings = compose_settings(chosen_option, *REQUIRED.get((group, option), []))
    if group == "export":
        [(name, config)] = settings.export.items()
        assert name == option and build_exporter(config).name == option
    elif group == "experiment":
        assert settings != compose_settings()  # it changes the job it composes
    elif group == "fact_template":
        assert settings.fact_template is not None and settings.mode.uses_fact_template
    elif group == "model":
        assert getattr(settings, group).name == option
    elif group == "loader":
        assert type(settings.loader).__name__ == LOADERS[option]
    else:
        assert getattr(settings, group).kind == option


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


def compose_raw(*overrides: str) -> dict:
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return to_plain(compose(config_name="config", overrides=list(overrides)))


def test_an_option_without_a_target_gets_the_class_of_the_bundled_option_its_kind_names() -> None:
    raw = compose_raw("strategy=random", "mode=conversation")  # as a config from before `_target_` named them
    del raw["strategy"]["_target_"], raw["mode"]["_target_"]
    settings = validate_settings(raw)
    assert (type(settings.strategy).__name__, type(settings.mode).__name__) == (
        "RandomStrategy",
        "ConversationModeSettings",
    )
    del raw["strategy"]["kind"]
    with pytest.raises(UserError, match=r"strategy: the option has no `_target_` naming its class \(fix: "):
        validate_settings(raw)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("strategy._target_=synthgen.pipelines.documents.strategies.Strategy", "Strategy leaves groups undefined"),
        ("mode._target_=synthgen.config.schema.ModelSettings", "is not a synthgen.config.schema.ModeSettings"),
        ("strategy._target_=my.Missing", "strategy._target_: cannot import my.Missing (ModuleNotFoundError"),
    ],
)
def test_a_target_that_is_no_plugin_of_its_group_is_one_line_naming_the_fix(override: str, message: str) -> None:
    with pytest.raises(UserError) as caught:
        compose_settings(override)
    assert message in str(caught.value) and "(fix: " in str(caught.value) and "\n" not in str(caught.value)
