"""The Label Studio round trip: a run's items as Label Studio tasks, and a Label Studio JSON export read back
as decisions.

Tasks are Label Studio's import format (a list of `{"data": {...}}`); the export read back is its JSON export
(a list of tasks, each with `annotations[].result[]` regions named by `from_name`). The labelling config that
matches both is `LABEL_CONFIG` (docs/review.md shows it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from synthgen.core.errors import UserError
from synthgen.outputs.decisions import REASON_LABELS, REASONS, StaleDecision
from synthgen.review.items import ReviewRun, recheck

LABEL_CONFIG = (
    """<View>
  <Header value="$question_type · $difficulty · $document"/>
  <Text name="question" value="$question"/>
  <Text name="answer" value="$answer"/>
  <Text name="context" value="$context"/>
  <Choices name="verdict" toName="question" choice="single" required="true">
    <Choice value="accept"/>
    <Choice value="reject"/>
  </Choices>
  <Choices name="reason" toName="question" choice="single">
"""
    + "".join(f'    <Choice value="{REASON_LABELS[reason]}"/>\n' for reason in REASONS)
    + """  </Choices>
  <TextArea name="note" toName="question" rows="2"/>
  <TextArea name="edited_question" toName="question" rows="2" maxSubmissions="1"/>
  <TextArea name="edited_answer" toName="answer" rows="3" maxSubmissions="1"/>
</View>
"""
)
REASON_OF_LABEL = {label: reason for reason, label in REASON_LABELS.items()}


def write_tasks(runs: list[ReviewRun], path: Path) -> int:
    """Write every item as a Label Studio task to `path`; returns the number of tasks."""
    tasks = [
        {
            "data": {
                "run": run.name,
                "qa_id": item.qa_id,
                "question": item.query,
                "answer": item.answer,
                "context": item.source,
                "question_type": item.question_type,
                "difficulty": item.difficulty,
                "document": item.document,
            }
        }
        for run in runs
        for item in run.items
    ]
    path.write_text(json.dumps(tasks, indent=1, ensure_ascii=False), encoding="utf-8")
    return len(tasks)


def import_annotations(runs: list[ReviewRun], path: Path, default_reviewer: str) -> int:
    """Store the annotations of a Label Studio JSON export as decisions; returns how many were stored.

    The reviewer is the annotator (`completed_by`: its email, or `label-studio-<id>`); cancelled
    annotations and tasks whose qa_id the run does not hold are skipped. A newer import overwrites.
    """
    try:
        tasks = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise UserError(f"{path}: not a readable Label Studio JSON export ({error}) (fix: export as JSON)") from None
    if not isinstance(tasks, list):
        raise UserError(f"{path}: a Label Studio JSON export is a list of tasks (fix: choose the JSON format)")
    items = {(run.name, item.qa_id): (run, item) for run in runs for item in run.items}
    stored = 0
    for task in tasks:
        data = task.get("data") or {}
        found = items.get((str(data.get("run", runs[0].name)), str(data.get("qa_id"))))
        if found is None:
            continue
        run, item = found
        for annotation in task.get("annotations") or []:
            if annotation.get("was_cancelled"):
                continue
            values = _values(annotation.get("result") or [])
            if "verdict" not in values:
                continue
            reviewer = _annotator(annotation.get("completed_by"), default_reviewer)
            current = run.store.get(item.qa_id, reviewer)
            edited_query, edited_answer = values.get("edited_question"), values.get("edited_answer")
            common: dict[str, Any] = {"expected_version": current.version if current else 0}
            common["note"] = values.get("note", "")
            if values["verdict"] == "reject":
                reason = REASON_OF_LABEL.get(values.get("reason", ""), "other")
                verdict, extra = "rejected", {"reason": reason}
            elif edited_query or edited_answer:
                query = edited_query or item.query
                verdict, extra = (
                    "edited",
                    {
                        "query": query,
                        "answer": edited_answer or item.answer,
                        "original_query": item.query,
                        "original_answer": item.answer,
                        "edit_check": recheck(item, query, run.evidence),
                    },
                )
            else:
                verdict, extra = "accepted", {}
            try:
                run.store.save(item.qa_id, reviewer, verdict, **common, **extra)  # type: ignore[arg-type]
            except StaleDecision:  # saved concurrently from the app: that newer decision wins
                continue
            stored += 1
    return stored


def _values(result: list[dict[str, Any]]) -> dict[str, str]:
    """The region values by control name: a choice's first choice, a text area's joined text."""
    values = {}
    for region in result:
        value = region.get("value") or {}
        if value.get("choices"):
            values[str(region.get("from_name"))] = str(value["choices"][0])
        elif value.get("text"):
            text = value["text"]
            values[str(region.get("from_name"))] = "\n".join(text) if isinstance(text, list) else str(text)
    return values


def _annotator(completed_by: Any, default: str) -> str:
    if isinstance(completed_by, dict):
        return str(completed_by.get("email") or f"label-studio-{completed_by.get('id')}")
    if completed_by is None:
        return default
    return f"label-studio-{completed_by}"
