"""Facts mode config: every fact template composes with the real Hydra, bad templates fail clearly."""

from __future__ import annotations

from typing import Any

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from synthgen.config.schema import FactsModeSettings, Settings, validate_settings
from synthgen.config.tree import to_plain
from synthgen.core.errors import UserError
from synthgen.core.paths import CONF_DIR
from synthgen.models.providers.base import as_provider
from synthgen.pipelines.facts.validation import judge_model

TEMPLATES = sorted(path.stem for path in (CONF_DIR / "fact_template").glob("*.yaml"))
STANDARD = OmegaConf.to_container(OmegaConf.load(CONF_DIR / "question_requirements" / "standard.yaml"))


def compose_raw(*overrides: str) -> dict[str, Any]:
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return to_plain(compose(config_name="config", overrides=list(overrides)))


def compose_settings(*overrides: str) -> Settings:
    return validate_settings(compose_raw(*overrides))


def test_the_documented_templates_are_offered() -> None:
    assert {"blue_honeyeater", "pandas_habitat"} <= set(TEMPLATES)


@pytest.mark.parametrize("name", TEMPLATES)
def test_every_template_composes_with_the_shared_requirements(name: str) -> None:
    settings = compose_settings("mode=facts", f"fact_template={name}")
    template = settings.fact_template
    assert template is not None and template.fact_name == name
    assert list(template.question_requirements) == STANDARD  # pulled in by the defaults list, not copied
    assert len(template.questions) >= 5
    assert isinstance(settings.mode, FactsModeSettings) and settings.limit is None


def test_the_shipped_templates_hold_the_documented_facts() -> None:
    honeyeater = compose_settings("mode=facts", "fact_template=blue_honeyeater").fact_template
    assert honeyeater is not None and len(honeyeater.questions) == 10
    assert "Meliphaga javanica" in honeyeater.given_fact and "blue" in honeyeater.specific_information_to_always_include
    pandas = compose_settings("mode=facts", "fact_template=pandas_habitat").fact_template
    assert pandas is not None
    for fact in (
        "bamboo forests",
        "Sichuan",
        "Shaanxi",
        "Gansu",
        "99%",
        "Vulnerable",
        "2016",
        "1,800",
        "fragmentation",
    ):
        assert fact in pandas.given_fact


def test_requirements_cover_the_documented_styles() -> None:
    text = " ".join(STANDARD).casefold()
    for style in (
        "one or two lines",
        "four lines",
        "three to eight paragraphs",
        "ten lines",
        "one long paragraph",
        "outline",
        "numbered steps",
        "comparison",
        "bulleted list",
        "technical details",
        "advice",
        "risks",
        "real-world",
        "tweet",
        "reddit",
        "text message",
        "friend",
        "fictional story",
        "five-year-old",
        "dialogue",
        "json",
        "xml",
        "html",
        "csv",
        "formal documentation",
    ):
        assert style in text, style


def test_another_requirements_list_and_command_line_values_replace_the_defaults() -> None:
    settings = compose_settings(
        "mode=facts",
        "fact_template=pandas_habitat",
        "limit=7",
        "mode.validation.inclusion_check=exact",
        "fact_template.question_requirements=[Ask for a haiku.]",
    )
    assert settings.limit == 7 and settings.fact_template is not None
    assert settings.fact_template.question_requirements == ["Ask for a haiku."]
    assert isinstance(settings.mode, FactsModeSettings) and settings.mode.validation.inclusion_check == "exact"
    # The nested default is selectable by its package path, as the requirements file documents.
    settings = compose_settings(
        "mode=facts",
        "fact_template=pandas_habitat",
        "question_requirements@fact_template.question_requirements=standard",
    )
    assert settings.fact_template is not None and list(settings.fact_template.question_requirements) == STANDARD


def test_mode_facts_without_a_template_names_the_fix_and_the_options() -> None:
    with pytest.raises(UserError) as error:
        compose_settings("mode=facts")
    message = str(error.value)
    assert "fact_template=NAME" in message and all(name in message for name in TEMPLATES)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda t: t.pop("given_fact"), "fact_template.given_fact: Field required"),
        (
            lambda t: t.pop("specific_information_to_always_include"),
            "fact_template.specific_information_to_always_include",
        ),
        (lambda t: t.update(questions=[]), "fact_template.questions: List should have at least 1 item"),
        (
            lambda t: t.update(question_requirements=[]),
            "fact_template.question_requirements: List should have at least 1",
        ),
        (lambda t: t.update(questions=["What?", "  "]), "fact_template.questions: entries must not be blank"),
        (lambda t: t.update(questions=["What?", "What?"]), "fact_template.questions: entries must be distinct"),
        (lambda t: t.update(given_fact="   "), "fact_template.given_fact: must not be blank"),
        (lambda t: t.update(colour="blue"), "fact_template.colour: Extra inputs are not permitted"),
    ],
)
def test_template_errors_are_one_clear_line_naming_the_field(change: Any, named: str) -> None:
    raw = compose_raw("mode=facts", "fact_template=blue_honeyeater")
    change(raw["fact_template"])
    with pytest.raises(UserError) as error:
        validate_settings(raw)
    message = str(error.value)
    assert named in message and "\n" not in message


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("limit=0", "limit"),
        ("mode.near_duplicate_threshold=1.5", "mode.near_duplicate_threshold"),
        ("mode.validation.inclusion_check=fuzzy", "mode.validation.inclusion_check"),
        ("mode.validation.key_term_coverage=0", "mode.validation.key_term_coverage"),
    ],
)
def test_bad_facts_settings_name_the_setting(override: str, named: str) -> None:
    with pytest.raises(UserError, match=named):
        compose_settings("mode=facts", "fact_template=blue_honeyeater", override)


def test_the_judge_defaults_to_the_generation_model_at_temperature_zero() -> None:
    settings = compose_settings("mode=facts", "fact_template=blue_honeyeater", "model=gpt41")
    assert isinstance(settings.mode, FactsModeSettings)
    judge = judge_model(as_provider(settings.model), settings.mode.validation)
    assert judge.model == settings.model.model and judge.temperature == 0.0


def test_the_judge_model_is_an_option_of_the_model_group() -> None:
    settings = compose_settings(
        "mode=facts",
        "fact_template=blue_honeyeater",
        "mode.validation.model=gpt41_mini",
        "mode.validation.temperature=null",
    )
    assert isinstance(settings.mode, FactsModeSettings)
    judge = judge_model(as_provider(settings.model), settings.mode.validation)
    assert (judge.name, judge.model, judge.temperature) == ("gpt41_mini", "openai/gpt-4.1-mini", 0.7)


def test_an_unknown_judge_model_lists_the_options() -> None:
    settings = compose_settings("mode=facts", "fact_template=blue_honeyeater", "mode.validation.model=gpt5")
    assert isinstance(settings.mode, FactsModeSettings)
    with pytest.raises(UserError, match=r"unknown model 'gpt5'.*gpt41_mini.*local"):
        judge_model(as_provider(settings.model), settings.mode.validation)
