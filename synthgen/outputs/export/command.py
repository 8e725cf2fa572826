"""Export a finished run, or every run of a sweep together, to the formats other tools read.

Usage:
    python -m synthgen.export RUN_DIR --to FORMAT [--to FORMAT ...] [--out DIR] [--reviewed CHOICE]
        [--drop suspect,trivial --calibration SWEEP_DIR/calibration.jsonl]

RUN_DIR is a run directory (holding datasets.jsonl or records.jsonl) or a directory above several runs, such
as a Hydra multirun sweep: its runs are exported together. FORMAT is an option of conf/export/ (alpaca,
deepeval, hf, openai, ragas, sharegpt, text) or the path of a YAML file in the same form (`_target_` plus
options). Each format is written to RUN_DIR/export/FORMAT/, or to DIR/FORMAT/ with --out. With --drop, the items a
sweep of trials flagged (calibration.jsonl) are left out: the calibrated subset is written to (DIR or
RUN_DIR/export)/calibrated/ and the formats are made from it, honouring the run's review decisions. --reviewed
picks the reviewed items (`python -m synthgen.review`): accepted, not_rejected (the default once a decision
exists) or all.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from synthgen.core.command_line import OneLineParser
from synthgen.core.errors import UserError
from synthgen.core.paths import CONF_DIR
from synthgen.outputs.export import ExporterOptions, build_exporter, export_run
from synthgen.outputs.export.calibrated import calibrated_run, parse_flags
from synthgen.outputs.export.run_files import load_yaml
from synthgen.outputs.reviewed import REVIEWED_CHOICES

EXPORT_CONF_DIR = CONF_DIR / "export"


def format_names() -> list[str]:
    """The formats configured in conf/export/."""
    return sorted(path.stem for path in EXPORT_CONF_DIR.glob("*.yaml"))


def load_exporter(format_name: str) -> ExporterOptions:
    """The exporter of a conf/export/ option name, or of a YAML file path."""
    path = Path(format_name)
    if path.suffix not in (".yaml", ".yml"):
        path = EXPORT_CONF_DIR / f"{format_name}.yaml"
        if not path.is_file():
            raise UserError(f"unknown export format {format_name!r} (fix: use one of {', '.join(format_names())})")
    elif not path.is_file():
        raise UserError(f"no such export config: {path} (fix: pass an existing YAML file or a format name)")
    return build_exporter(load_yaml(path))


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; returns the exit code."""
    parser = OneLineParser("synthgen.export", __doc__)
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run directory or a sweep directory")
    parser.add_argument(
        "--to",
        action="append",
        required=True,
        metavar="FORMAT",
        help=f"a format ({', '.join(format_names())}) or an export YAML file; repeatable",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="write each format to DIR/FORMAT/ (default: RUN_DIR/export/FORMAT/)",
    )
    parser.add_argument("--drop", default=None, metavar="FLAGS", help="leave out flagged items: suspect,trivial")
    parser.add_argument(
        "--calibration",
        type=Path,
        default=None,
        metavar="FILE",
        help="the calibration.jsonl of a sweep of trials over this set (default: RUN_DIR/calibration.jsonl)",
    )
    parser.add_argument(
        "--reviewed",
        choices=REVIEWED_CHOICES,
        default=None,
        help="which reviewed items to export (default: not_rejected once any decision exists, else all)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(format="synthgen.export: note: %(message)s", level=logging.WARNING, stream=sys.stderr)
    try:
        exporters = [load_exporter(name) for name in dict.fromkeys(args.to)]
        run_dir, out = args.run_dir, args.out
        if args.drop is not None:
            base = args.out or args.run_dir / "export"
            calibration = args.calibration or args.run_dir / "calibration.jsonl"
            run_dir, dropped = calibrated_run(args.run_dir, calibration, parse_flags(args.drop), base / "calibrated")
            out = base
            print(f"{run_dir / 'datasets.jsonl'} ({dropped} flagged items dropped)")
        written = export_run(run_dir, exporters, out, args.reviewed)
    except UserError as error:
        return parser.fail(error)
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
