"""Real sweeps on the optional Hydra launchers: joblib worker processes and a local Ray cluster."""

from __future__ import annotations

import shutil
import tempfile
from importlib.util import find_spec
from pathlib import Path

import pytest

from tests.cli import read_jsonl, run_cli
from tests.fake_openai import FakeOpenAI
from tests.test_cli import DOC, ONLY_FACTUAL, fake_args, fake_model
from tests.test_sweep import read_summary

needs_joblib = pytest.mark.skipif(
    find_spec("hydra_plugins.hydra_joblib_launcher") is None,
    reason="hydra-joblib-launcher is not installed (pip install -e '.[joblib]')",
)
needs_ray = pytest.mark.skipif(
    find_spec("hydra_plugins.hydra_ray_launcher") is None,
    reason="hydra-ray-launcher is not installed (pip install -e '.[ray]')",
)


@pytest.fixture
def doc(tmp_path: Path) -> Path:
    path = tmp_path / "moon.md"
    path.write_text(DOC)
    return path


@needs_joblib
def test_a_joblib_sweep_runs_jobs_in_worker_processes_and_summarises_them(
    fake_openai: FakeOpenAI, doc: Path, tmp_path: Path
) -> None:
    fake_openai.responder = fake_model
    sweep = tmp_path / "sweep"
    args = fake_args(fake_openai, doc, tmp_path / "unused", *ONLY_FACTUAL)
    args[0] = "model=openai_compatible,claude"  # claude fails in its worker: no ANTHROPIC_API_KEY
    result = run_cli(
        "-m",
        *args,
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        f"hydra.sweep.dir={sweep}",
        cwd=tmp_path,
        env={"ANTHROPIC_API_KEY": None},
    )
    assert "Joblib.Parallel(n_jobs=2," in result.stdout  # Hydra logs to stdout
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    done, failed = read_summary(sweep)
    assert (done["overrides"], done["status"], done["kept"], done["calls"]) == (
        "model=openai_compatible",
        "completed",
        "9",
        "6",  # a question call per chunk, a round trip per chunk (its questions asked together)
    )
    assert (failed["overrides"], failed["status"]) == ("model=claude", "failed")
    assert "needs ANTHROPIC_API_KEY" in failed["error"]
    assert len(read_jsonl(sweep / "0" / "datasets.jsonl")) == 1


@needs_ray
def test_a_ray_sweep_on_a_local_cluster(fake_openai: FakeOpenAI, doc: Path, tmp_path: Path) -> None:
    fake_openai.responder = fake_model
    sweep = tmp_path / "sweep"
    # Ray's sockets live under its temp dir, whose path must stay short (a Unix socket path has ~107 bytes).
    ray_tmp = tempfile.mkdtemp(prefix="synthgen-ray-")
    try:
        result = run_cli(
            "-m",
            *fake_args(fake_openai, doc, tmp_path / "unused"),
            "model.name=first,second",
            "hydra/launcher=ray_local",
            "hydra.launcher.ray.init.num_cpus=2",
            f"hydra.launcher.ray.init._temp_dir={ray_tmp}",
            f"hydra.sweep.dir={sweep}",
            cwd=tmp_path,
            env={"HOME": str(tmp_path / "home")},  # Ray writes ~/.ray/auth_token: not into the real home
        )
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert result.returncode == 0, result.stderr
    assert "Started a local Ray instance" in result.stderr and "(_run_job pid=" in result.stdout + result.stderr
    rows = read_summary(sweep)
    assert [(row["overrides"], row["status"], row["kept"]) for row in rows] == [
        ("model.name=first", "completed", "9"),
        ("model.name=second", "completed", "9"),
    ]
    assert sum(int(row["calls"]) for row in rows) == len(fake_openai.requests) > 0
