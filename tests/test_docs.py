"""The documentation site: the generated configuration reference, and the strict, offline MkDocs build."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from synthgen.config.schema import FactsModeSettings, QueriesModeSettings
from synthgen.models.providers.alquimia import AlquimiaAgent
from synthgen.models.providers.local import EmbeddedModel
from synthgen.outputs.export.hf import HuggingFaceExporter
from synthgen.pipelines.documents.strategies import RandomStrategy
from synthgen.sources.markdown import MarkdownLoader

ROOT = Path(__file__).resolve().parents[1]
MKDOCS = Path(sys.executable).with_name("mkdocs")
pytestmark = pytest.mark.skipif(not MKDOCS.exists(), reason="mkdocs is not installed (the dev extra)")


@pytest.fixture(scope="module")
def reference() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_reference", ROOT / "docs" / "hooks" / "reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def page(reference: ModuleType) -> str:
    text, problems = reference.generate()
    assert problems == []
    return text


def _row(page: str, first_cell: str) -> str:
    return next(line for line in page.splitlines() if line.startswith(f"| `{first_cell}` |"))


@pytest.mark.parametrize(
    ("cls", "prefix"),
    [
        (EmbeddedModel, "model"),
        (AlquimiaAgent, "model"),
        (MarkdownLoader, "loader"),
        (RandomStrategy, "strategy"),
        (QueriesModeSettings, "mode"),
        (FactsModeSettings, "mode"),
        (HuggingFaceExporter, "export.hf"),
    ],
)
def test_every_field_of_an_option_class_is_a_row(page: str, cls: type, prefix: str) -> None:
    shared = prefix.rsplit(".", 1)[0] + ".NAME" if prefix.startswith("export.") else prefix  # the exporters' base
    for name in set(cls.model_fields) - {"kind"}:
        found = (re.search(rf"^\| `{re.escape(p)}\.{name}(\.[^`]+)?` \|", page, re.M) for p in (prefix, shared))
        assert any(found), f"{prefix}.{name}"


def test_rows_show_the_code_defaults_and_options_what_they_set(page: str) -> None:
    assert _row(page, "model.max_tokens").split(" | ")[2] == "`1024`"
    assert _row(page, "mode.evidence.threshold").split(" | ")[2] == "`0.9`"
    assert _row(page, "model.alquimia.base_url").split(" | ")[2] == "required"
    local = _row(page, "local")  # the options table: what `local` changes from LiteLLMModel's defaults
    assert "`max_tokens=512`" in local and "`quote_choices=true`" in local and "`temperature=" not in local
    assert "| `EmbeddedModel` |" in local
    assert "`synthgen.models.providers.local.EmbeddedModel`, used by `local`" in page
    assert _row(page, "cache.mode").split(" | ")[1] == "use \\| refresh \\| off"
    assert "openai/&lt;served name&gt;" in _row(page, "openai_compatible")  # shown, not read as an HTML tag
    assert "`compare_models_facts`" in page  # folders without settings are listed with their options


def test_a_setting_without_a_description_or_a_stale_description_is_a_problem(reference: ModuleType) -> None:
    descriptions = yaml.safe_load(reference.DESCRIPTIONS.read_text(encoding="utf-8"))
    del descriptions["model.rpm"]
    descriptions["model.no_such_setting"] = "stale"
    _, problems = reference.generate(descriptions=descriptions)
    assert len(problems) == 2
    assert "setting model.rpm has no description" in problems[0]
    assert "describes model.no_such_setting, which is no setting" in problems[1]


def _build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    command = [str(MKDOCS), "build", "--strict", "-f", str(config), "-d", str(site)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)


def test_the_site_builds_strict_and_loads_nothing_from_outside(tmp_path: Path) -> None:
    result = _build(ROOT / "mkdocs.yml", tmp_path / "site")
    assert result.returncode == 0, result.stderr
    reference_page = (tmp_path / "site" / "reference" / "index.html").read_text(encoding="utf-8")
    assert "model.max_tokens" in reference_page and "model.local.repeat_penalty" in reference_page
    outside = re.compile(r"<(?:link|script|img|iframe)\b[^>]*\b(?:src|href)=\"(?:https?:)?//", re.I)
    pages = list((tmp_path / "site").rglob("*.html"))
    assert len(pages) > 10
    for html in pages:
        assert not outside.search(html.read_text(encoding="utf-8")), html


def test_a_broken_link_or_an_undescribed_setting_fails_the_build(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    index = tmp_path / "docs" / "index.md"
    index.write_text(index.read_text(encoding="utf-8") + "\n[gone](nowhere.md)\n", encoding="utf-8")
    descriptions = tmp_path / "docs" / "hooks" / "descriptions.yaml"
    entries = yaml.safe_load(descriptions.read_text(encoding="utf-8"))
    del entries["model.rpm"]
    descriptions.write_text(yaml.safe_dump(entries, allow_unicode=True), encoding="utf-8")
    result = _build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert result.returncode != 0
    assert "nowhere.md" in result.stderr and "model.rpm has no description" in result.stderr
