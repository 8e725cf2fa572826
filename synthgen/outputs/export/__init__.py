"""Exporters: the formats users' tools read, written from a finished run or sweep directory.

Each format is a small pydantic class (its fields are the options) configured in `conf/export/<name>.yaml`
and created with `build_exporter(cfg)` (synthgen.config.targets); `export_run(run_dir, exporters)` writes them.
"""

from synthgen.outputs.export.base import ExporterOptions, build_exporter, export_run

__all__ = ["ExporterOptions", "build_exporter", "export_run"]
