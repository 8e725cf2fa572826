"""report.html: a self-contained page about a finished run (`write_report`) or a sweep (`write_sweep_report`)."""

from synthgen.outputs.report.page import render_report, write_report, write_sweep_report

__all__ = ["render_report", "write_report", "write_sweep_report"]
