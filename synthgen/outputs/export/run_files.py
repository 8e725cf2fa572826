"""Read finished run directories (a single run or a sweep of them) into one normalised view.

Rows written before the `agentic` schema was fixed lack some keys: every missing key reads as null or [],
so old and new runs, and runs of every mode, export together.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from synthgen.core.errors import UserError
from synthgen.core.jsonl import read_jsonl
from synthgen.core.secrets import redact
from synthgen.outputs.decisions import load_decisions
from synthgen.outputs.reviewed import Reviewed, ReviewSelection, select_sessions

# The fixed keys of a turn's `agentic` record and the value each takes when a row lacks it.
AGENTIC_DEFAULTS: dict[str, Any] = {
    "chunk_id": None,
    "document": None,
    "header_path": None,
    "chunk_index": None,
    "pages": [],
    "turn_number": None,
    "builds_on": None,
    "question_type": None,
    "difficulty": None,
    "persona": None,
    "source_chunks": [],
    "evidence": [],
    "answer_evidence": [],
    "closed_book_answerable": None,
    "checks": [],
}
EVIDENCE_DEFAULTS: dict[str, Any] = {"quote": None, "chunk_id": None, "score": None}
RUN_MARKERS = ("stats.json", "datasets.jsonl", "records.jsonl")
FACTS_FILES = ("records.jsonl", "ft.jsonl", "text.jsonl")
# Config keys whose values are credentials (`api_key_env` names a variable and `max_tokens` counts tokens: kept).
SECRET_KEY = re.compile(r"(^|_)(api_?key|key|token|secret|password|passwd|credentials?)$", re.IGNORECASE)
REDACTED = "[redacted]"


@dataclass(frozen=True)
class FactItem:
    """One kept facts-mode item: its records.jsonl row with the matching ft.jsonl and text.jsonl rows."""

    record: dict[str, Any]
    messages: list[dict[str, str]]
    text: str


@dataclass(frozen=True)
class Run:
    """One run directory's outputs; `name` is its path below the exported directory (or its own name).

    `model_id` is the provider's model identifier (e.g. openai/gpt-4.1) and `overrides` the run's
    command-line overrides, when the run recorded its Hydra config.
    """

    path: Path
    name: str
    sessions: list[dict[str, Any]] = field(default_factory=list)
    facts: list[FactItem] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    quality: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    model_id: str | None = None
    overrides: list[str] = field(default_factory=list)
    review: ReviewSelection | None = None  # what the review decisions left out, when any decision exists

    @property
    def mode(self) -> str | None:
        """The run's mode kind (queries, conversation, facts), if recorded."""
        mode = self.stats.get("mode") or self.config.get("mode", {}).get("kind")
        return str(mode) if mode else None

    @property
    def model(self) -> str | None:
        """The model option the run used (e.g. gpt41), if recorded."""
        model = self.stats.get("model") or self.config.get("model", {}).get("name")
        return str(model) if model else None

    def config_yaml(self) -> str:
        """The composed config as YAML with credentials replaced by `[redacted]` ("" if not recorded)."""
        if not self.config:
            return ""
        return redact(OmegaConf.to_yaml(OmegaConf.create(_without_secrets(self.config))))


@dataclass(frozen=True)
class Turn:
    """One question of a session, with the conversation before it (`history`: role/content messages)."""

    run: Run
    session: dict[str, Any]
    batch: dict[str, Any]
    history: list[dict[str, str]]

    @property
    def agentic(self) -> dict[str, Any]:
        """The turn's normalised `agentic` record."""
        agentic: dict[str, Any] = self.batch["agentic"]
        return agentic

    @property
    def answer(self) -> str | None:
        """The ground-truth answer, or None when the run had no answer stage (or this turn lacks one)."""
        return self.batch.get("ground_truth_assistant") or None


def find_runs(path: Path, reviewed: Reviewed | None = None) -> list[Run]:
    """The runs in `path`: the run itself, or every run directory below it (a sweep), in path order.

    Each run's items are those `reviewed` keeps (default: all but the rejected once a decision exists), edited.
    """
    if not path.is_dir():
        raise UserError(f"not a directory: {path} (fix: pass a run directory or a multirun sweep directory)")
    if _is_run(path):
        return [load_run(path, path.name, reviewed)]
    found = sorted({marker.parent for name in RUN_MARKERS for marker in path.rglob(name)})
    runs = [load_run(directory, directory.relative_to(path).as_posix(), reviewed) for directory in found]
    if not runs:
        raise UserError(
            f"no synthgen run output in {path} (fix: pass a directory holding datasets.jsonl, records.jsonl "
            "or stats.json, or a sweep directory above such runs)"
        )
    return runs


