"""Score a model, such as one fine-tuned on a facts run's ft.jsonl, on that run's held-out probes (probe.jsonl).

Usage:
    python -m synthgen mode=facts fact_template=blue_honeyeater limit=200 mode.probes=20 hydra.run.dir=runs/bird
    # fine-tune on runs/bird/ft.jsonl, then score the result, e.g. served by vLLM or fine-tuned at OpenAI:
    python -m synthgen.score_probes runs/bird openai_compatible model.model=openai/bird-ft \\
        model.api_base=http://127.0.0.1:8000/v1 model.temperature=0
    python -m synthgen.score_probes runs/bird gpt41_mini 'model.model=openai/ft:gpt-4.1-mini-2025-04-14:acme::abc123'

    python -m synthgen.score_probes RUN_DIR MODEL [model.KEY=VALUE ...] [--config-dir DIR] [--out FILE]
                                    [--check {exact,case_insensitive,key_terms}] [--coverage SHARE]

MODEL is an option of the model group (bundled, or one of yours in --config-dir DIR), and model.KEY=VALUE
overrides its fields as on the synthgen command line: point model.model (and model.api_base) at the
fine-tuned model. It answers every probe question, after the run's mode.system_prompt if it had one, through
the client runs use (concurrency, rate limits, retries). Answers are never cached: a model retrained under
the same name is asked again. An answer passes when it contains the probe's key fact by the run's inclusion
check (mode.validation.inclusion_check and key_term_coverage; --check and --coverage replace them).
Written to FILE (default RUN_DIR/probe_scores.jsonl), one row per probe, in probe order:
    id, question, key_fact, answer, passed, detail      (passed: null and error when the call failed)
Printed: the share of the answered probes whose answer contains the key fact.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

from hydra.errors import HydraException
from omegaconf import OmegaConf
from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException
from pydantic import ValidationError

from synthgen.config.schema import FactsValidationSettings, ModelSettings
from synthgen.config.targets import build_target
from synthgen.config.tree import compose_config, group_options
from synthgen.core.command_line import OneLineParser
from synthgen.core.errors import NothingProduced, UserError
from synthgen.core.jsonl import read_jsonl, write_jsonl
from synthgen.models.client import ModelClient
from synthgen.models.providers.base import LiteLLMModel, as_provider
from synthgen.models.usage import Usage
from synthgen.outputs.export.run_files import load_yaml
from synthgen.pipelines.facts.checks import InclusionMethod
from synthgen.pipelines.facts.scoring import score_probes

PROBE_KEYS = ("id", "question", "key_fact")


@dataclass(frozen=True)
class ProbeRun:
    """A facts run's probes, with the system prompt and inclusion check its training items had."""

    probes: list[dict[str, Any]]
    system_prompt: str | None
    method: InclusionMethod
    coverage: float


@dataclass(frozen=True)
class Scores:
    """The score rows, and the counts the command prints."""

    rows: list[dict[str, Any]]

    @property
    def answered(self) -> int:
        """Probes the model answered."""
        return sum(row["passed"] is not None for row in self.rows)

    @property
    def passed(self) -> int:
        """Answers that contain the key fact."""
        return sum(row["passed"] is True for row in self.rows)


def read_probe_run(run: Path) -> ProbeRun:
    """The probes of run directory `run` and its recorded settings (the defaults if it recorded none)."""
    if not run.is_dir():
        raise UserError(f"not a directory: {run} (fix: pass the directory of a mode=facts run)")
    path = run / "probe.jsonl"
    if not path.is_file():
        raise UserError(f"no probe.jsonl in {run} (fix: pass a mode=facts run made with mode.probes=N)")
    probes = read_jsonl(path)
    if not probes:
        raise UserError(f"{path} holds no probe (fix: rerun with a higher mode.probes or other probe seed questions)")
    for number, probe in enumerate(probes, start=1):
        missing = [key for key in PROBE_KEYS if not isinstance(probe.get(key), str) or not probe[key].strip()]
        if missing:
            raise UserError(f"{path}:{number}: no {missing[0]} (fix: rerun the facts run that wrote it)")
    config_path = run / ".hydra" / "config.yaml"
    config = load_yaml(config_path) if config_path.is_file() else OmegaConf.create()
    recorded = OmegaConf.select(config, "mode.validation", default=None)
    keys = ("inclusion_check", "key_term_coverage") if OmegaConf.is_dict(recorded) else ()
    try:  # the run's inclusion check; a run that recorded none had the defaults
        checks = FactsValidationSettings(**{key: recorded[key] for key in keys if key in recorded})
    except ValidationError:
        raise UserError(
            f"{config_path}: its mode.validation is not a facts run's (fix: pass --check and --coverage)"
        ) from None
    system_prompt = OmegaConf.select(config, "mode.system_prompt", default=None)
    return ProbeRun(
        probes, str(system_prompt) if system_prompt else None, checks.inclusion_check, checks.key_term_coverage
    )


