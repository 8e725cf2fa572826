"""What a run prints: a summary table at the end, and nothing but errors with --quiet."""

from __future__ import annotations

from pathlib import Path

from tests.cli import run_cli
from tests.fake_openai import FakeOpenAI
from tests.test_cli import DOC, fake_model


def args(server: FakeOpenAI, tmp_path: Path, out: str) -> list[str]:
    (tmp_path / "moon.md").write_text(DOC)
    return [
        "model=openai_compatible",
        f"model.api_base={server.url}",
        f"source={tmp_path / 'moon.md'}",
        "loader.min_chunk_size=50",
        f"hydra.run.dir={tmp_path / out}",
    ]


def test_a_run_ends_with_a_summary_table_and_quiet_prints_nothing(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.responder = fake_model
    loud = run_cli(*args(fake_openai, tmp_path, "loud"), cwd=tmp_path)
    assert loud.returncode == 0, loud.stderr
    table = {line.split()[0] for line in loud.stdout.splitlines() if line.startswith("  ")}
    assert {"status", "requested", "kept", "failures", "calls", "cost", "wall"} <= table
    quiet = run_cli("--quiet", *args(fake_openai, tmp_path, "quiet"), cwd=tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    assert (quiet.stdout, quiet.stderr) == ("", "")
    assert (tmp_path / "quiet" / "datasets.jsonl").is_file()
    assert "wrote" in (tmp_path / "quiet" / "__main__.log").read_text()  # the log file keeps everything
    failing = run_cli("--quiet", *args(fake_openai, tmp_path, "bad"), "loader.overlap=5000", cwd=tmp_path)
    assert failing.returncode == 2 and failing.stdout == ""
    assert failing.stderr.startswith("synthgen: error:") and len(failing.stderr.splitlines()) == 1
