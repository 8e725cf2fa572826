"""Write report.html for an earlier run or sweep.

Usage:
    python -m synthgen.report DIR [--sample N]

DIR is a run directory (the report goes to DIR/report.html) or a directory above several runs, such as a
Hydra multirun sweep (one page comparing the jobs, DIR/report.html).
"""

from __future__ import annotations

import sys
from pathlib import Path

from synthgen.core.command_line import OneLineParser
from synthgen.core.errors import UserError
from synthgen.outputs.export.run_files import find_runs
from synthgen.outputs.report.page import write_report, write_sweep_report


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; returns the exit code."""
    parser = OneLineParser("synthgen.report", __doc__)
    parser.add_argument("directory", type=Path, metavar="DIR", help="a run directory or a sweep directory")
    parser.add_argument("--sample", type=int, default=None, metavar="N", help="sessions or items shown per run")
    args = parser.parse_args(argv)
    try:
        runs = find_runs(args.directory)
        single = len(runs) == 1 and runs[0].path == args.directory
        write = write_report if single else write_sweep_report
        path = write(args.directory) if args.sample is None else write(args.directory, sample_size=args.sample)
    except UserError as error:
        return parser.fail(error)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
