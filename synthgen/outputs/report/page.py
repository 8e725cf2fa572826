"""report.html: one self-contained page (inline CSS and SVG, no script, no network) describing a run or sweep."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from synthgen.core.errors import UserError
from synthgen.core.jsonl import read_jsonl
from synthgen.outputs.agreement import HumanView, human_view, run_items
from synthgen.outputs.changes import RETIRED, RetiredItem, RunChanges, read_changes
from synthgen.outputs.export.run_files import Run, find_runs
from synthgen.outputs.export.summary import (
    answered_count,
    cost_figures,
    format_value,
    quality_figures,
    question_count,
)
from synthgen.outputs.report.charts import quality_charts
from synthgen.outputs.report.figures import run_colours
from synthgen.outputs.report.items import FactView, SessionView, fact_sample, session_sample
from synthgen.outputs.report.trial import trial_rows

TEMPLATE = "report.html.j2"
REVIEW_QUALITY = "review.json"
REPORT = "report.html"
STAGE_COLUMNS = (
    ("calls", "calls", "int"),
    ("cache_hits", "cache hits", "int"),
    ("failures", "failures", "int"),
    ("prompt_tokens", "prompt tokens", "int"),
    ("completion_tokens", "completion tokens", "int"),
    ("cost_usd", "cost (USD)", "usd"),
    ("wall_seconds", "wall (s)", "float"),
)


@dataclass(frozen=True)
class JobView:
    """Everything the page shows about one run."""

    name: str
    colour: str
    overrides: str
    mode: str
    model: str
    status: str
    questions: int
    answered: int
    cost: str
    config: str
    stages: list[list[str]]
    sessions: list[SessionView]
    facts: list[FactView]
    item_total: int
    report_link: str | None = None
    figures: dict[str, str] = field(default_factory=dict)
    changes: RunChanges | None = None  # an update run: what changed against its baseline
    retired: list[RetiredItem] = field(default_factory=list)
    human: HumanView | None = None
    trial_scoring: str = ""
    trial: list[list[str]] = field(default_factory=list)


def write_report(run_dir: Path, *, sample_size: int = 50) -> Path:
    """Write `<run_dir>/report.html` for one run, showing up to `sample_size` sampled sessions or items."""
    runs = find_runs(run_dir, "all")
    if len(runs) != 1 or runs[0].path != run_dir:
        raise UserError(f"{run_dir} is not a run directory (fix: pass a run, or use the sweep report for a sweep)")
    return _write(run_dir, runs, title=f"synthgen run {run_dir.resolve().name}", sweep=False, sample_size=sample_size)


def write_sweep_report(sweep_dir: Path, *, sample_size: int = 10) -> Path:
    """Write `<sweep_dir>/report.html` comparing every run below it (one row and one colour per job)."""
    runs = find_runs(sweep_dir, "all")
    title = f"synthgen sweep {sweep_dir.resolve().name} ({len(runs)} jobs)"
    return _write(sweep_dir, runs, title=title, sweep=True, sample_size=sample_size)


def render_report(runs: list[Run], *, title: str, sweep: bool, sample_size: int, links: bool = False) -> str:
    """The report page for `runs`; with `links`, each job links to its own report.html when one exists."""
    colours = dict(zip((run.name for run in runs), run_colours(len(runs))))
    jobs = [_job_view(run, colours[run.name], _distinct_overrides(run, runs), sample_size, links) for run in runs]
    labels = list(dict.fromkeys(label for job in jobs for label in job.figures))
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return environment.get_template(TEMPLATE).render(
        title=title,
        sweep=sweep,
        jobs=jobs,
        figure_labels=labels,
        charts=quality_charts(runs, colours),
        stage_headers=[label for _, label, _ in STAGE_COLUMNS],
    )


def _write(directory: Path, runs: list[Run], *, title: str, sweep: bool, sample_size: int) -> Path:
    for run in runs:
        write_review_quality(run)
    path = directory / REPORT
    html = render_report(runs, title=title, sweep=sweep, sample_size=sample_size, links=sweep)
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
    return path


def write_review_quality(run: Run) -> Path | None:
    """`<run>/review.json`: the human view of quality.json's figures (None, and no file, before any review)."""
    view = human_view(run.path, run_items(run.path, run.sessions))
    if view is None:
        return None
    path = run.path / REVIEW_QUALITY
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(view.to_json(), indent=2), encoding="utf-8")
    tmp.replace(path)
    return path


def _job_view(run: Run, colour: str, overrides: str, sample_size: int, links: bool) -> JobView:
    stats = run.stats
    stages = [
        [str(name), *(format_value(values.get(key, 0), kind) for key, _, kind in STAGE_COLUMNS)]
        for name, values in (stats.get("stages") or {}).items()
        if isinstance(values, dict)
    ]
    own_report = run.path / REPORT
    scoring, trial = trial_rows(run.path)
    return JobView(
        name=run.name,
        colour=colour,
        overrides=overrides,
        mode=run.mode or "?",
        model=" / ".join(part for part in (run.model, run.model_id) if part) or "?",
        status=str(stats.get("status", "?")),
        questions=question_count(run),
        answered=answered_count(run),
        cost=format_value(stats["cost_usd"], "usd") if "cost_usd" in stats else "?",
        config=run.config_yaml(),
        stages=stages,
        sessions=session_sample(run, sample_size),
        facts=fact_sample(run, sample_size),
        item_total=len(run.sessions) + len(run.facts),
        report_link=f"{run.name}/{REPORT}" if links and own_report.is_file() else None,
        figures={**cost_figures(run), **quality_figures(run)},
        changes=read_changes(run.path),
        retired=[RetiredItem.model_validate(row) for row in read_jsonl(run.path / RETIRED, missing_ok=True)][
            :sample_size
        ],
        human=human_view(run.path, run_items(run.path, run.sessions)),
        trial_scoring=scoring,
        trial=trial,
    )


def _distinct_overrides(run: Run, runs: list[Run]) -> str:
    """The run's overrides that not every run shares (what tells the jobs of a sweep apart)."""
    shared: set[str] = set.intersection(*(set(other.overrides) for other in runs)) if len(runs) > 1 else set()
    return " ".join(item for item in run.overrides if item not in shared)
