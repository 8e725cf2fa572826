"""A Hugging Face dataset: Parquet files with explicit Features, an Arrow copy (`save_to_disk`) and a card.

Written under the output directory:
    README.md                  the dataset card (Hub metadata header, runs, counts, quality, configuration)
    documents/train.parquet    document runs: one row per session (see hf_features.DOCUMENT_FEATURES)
    facts/train.parquet        facts runs: one row per kept item (see hf_features.FACT_FEATURES)
    arrow/<config>/            the same tables for `datasets.load_from_disk`
A configuration with no rows (e.g. no facts run) is not written. The directory can be pushed to the Hub as is.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import pyarrow
from datasets import Dataset, Features, are_progress_bars_disabled, disable_progress_bars, enable_progress_bars
from pydantic import Field

from synthgen.core.errors import UserError
from synthgen.outputs.export.base import ExporterOptions
from synthgen.outputs.export.card import CardConfig, render_card
from synthgen.outputs.export.hf_features import DOCUMENT_FEATURES, FACT_FEATURES, document_rows, fact_rows
from synthgen.outputs.export.run_files import Run, find_runs

TABLES: dict[str, tuple[Features, Callable[[Run], list[dict[str, Any]]]]] = {
    "documents": (DOCUMENT_FEATURES, document_rows),
    "facts": (FACT_FEATURES, fact_rows),
}


class HuggingFaceExporter(ExporterOptions):
    """Writes the run (or sweep) as a Hugging Face dataset directory.

    Options: `pretty_name` (default: "synthgen: <directory name>"), `language` (ISO codes for the card;
    default: derived from the rows' `language`), `license` (a Hub license id, e.g. cc-by-4.0; default none),
    `tags` (card tags), `save_to_disk` (also write the Arrow copy; the Parquet files are always written).
    """

    name: ClassVar[str] = "hf"
    pretty_name: str | None = None
    language: list[str] | None = None
    license: str | None = None
    tags: list[str] = Field(default_factory=lambda: ["synthetic", "synthgen"])
    save_to_disk: bool = True

    def write(self, run_dir: Path, out_dir: Path | None = None) -> list[Path]:
        """The Parquet files, Arrow directories and README.md; returns their paths."""
        runs = find_runs(run_dir, self.reviewed)
        tables = {config: table for config in TABLES if (table := _table(run_dir, config, runs)) is not None}
        if not tables:
            raise UserError(f"{run_dir} has no kept items to export (fix: export a run that produced items)")
        directory = self.output_dir(run_dir, out_dir)
        written: list[Path] = []
        for config, table in tables.items():
            parquet = directory / config / "train.parquet"
            parquet.parent.mkdir(parents=True, exist_ok=True)
            with _quiet():
                table.to_parquet(str(parquet))
                written.append(parquet)
                if self.save_to_disk:
                    arrow = directory / "arrow" / config
                    shutil.rmtree(arrow, ignore_errors=True)
                    table.save_to_disk(str(arrow))
                    written.append(arrow)
        configs = [CardConfig(config, len(table), f"{config}/train.parquet") for config, table in tables.items()]
        card = directory / "README.md"
        card.write_text(
            render_card(
                runs,
                configs,
                pretty_name=self.pretty_name or f"synthgen: {run_dir.resolve().name}",
                language=self.language,
                license=self.license,
                tags=self.tags,
            ),
            encoding="utf-8",
        )
        return [*written, card]


def _table(run_dir: Path, config: str, runs: list[Run]) -> Dataset | None:
    """The `config` table of every run (None if it has no rows); a value of the wrong type is a UserError."""
    features, rows_of = TABLES[config]
    rows = [row for run in runs for row in rows_of(run)]
    if not rows:
        return None
    try:
        return Dataset.from_list(rows, features=features)
    except (pyarrow.ArrowException, TypeError, ValueError) as error:
        raise UserError(
            f"{run_dir}: a row does not fit the hf {config} schema ({' '.join(str(error).split())[:300]}) "
            "(fix: correct that row; the schema is synthgen.outputs.export.hf_features)"
        ) from None


@contextmanager
def _quiet() -> Iterator[None]:
    """No `datasets` progress bars inside the block (a run's log is not a terminal); the setting is restored."""
    was_disabled = are_progress_bars_disabled()
    disable_progress_bars()
    try:
        yield
    finally:
        if not was_disabled:
            enable_progress_bars()
