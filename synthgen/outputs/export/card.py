"""The Hugging Face dataset card (README.md): the YAML metadata header the Hub reads, then a description of
the runs: configuration, models, counts and quality figures.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import langcodes
import yaml

from synthgen.outputs.export.run_files import Run
from synthgen.outputs.export.summary import answered_count, cost_figures, quality_figures, question_count

log = logging.getLogger("synthgen.export")
TEMPLATE = Path(__file__).with_name("card.md.j2")
# The Hub's size_categories buckets: (upper bound, label); the last bucket is open-ended.
SIZE_BUCKETS = (
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
)
TASKS = {"documents": "question-answering", "facts": "text-generation"}


@dataclass(frozen=True)
class CardConfig:
    """One dataset configuration of the card: its name, row count and Parquet file (relative to the card)."""

    name: str
    rows: int
    path: str


def render_card(
    runs: list[Run],
    configs: list[CardConfig],
    *,
    pretty_name: str,
    language: list[str] | None,
    license: str | None,
    tags: list[str],
) -> str:
    """The complete README.md text for `configs` built from `runs`."""
    header: dict[str, Any] = {"pretty_name": pretty_name}
    languages = language if language is not None else _languages(runs)
    if languages:
        header["language"] = languages
    if license:
        header["license"] = license
    header["task_categories"] = sorted({TASKS[config.name] for config in configs})
    header["size_categories"] = [size_category(sum(config.rows for config in configs))]
    header["tags"] = list(tags)
    header["configs"] = [
        {
            "config_name": config.name,
            "data_files": [{"split": "train", "path": config.path}],
            **({"default": True} if index == 0 else {}),
        }
        for index, config in enumerate(configs)
    ]
    environment = jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    environment.filters["cell"] = _cell
    environment.filters["fenced"] = _fenced
    body = environment.from_string(TEMPLATE.read_text(encoding="utf-8")).render(
        pretty_name=pretty_name,
        configs=configs,
        runs=[_run_view(run) for run in runs],
    )
    return f"---\n{yaml.safe_dump(header, sort_keys=False, allow_unicode=True)}---\n\n{body}"


def size_category(rows: int) -> str:
    """The Hub's size_categories label for a dataset of `rows` rows."""
    for bound, label in SIZE_BUCKETS:
        if rows < bound:
            return label
    return "n>100M"


def _languages(runs: list[Run]) -> list[str]:
    """ISO language codes of the rows' `language` values ("english" -> "en"); unknown names are left out."""
    codes: list[str] = []
    for name in sorted({str(s.get("language")) for run in runs for s in run.sessions if s.get("language")}):
        try:
            code = langcodes.standardize_tag(name) if langcodes.tag_is_valid(name) else langcodes.find(name).language
        except LookupError:
            log.warning("hf: no language code for %r; set the hf option `language` to list the codes", name)
            continue
        if code and code not in codes:
            codes.append(code)
    return codes


def _run_view(run: Run) -> dict[str, Any]:
    return {
        "name": run.name,
        "mode": run.mode or "?",
        "model": run.model or "?",
        "model_id": run.model_id or "?",
        "questions": question_count(run),
        "answered": answered_count(run),
        "cost": cost_figures(run),
        "quality": quality_figures(run),
        "by_type": run.quality.get("kept_by_type") or {},
        "by_difficulty": run.quality.get("kept_by_difficulty") or {},
        "rejected": run.quality.get("rejected_by_stage") or {},
        "config": run.config_yaml(),
        "review": run.review,
    }


def _cell(value: Any) -> str:
    """Text safe inside a Markdown table cell."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def _fenced(text: str, language: str = "") -> str:
    """`text` in a Markdown code fence longer than any backtick run inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text.rstrip()}\n{fence}"
