"""Merge the fine-tuning files of several `mode=facts` jobs (e.g. one per model) into one shuffled set.

Usage:
    python -m synthgen -m mode=facts fact_template=blue_honeyeater model=gpt41,claude
    python -m synthgen.merge multirun/2025-06-01/12-00-00 --seed 0

    python -m synthgen.merge DIR [DIR ...] [--seed N] [--out OUT]

Each DIR is a job directory (holding records.jsonl, ft.jsonl and text.jsonl) or any directory
above job directories, such as a Hydra multirun sweep. Rows are put in job and id order, then
shuffled with --seed, so the same jobs and seed give the same files. Written to OUT (default:
the first DIR's merged/ folder), replacing earlier merges:
    ft.jsonl          every job's ft.jsonl rows
    text.jsonl        every job's text.jsonl rows, in the same order as ft.jsonl
    provenance.jsonl  line n: the id, fact, model and job of row n of both files
"""

from __future__ import annotations

import random
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from synthgen.core.command_line import OneLineParser, make_out_dir
from synthgen.core.errors import UserError
from synthgen.core.jsonl import write_jsonl
from synthgen.outputs.export.run_files import read_facts


def find_jobs(dirs: list[Path]) -> list[Path]:
    """The job directories (holding stats.json or records.jsonl) in or below `dirs`, sorted, distinct."""
    jobs: set[Path] = set()
    for directory in dirs:
        if not directory.is_dir():
            raise UserError(f"not a directory: {directory} (fix: pass a facts run or multirun directory)")
        found = {path.parent.resolve() for name in ("stats.json", "records.jsonl") for path in directory.rglob(name)}
        if not found:
            raise UserError(
                f"no synthgen job output in {directory} (fix: pass the directory of a `mode=facts` run or multirun)"
            )
        jobs |= found
    return sorted(jobs)


def read_job(job: Path) -> list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
    """The (ft row, text row, provenance) triples of one job, in file order."""
    return [
        (
            {"messages": item.messages},
            {"text": item.text},
            {key: item.record.get(key) for key in ("id", "fact_name", "model", "model_id")}
            | {"job": str(job), "line": line},
        )
        for line, item in enumerate(read_facts(job), start=1)
    ]


def merge(dirs: list[Path], seed: int, out: Path) -> Counter[str]:
    """Shuffle every job's rows together into `out`; returns the row count per model.

    A job without records.jsonl (another mode, or a run that kept nothing) is skipped with a note.
    """
    rows = []
    for job in find_jobs(dirs):
        if (job / "records.jsonl").is_file():
            rows.extend(read_job(job))
        else:
            print(
                f"synthgen.merge: note: skipping {job}: no records.jsonl (not a facts run, or it kept nothing)",
                file=sys.stderr,
            )
    if not rows:
        raise UserError(f"no kept items under {', '.join(map(str, dirs))} (fix: merge facts runs that kept items)")
    rows.sort(key=lambda row: (row[2]["job"], str(row[2]["id"])))  # independent of the order items finished in
    random.Random(seed).shuffle(rows)
    make_out_dir(out)
    for name, column in (("ft.jsonl", 0), ("text.jsonl", 1), ("provenance.jsonl", 2)):
        write_jsonl(out / name, [row[column] for row in rows])
    return Counter(str(row[2]["model"]) for row in rows)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; returns the exit code."""
    parser = OneLineParser("synthgen.merge", __doc__)
    parser.add_argument("dirs", nargs="+", type=Path, metavar="DIR", help="facts job or multirun directories")
    parser.add_argument("--seed", type=int, default=0, help="shuffle seed (default: 0)")
    parser.add_argument("--out", type=Path, default=None, help="output directory (default: DIR/merged)")
    args = parser.parse_args(argv)
    out = args.out or args.dirs[0] / "merged"
    try:
        per_model = merge(args.dirs, args.seed, out)
    except UserError as error:
        return parser.fail(error)
    counts = ", ".join(f"{model}: {count}" for model, count in sorted(per_model.items()))
    print(f"merged {sum(per_model.values())} rows ({counts}) into {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
