"""Multirun sweeps: the summary table of every job, failed jobs included, and the experiment configs."""

from __future__ import annotations

import csv
import itertools
import json
from pathlib import Path

import litellm
import pytest
from hydra import compose, initialize_config_dir

from synthgen.config.schema import validate_settings
from synthgen.config.tree import to_plain
from synthgen.core.paths import CONF_DIR
from synthgen.tools.sweep_summary import COLUMNS
from tests.cli import run_cli
from tests.fake_openai import FakeOpenAI
from tests.test_cli import DOC, ONLY_FACTUAL, fake_args, fake_model
from tests.test_facts_pipeline import FactsModel, fake_overrides

EXPERIMENTS = sorted(path.stem for path in (CONF_DIR / "experiment").glob("*.yaml"))


def read_summary(sweep: Path) -> list[dict[str, str]]:
    with (sweep / "summary.csv").open(newline="") as file:
        reader = csv.DictReader(file)
        rows = list(reader)
    assert reader.fieldnames == list(COLUMNS)
    table = (sweep / "summary.md").read_text().splitlines()
    assert table[2] == "| " + " | ".join(COLUMNS) + " |" and len(table) == 4 + len(rows)
    return rows


def test_a_failed_job_gets_a_row_and_the_sweep_exits_non_zero(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.responder = fake_model
    doc = tmp_path / "moon.md"
    doc.write_text(DOC)
    sweep = tmp_path / "sweep"
    args = fake_args(fake_openai, doc, tmp_path / "unused", "mode.answers=true", *ONLY_FACTUAL)
    # gpt41_mini is served by the fake server at model.api_base, at litellm's price; claude needs ANTHROPIC_API_KEY,
    # which is not set
    args[0] = "model=gpt41_mini,claude"
    env = {"ANTHROPIC_API_KEY": None, "OPENAI_API_KEY": "sk-fake"}
    result = run_cli("-m", *args, f"hydra.sweep.dir={sweep}", cwd=tmp_path, env=env)
    assert result.returncode == 2, result.stderr  # the failed job's exit code, after the summary
    assert "Traceback" not in result.stderr
    assert "synthgen: error: model 'claude' needs ANTHROPIC_API_KEY" in result.stderr
    assert f"synthgen: sweep of 2 jobs, 1 failed: {sweep / 'summary.md'}" in result.stderr
    done, failed = read_summary(sweep)
    assert (done["job"], done["overrides"], done["status"], done["error"]) == (
        "0",
        "model=gpt41_mini",
        "completed",
        "",
    )
    assert (done["requested"], done["produced"], done["kept"]) == ("9", "9", "9")
    assert (done["duplicates_removed"], done["rejected"]) == ("0", "0")
    quality = json.loads((sweep / "0" / "quality.json").read_text())
    assert (done["coverage"], done["similarity_mean"]) == ("1.0", str(quality["similarity_mean"]))
    assert 0 < float(done["distinct_2"]) <= 1
    assert (failed["kept"], failed["coverage"]) == ("0", "0.0")  # it stopped before its first call
    # 3 question calls, 3 round trips (a chunk's questions together), 9 answers; the fake server counts 10 prompt
    # and 5 completion tokens a call
    assert (done["calls"], done["prompt_tokens"], done["completion_tokens"]) == ("15", "150", "75")
    stats = json.loads((sweep / "0" / "stats.json").read_text())
    assert float(done["wall_seconds"]) == stats["wall_seconds"] > 0
    price = sum(litellm.cost_per_token(model="openai/gpt-4.1-mini", prompt_tokens=150, completion_tokens=75))
    assert float(done["cost_usd"]) == pytest.approx(stats["cost_usd"]) == pytest.approx(price) and price > 0
    assert float(failed["cost_usd"]) == 0.0
    assert (failed["job"], failed["overrides"], failed["status"]) == ("1", "model=claude", "failed")
    assert "needs ANTHROPIC_API_KEY" in failed["error"] and failed["calls"] == "0"  # stopped before its first call
    assert "| 1 | model=claude | failed | model 'claude' needs ANTHROPIC_API_KEY" in (sweep / "summary.md").read_text()
    report = (sweep / "report.html").read_text()  # one page comparing the jobs
    assert "gpt41_mini" in report and (sweep / "0" / "report.html").is_file()
    assert len(fake_openai.requests) == 15  # no call was made for the failed job


def test_facts_jobs_map_their_counts_and_an_earlier_sweep_is_not_listed(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    fake_openai.responder = model = FactsModel()
    verdicts = itertools.count()
    model.verdict = lambda kind, output: (kind == "question" or next(verdicts) % 2 == 1, "not in the style asked")
    sweep = tmp_path / "sweep"
    result = run_cli(
        "-m",
        *fake_overrides(fake_openai, "limit=6", "model.name=alpha,beta,gamma", f"hydra.sweep.dir={sweep}"),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    rows = read_summary(sweep)
    assert [(row["job"], row["overrides"], row["status"]) for row in rows] == [
        ("0", "model.name=alpha", "completed"),
        ("1", "model.name=beta", "completed"),
        ("2", "model.name=gamma", "completed"),
    ]
    for row in rows:
        stats = json.loads((sweep / row["job"] / "stats.json").read_text())
        assert row["requested"] == "6" and row["produced"] == str(stats["generated"])
        assert row["rejected"] == str(sum(stats["rejected"].values()))
        assert row["kept"] == str(stats["kept"]) and row["duplicates_removed"] == "0"
        assert int(row["kept"]) + int(row["rejected"]) == 6
    assert sum(int(row["rejected"]) for row in rows) > 0  # the judge turned some answers down

    # Job 0's directory holds alpha's outputs: beta may start it afresh (resume=false) and replays from the cache.
    again = fake_overrides(fake_openai, "limit=6", "resume=false", "model.name=beta", f"hydra.sweep.dir={sweep}")
    result = run_cli("-m", *again, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    [row] = read_summary(sweep)  # jobs 1 and 2 of the first sweep are still on disk, not in this summary
    assert (row["job"], row["status"], row["calls"]) == ("0", "completed", "0")
    assert row["overrides"].startswith("mode=facts ") and row["overrides"].endswith(" model.name=beta")  # all: one job
    assert int(row["cache_hits"]) > 0  # replayed: the call cache is shared by every run


def test_a_single_run_writes_no_summary(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    doc = tmp_path / "moon.md"
    doc.write_text(DOC)
    result = run_cli(*fake_args(fake_openai, doc, tmp_path / "run", "dry_run=true"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert not list(tmp_path.rglob("summary.*")) and "sweep of" not in result.stderr


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_composes_validates_and_declares_its_sweep(experiment: str) -> None:
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        params = compose(
            config_name="config", overrides=[f"experiment={experiment}"], return_hydra_config=True
        ).hydra.sweeper.params
        settings = validate_settings(to_plain(compose(config_name="config", overrides=[f"experiment={experiment}"])))
    assert params, f"{experiment} declares no hydra.sweeper.params"
    if experiment == "compare_models_facts":
        assert settings.mode.kind == "facts" and settings.fact_template is not None
        assert params.model == "local,gpt41,claude"
    if experiment == "sharded_corpus":
        assert settings.shard.count == 4 and params["shard.index"] == "range(4)"


def test_the_documented_experiments_ship() -> None:
    assert {"compare_models_facts", "compare_models_queries", "sharded_corpus"} <= set(EXPERIMENTS)


def test_an_experiment_runs_the_sweep_it_declares(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    doc = tmp_path / "moon.md"
    doc.write_text(DOC + "\n## Phases\n\nThe Moon shows eight phases, from new moon to full moon and back again.\n")
    sweep = tmp_path / "sweep"
    args = fake_args(fake_openai, doc, tmp_path / "unused", "dry_run=true")
    result = run_cli("-m", "experiment=sharded_corpus", *args, f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = read_summary(sweep)
    assert [(row["overrides"], row["status"]) for row in rows] == [
        (f"shard.index={index}", "dry_run") for index in range(4)
    ]
    assert not fake_openai.requests
