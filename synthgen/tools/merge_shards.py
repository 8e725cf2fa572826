"""Join the shards of one job (`shard.count=N`, `shard.index=0..N-1`) into the dataset an unsharded run writes.

Usage:
    python -m synthgen -m source=docs/ model=gpt41 shard.count=4 'shard.index=range(4)' hydra/launcher=joblib
    python -m synthgen.merge_shards multirun/2026-11-24/12-00-00 --out data/docs

    python -m synthgen.merge_shards DIR [DIR ...] --out OUT

Each DIR is a shard's run directory or any directory above them (a sweep). The shards must share every
setting but shard.index, all of 0..count-1 must be there once, and each must have completed. Written to
OUT (a directory of its own, so a later merge over the sweep does not read it back):
    datasets.jsonl    document modes: a dataset cut between shards is joined again (turns in order, its context
                      rebuilt from the job's chunks); with every shard's rejected.jsonl and the job's quality.json
    ft.jsonl, text.jsonl, records.jsonl, rejected.jsonl    mode=facts: every shard's rows, in shard order;
                      near-duplicate questions from different shards are removed like duplicates in one run;
                      dpo.jsonl joined, probe.jsonl (shard 0's) checked against every shard's questions
    failures.jsonl    every shard's failures
    stats.json        every count summed over the shards (wall_seconds too: the compute time, not elapsed)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from synthgen.core.command_line import OneLineParser, make_out_dir
from synthgen.core.errors import UserError
from synthgen.core.jsonl import read_jsonl, write_json, write_jsonl
from synthgen.run.directory import output_settings
from synthgen.run.pipeline import pipeline_class


def find_shards(dirs: list[Path]) -> list[tuple[Path, DictConfig]]:
    """The run directories in or below `dirs` with their composed config, in shard order, checked complete."""
    found: dict[Path, DictConfig] = {}
    for directory in dirs:
        if not directory.is_dir():
            raise UserError(f"not a directory: {directory} (fix: pass the sweep or run directories of the shards)")
        runs = {path.parent.parent.resolve() for path in directory.glob("**/.hydra/config.yaml")}
        if not runs:
            raise UserError(f"no synthgen run in {directory} (fix: pass the sweep or run directories of the shards)")
        found.update((run, _run_config(run)) for run in runs)
    shards = sorted(found.items(), key=lambda item: (_shard(item[1])[1], str(item[0])))
    _check_one_job(shards)
    return shards


def merge_shards(dirs: list[Path], out: Path) -> dict[str, Any]:
    """Merge the shards found under `dirs` into `out`; returns the merged stats."""
    shards = find_shards(dirs)
    runs = [run for run, _ in shards]
    config = shards[0][1]
    stats = _sum([json.loads((run / "stats.json").read_text(encoding="utf-8")) for run in runs])
    make_out_dir(out)
    pipeline = OmegaConf.select(config, "mode.pipeline")
    if pipeline is None:
        raise UserError(f"{runs[0]} names no mode.pipeline (fix: rerun the shards with this version of synthgen)")
    pipeline_class(pipeline).merge_shards(runs, out, stats, config)
    failures = [row for run in runs for row in read_jsonl(run / "failures.jsonl", missing_ok=True)]
    write_jsonl(out / "failures.jsonl", failures)
    stats["shards"] = len(runs)
    write_json(out / "stats.json", stats)
    return stats


def _check_one_job(shards: list[tuple[Path, DictConfig]]) -> None:
    """Every shard of one job, once, completed; otherwise a UserError naming the fix."""
    first_run, first = shards[0]
    count = _shard(first)[0]
    for run, config in shards[1:]:
        differing = _differing_keys(first, config)
        if differing:
            raise UserError(
                f"{first_run} and {run} differ in {', '.join(differing)}, not only in shard.index "
                "(fix: merge the shards of one job at a time: pass their run directories)"
            )
    indexes = [_shard(config)[1] for _, config in shards]
    repeated = sorted({index for index in indexes if indexes.count(index) > 1})
    if repeated:
        raise UserError(f"shard.index={repeated[0]} appears more than once (fix: pass each shard's directory once)")
    missing = sorted(set(range(count)) - set(indexes))
    if missing:
        listed = ",".join(map(str, missing))
        raise UserError(
            f"shard.index={listed} of shard.count={count} missing (fix: run them with -m shard.index={listed} "
            "and the same settings, then pass their directories too)"
        )
    for run, _ in shards:
        stats = run / "stats.json"
        status = json.loads(stats.read_text(encoding="utf-8")).get("status") if stats.is_file() else "unfinished"
        if status != "completed":
            raise UserError(f"shard {run} is {status}, not completed (fix: rerun it with the same settings)")


def _shard(config: DictConfig) -> tuple[int, int]:
    """(count, index) of a run; a run from before sharding is the only shard."""
    return OmegaConf.select(config, "shard.count", default=1), OmegaConf.select(config, "shard.index", default=0)


def _run_config(run: Path) -> DictConfig:
    """The composed config a run saved."""
    config = OmegaConf.load(run / ".hydra" / "config.yaml")
    if not isinstance(config, DictConfig):
        raise UserError(f"{run}/.hydra/config.yaml is not a mapping (fix: rerun that shard)")
    return config


def _differing_keys(first: DictConfig, other: DictConfig) -> list[str]:
    """The top-level settings in which two runs differ, aside from shard.index and those that change no output
    (a shard rerun with a higher budget, a refreshed cache or fewer calls in flight still belongs)."""
    a, b = ({**output_settings(_plain(config)), "shard": _shard(config)[0]} for config in (first, other))
    return sorted(str(key) for key in a.keys() | b.keys() if a.get(key) != b.get(key))


def _plain(config: DictConfig) -> dict[str, Any]:
    """The config as plain containers, interpolations unresolved."""
    container = OmegaConf.to_container(config, resolve=False)
    assert isinstance(container, dict)
    return {str(key): value for key, value in container.items()}


def _sum(values: list[Any]) -> Any:
    """Numbers added, lists joined, mappings merged key by key; anything else is the first shard's."""
    first = values[0]
    if isinstance(first, dict):
        keys = dict.fromkeys(key for value in values for key in value)
        return {key: _sum([value[key] for value in values if key in value]) for key in keys}
    if isinstance(first, list):
        return [item for value in values for item in value]
    if isinstance(first, (int, float)) and not isinstance(first, bool):
        total = sum(values)
        return round(total, 6) if isinstance(total, float) else total
    return first


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; returns the exit code."""
    parser = OneLineParser("synthgen.merge_shards", __doc__)
    parser.add_argument("dirs", nargs="+", type=Path, metavar="DIR", help="shard run directories or a sweep above them")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    args = parser.parse_args(argv)
    try:
        stats = merge_shards(args.dirs, args.out)
    except UserError as error:
        return parser.fail(error)
    produced = ", ".join(f"{count} {kind}" for kind, count in stats["produced"].items()) or "nothing"
    print(f"merged {stats['shards']} shards ({produced}) into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
