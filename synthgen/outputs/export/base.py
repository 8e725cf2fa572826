"""What every exporter shares: the interface, option validation, and running a list of exporters."""

from __future__ import annotations

import logging
import shutil
import tempfile
from abc import abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from synthgen.config.targets import build_target
from synthgen.outputs.reviewed import Reviewed

log = logging.getLogger("synthgen.export")


class ExporterOptions(BaseModel):
    """Base of the exporter classes (an `export` option's `_target_`): writes one format from a finished run (or a
    sweep of runs); the pydantic fields are the format's options, unknown options are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: ClassVar[str]  # the format's name, also its default output folder (`<run_dir>/export/<name>/`)
    # which reviewed items to export: accepted only, all but the rejected, or all (None: not_rejected once
    # the run holds any review decision, all before)
    reviewed: Reviewed | None = None

    def output_dir(self, run_dir: Path, out_dir: Path | None) -> Path:
        """`out_dir`, or `<run_dir>/export/<name>/`, created."""
        directory = out_dir if out_dir is not None else run_dir / "export" / self.name
        directory.mkdir(parents=True, exist_ok=True)
        return directory

    @abstractmethod
    def write(self, run_dir: Path, out_dir: Path | None = None) -> list[Path]:
        """Write the format for `run_dir` under `out_dir` (default `<run_dir>/export/<name>/`); the files written."""


def build_exporter(config: Any, group: str = "export") -> ExporterOptions:
    """One exporter from its config node (`_target_` plus options, `group` its place for messages); a bad option
    is a UserError."""
    return build_target(group, config, ExporterOptions)  # type: ignore[type-abstract]


def export_run(
    run_dir: Path, exporters: list[ExporterOptions], out_dir: Path | None = None, reviewed: Reviewed | None = None
) -> list[Path]:
    """Write every exporter's format for `run_dir` (a run or a sweep directory); returns all files written.

    With `out_dir`, each format goes to `out_dir/<name>/`; otherwise to `<run_dir>/export/<name>/`. With
    `reviewed`, every exporter keeps those reviewed items (overriding its own `reviewed` option). Every format is
    written to a staging folder first and moved into place only when all succeeded: a format that cannot be
    written leaves none written.
    """
    root = out_dir if out_dir is not None else run_dir / "export"
    with tempfile.TemporaryDirectory(prefix="synthgen-export-") as staging:
        staged: list[tuple[str, list[Path]]] = []
        for exporter in exporters:
            if reviewed is not None and isinstance(exporter, ExporterOptions):
                exporter = exporter.model_copy(update={"reviewed": reviewed})
            staged.append((exporter.name, exporter.write(run_dir, Path(staging) / exporter.name)))
        written: list[Path] = []
        for name, files in staged:
            final = root / name
            if (Path(staging) / name).is_dir():  # not yet moved (a format named twice is written once)
                root.mkdir(parents=True, exist_ok=True)
                shutil.rmtree(final, ignore_errors=True)
                shutil.move(Path(staging) / name, final)  # a copy when the temporary folder is on another disk
            moved = [final / path.relative_to(Path(staging) / name) for path in files]
            log.info("exported %s: %s", name, ", ".join(str(path) for path in moved))
            written.extend(moved)
    return written