def scoring_model(name: str, overrides: list[str], config_dir: Path | None) -> LiteLLMModel:
    """The validated `model` option `name` with `overrides` (each `model.KEY=VALUE`), from the bundled options
    and those of `config_dir`."""
    wrong = [override for override in overrides if not override.startswith("model.")]
    if wrong:
        raise UserError(f"{wrong[0]}: only model.KEY=VALUE overrides are taken (fix: drop it)")
    known = set(group_options("model"))
    if config_dir is not None:
        if not config_dir.is_dir():
            raise UserError(f"--config-dir {config_dir} is not a directory (fix: pass the folder holding model/)")
        known |= {path.stem for path in (config_dir / "model").glob("*.yaml")}
    if name not in known:
        raise UserError(f"unknown model '{name}' (fix: use an option of the model group: {', '.join(sorted(known))})")
    searchpath = [f"hydra.searchpath=[file://{config_dir.resolve()}]"] if config_dir else []
    try:
        cfg = compose_config([f"model={name}", *overrides, *searchpath], bundled=True)
        data = OmegaConf.to_container(cfg.model, resolve=True, throw_on_missing=True)
    except MissingMandatoryValue as error:
        raise UserError(f"model={name}: {error.full_key} has no value (fix: add {error.full_key}=...)") from None
    except (HydraException, OmegaConfBaseException) as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise UserError(f"{' '.join([f'model={name}', *overrides])}: {first} (fix: correct the overrides)") from None
    return as_provider(build_target("model", data, ModelSettings))


def score_run(run: ProbeRun, provider: LiteLLMModel) -> Scores:
    """Every probe answered by `provider` and checked for its key fact."""
    client = ModelClient(provider, Usage())
    try:
        rows = asyncio.run(
            score_probes(client, run.probes, system_prompt=run.system_prompt, method=run.method, coverage=run.coverage)
        )
    finally:
        provider.close()
    return Scores(rows)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; returns the exit code."""
    parser = OneLineParser("synthgen.score_probes", __doc__)
    parser.add_argument("run", type=Path, metavar="RUN_DIR", help="a mode=facts run directory holding probe.jsonl")
    parser.add_argument("model", metavar="MODEL", help="an option of the model group, e.g. openai_compatible")
    parser.add_argument("overrides", nargs="*", metavar="model.KEY=VALUE", help="overrides of the model option")
    parser.add_argument("--config-dir", type=Path, default=None, help="a folder of your own options (conf/)")
    parser.add_argument("--out", type=Path, default=None, help="output file (default: RUN_DIR/probe_scores.jsonl)")
    parser.add_argument("--check", choices=get_args(InclusionMethod), default=None, help="the inclusion check")
    parser.add_argument("--coverage", type=_share, default=None, help="key_terms: share of key terms required")
    args = parser.parse_args(argv)
    out = args.out or args.run / "probe_scores.jsonl"
    try:
        run = read_probe_run(args.run)
        run = ProbeRun(run.probes, run.system_prompt, args.check or run.method, args.coverage or run.coverage)
        provider = scoring_model(args.model, args.overrides, args.config_dir)
        _check_out(out)
        scores = score_run(run, provider)
        out.parent.mkdir(parents=True, exist_ok=True)
        write_jsonl(out, scores.rows)
        if not scores.answered:
            raise NothingProduced(
                f"no probe answered: all {len(scores.rows)} calls failed, e.g. {scores.rows[0]['error']} "
                f"(see {out}) (fix: check model.model, model.api_base and the key)"
            )
    except UserError as error:
        return parser.fail(error)
    unanswered = len(scores.rows) - scores.answered
    print(
        f"{scores.passed}/{scores.answered} answers contain the key fact ({scores.passed / scores.answered:.1%}), "
        f"model {provider.name} ({provider.model}, {run.method} check)"
        + (f"; {unanswered} probes unanswered (see their error)" if unanswered else "")
        + f"; wrote {out}"
    )
    return 0


def _share(value: str) -> float:
    """An argparse type: a number in (0, 1]."""
    try:
        share = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not 0 < share <= 1:
        raise argparse.ArgumentTypeError(f"must be above 0 and at most 1, not {value}")
    return share


def _check_out(out: Path) -> None:
    """Before any call: a directory where the score file goes is a UserError."""
    if out.is_dir():
        raise UserError(f"--out {out} is a directory (fix: pass a file path, e.g. {out / 'probe_scores.jsonl'})")


if __name__ == "__main__":
    sys.exit(main())