def load_run(path: Path, name: str, reviewed: Reviewed | None = None) -> Run:
    """Read one run directory; absent files read as empty; review decisions applied as in `find_runs`."""
    config = _read_optional_yaml(path / ".hydra" / "config.yaml")
    overrides = _read_optional_yaml(path / ".hydra" / "overrides.yaml")
    model_id = OmegaConf.select(config, "model.model", throw_on_resolution_failure=False)
    sessions = [normalise_session(row) for row in read_jsonl(path / "datasets.jsonl", missing_ok=True)]
    decisions = load_decisions(path)
    selection = None
    if decisions or reviewed not in (None, "all"):
        sessions, selection = select_sessions(sessions, decisions, reviewed)
    return Run(
        path=path,
        name=name,
        sessions=sessions,
        review=selection,
        facts=read_facts(path),
        stats=_read_json(path / "stats.json"),
        quality=_read_json(path / "quality.json"),
        config=_plain(config),
        model_id=str(model_id) if model_id else None,
        overrides=[str(item) for item in overrides] if OmegaConf.is_list(overrides) else [],
    )


def normalise_session(row: dict[str, Any]) -> dict[str, Any]:
    """A datasets.jsonl row with every turn's `agentic` holding exactly the fixed keys."""
    turns = [
        {**batch, "agentic": normalise_agentic(batch.get("agentic") or {})} for batch in row.get("conversation") or []
    ]
    return {**row, "conversation": turns}


def normalise_agentic(agentic: dict[str, Any]) -> dict[str, Any]:
    """The fixed `agentic` keys, each from `agentic` or its default (null / []); other keys are dropped."""
    values = {key: agentic.get(key, default) for key, default in AGENTIC_DEFAULTS.items()}
    for key in ("pages", "source_chunks", "checks"):
        values[key] = list(values[key] or [])
    for key in ("evidence", "answer_evidence"):
        values[key] = [{**EVIDENCE_DEFAULTS, **item} for item in values[key] or []]
    return values


def turns(run: Run) -> Iterator[Turn]:
    """Every question of the run's sessions, in file order."""
    for session in run.sessions:
        yield from session_turns(run, session)


def session_turns(run: Run, session: dict[str, Any]) -> list[Turn]:
    """The questions of one session; conversation turns carry the turns before them as `history`."""
    history: list[dict[str, str]] = []
    result = []
    for batch in session["conversation"]:
        conversational = batch["agentic"]["turn_number"] is not None
        result.append(Turn(run, session, batch, list(history) if conversational else []))
        history.append({"role": "user", "content": batch.get("query", "")})
        if batch.get("ground_truth_assistant"):
            history.append({"role": "assistant", "content": batch["ground_truth_assistant"]})
    return result


def _is_run(path: Path) -> bool:
    return any((path / name).is_file() for name in RUN_MARKERS)


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise UserError(f"{path}: not valid JSON ({error.msg}) (fix: rerun that job, or delete the file)") from None
    return data if isinstance(data, dict) else {}


def load_yaml(path: Path) -> Any:
    """The OmegaConf node of a YAML file; an unreadable file is a UserError."""
    try:
        return OmegaConf.load(path)
    except (yaml.YAMLError, OmegaConfBaseException) as error:
        raise UserError(
            f"{path}: not valid YAML ({type(error).__name__}) (fix: correct or regenerate that file)"
        ) from None


def _read_optional_yaml(path: Path) -> Any:
    return load_yaml(path) if path.is_file() else OmegaConf.create()


def _plain(config: Any) -> dict[str, Any]:
    container = OmegaConf.to_container(config, resolve=False) if OmegaConf.is_dict(config) else None
    return {str(key): value for key, value in container.items()} if isinstance(container, dict) else {}


def read_facts(path: Path) -> list[FactItem]:
    """The kept items of a facts run directory ([] without records.jsonl); the three files must agree."""
    if not (path / "records.jsonl").is_file():
        return []
    records, ft, text = (read_jsonl(path / name) for name in FACTS_FILES)
    if not len(records) == len(ft) == len(text):
        raise UserError(
            f"{path}: records.jsonl, ft.jsonl and text.jsonl have {len(records)}, {len(ft)} and {len(text)} rows "
            "(fix: rerun that job; its files must have one row per kept item each)"
        )
    return [
        FactItem(record=record, messages=list(ft_row.get("messages") or []), text=str(text_row.get("text", "")))
        for record, ft_row, text_row in zip(records, ft, text)
    ]


def _without_secrets(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: REDACTED if SECRET_KEY.search(str(key)) and value is not None else _without_secrets(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_without_secrets(item) for item in node]
    return node
