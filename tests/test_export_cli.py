"""`python -m synthgen.export`: formats by name or YAML file, sweeps exported together, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from synthgen.outputs.export.command import main
from tests.run_dirs import document_run, facts_run

ROOT = Path(__file__).resolve().parents[1]


def test_a_sweep_is_exported_together_to_each_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sweep = tmp_path / "multirun"
    document_run(sweep / "0", mode="queries")
    facts_run(sweep / "1", items=2)
    out = tmp_path / "exports"

    code = main([str(sweep), "--to", "openai", "--to", "hf", "--to", "openai", "--out", str(out)])

    assert code == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == str(out / "openai/train.jsonl")
    assert str(out / "hf/README.md") in printed
    assert len((out / "openai/train.jsonl").read_text().splitlines()) == 6 + 2
    assert (out / "hf/documents/train.parquet").is_file() and (out / "hf/facts/train.parquet").is_file()
    assert not (sweep / "export").exists()


def test_a_format_can_be_a_yaml_file_with_its_own_options(tmp_path: Path) -> None:
    run = document_run(tmp_path / "run", sessions=10)
    config = tmp_path / "held_out.yaml"
    config.write_text(
        "_target_: synthgen.outputs.export.alpaca.AlpacaExporter\nsplit: {validation: 0.2, seed: 3}\n", encoding="utf-8"
    )

    assert main([str(run), "--to", str(config)]) == 0

    rows = (run / "export/alpaca/validation.jsonl").read_text().splitlines()
    assert len(rows) == 2 * 3 and "instruction" in json.loads(rows[0])


def test_the_module_runs_and_an_unknown_format_is_one_line(tmp_path: Path) -> None:
    run = document_run(tmp_path / "run")

    result = subprocess.run(
        [sys.executable, "-m", "synthgen.export", str(run), "--to", "parquet"],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )

    assert result.returncode == 2
    assert result.stderr == (
        "synthgen.export: error: unknown export format 'parquet' "
        "(fix: use one of alpaca, deepeval, hf, openai, ragas, sharegpt, text)\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["RUN/missing", "--to", "hf"], "not a directory: "),
        (["RUN", "--to", "missing.yaml"], "no such export config: missing.yaml (fix: "),
        (["RUN"], "the following arguments are required: --to (see python -m synthgen.export --help)"),
        (["EMPTY", "--to", "ragas"], "no synthgen run output in "),
        (["RUN", "--to", "openai"], "has no answered questions to export as openai (fix: "),
    ],
)
def test_mistakes_are_one_line_with_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    run = document_run(tmp_path / "run", answers=False)
    (tmp_path / "empty").mkdir()
    argv = [arg.replace("RUN", str(run)).replace("EMPTY", str(tmp_path / "empty")) for arg in args]

    try:
        code = main(argv)
    except SystemExit as stop:  # argparse's usage errors
        code = int(stop.code or 0)

    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.count("\n") == 1 and captured.err.startswith("synthgen.export: error: ")
    assert message in captured.err
    assert captured.out == ""
