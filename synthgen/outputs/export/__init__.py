"""Exporters: the formats users' tools read, written from a finished run or sweep directory.

Each format is a small pydantic class (its fields are the options) configured in `conf/export/<name>.yaml`
and created with `build_exporter(cfg)` (Hydra `instantiate`); `export_run(run_dir, exporters)` writes them.
"""

from synthgen.outputs.export.base import Exporter, ExporterOptions, build_exporter, export_run

__all__ = ["Exporter", "ExporterOptions", "build_exporter", "export_run"]
