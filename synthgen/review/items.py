"""The items a reviewer goes through: every question of a run (or of each run of a sweep) with what the page
shows of it, its decision store, and the decisions left over from items a rerun no longer has.

In an update run (`baseline=`, it has changes.json) the items new since the baseline come first: they are the ones
nobody has reviewed; the kept ones carry their decisions over."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import Markup
from omegaconf import OmegaConf

from synthgen.config.schema import EvidenceSettings
from synthgen.outputs.changes import CHANGES
from synthgen.outputs.decisions import Decision, DecisionStore
from synthgen.outputs.export.run_files import Run, find_runs, session_turns
from synthgen.outputs.report.highlight import Quote, highlight
from synthgen.outputs.report.items import ANSWER_EVIDENCE, QUESTION_EVIDENCE
from synthgen.pipelines.documents.baseline.carry import CHECK as KEPT_FROM_BASELINE
from synthgen.pipelines.documents.evidence import Quote as ClaimedQuote
from synthgen.pipelines.documents.evidence import check_question
from synthgen.review.trials import TrialResult, Trials
from synthgen.sources.base import Chunk

JUDGE_CHECK = "judge"


@dataclass(frozen=True)
class Item:
    """One question as the page shows it; `key` is its position in the review (stable for a set of files)."""

    key: int
    run: str
    qa_id: str
    query: str
    answer: str
    question_type: str
    difficulty: str
    persona: str
    document: str
    location: str
    checks: list[str]
    history: list[dict[str, str]]
    context: Markup
    unmatched: list[str]
    quotes: list[str]
    source: str  # the context as plain text, for re-checking an edit
    new: bool  # written by an update run (not kept from its baseline)
    trials: list[TrialResult]
    flags: list[str]  # calibration flags of a sweep of trials: suspect, trivial

    @property
    def judge(self) -> str:
        """The judge's verdict on a kept item: passed, or not judged."""
        return "passed" if JUDGE_CHECK in self.checks else "not judged"


@dataclass
class ReviewRun:
    """One run under review: its directory, its items and its decision store."""

    path: Path
    name: str
    items: list[Item]
    store: DecisionStore
    evidence: EvidenceSettings

    def orphans(self, reviewer: str) -> list[Decision]:
        """The reviewer's decisions on qa_ids the run no longer holds (after a rerun)."""
        ids = {item.qa_id for item in self.items}
        return [decision for decision in self.store.all(reviewer) if decision.qa_id not in ids]


def load_review(directory: Path, trials: Trials | None = None) -> list[ReviewRun]:
    """The runs of `directory` (a run or a sweep) with their items in file order, an update run's new items first,
    each with what `trials` say of it; a UserError if there is no run."""
    runs = find_runs(directory, "all")
    trials = trials or Trials()
    result, key = [], 0
    for run in runs:
        update = (run.path / CHANGES).is_file()
        turns = [
            (turn, str(session.get("context") or ""))
            for session in run.sessions
            for turn in session_turns(run, session)
        ]
        if update:
            turns.sort(key=lambda pair: KEPT_FROM_BASELINE in pair[0].batch["agentic"]["checks"])
        items = []
        for turn, context in turns:
            items.append(_item(key, run, turn.batch, turn.history, context, update, trials))
            key += 1
        result.append(ReviewRun(run.path, run.name, items, DecisionStore(run.path), _evidence_settings(run)))
    return result


def recheck(item: Item, query: str, settings: EvidenceSettings) -> str:
    """The quote check on an edited question: "passed", or its reason and detail."""
    chunk = Chunk(id="context", document=item.document, header_path=(), text=item.source, index=0)
    quotes = [ClaimedQuote(excerpt=1, text=quote) for quote in item.quotes]
    verdict = check_question(query, quotes, [chunk], settings, answerable=bool(item.quotes), hops=1)
    return "passed" if verdict.reason is None else f"{verdict.reason}: {verdict.detail}"


def _item(
    key: int, run: Run, batch: dict[str, Any], history: list[dict[str, str]], context: str, update: bool, trials: Trials
) -> Item:
    agentic = batch["agentic"]
    qa_id = str(batch.get("qa_id"))
    quotes = [Quote(e["quote"], QUESTION_EVIDENCE) for e in agentic["evidence"] if e["quote"]]
    quotes += [Quote(e["quote"], ANSWER_EVIDENCE) for e in agentic["answer_evidence"] if e["quote"]]
    marked, found = highlight(context, quotes)
    return Item(
        key=key,
        run=run.name,
        qa_id=qa_id,
        query=str(batch.get("query") or ""),
        answer=str(batch.get("ground_truth_assistant") or ""),
        question_type=str(agentic["question_type"] or "?"),
        difficulty=str(agentic["difficulty"] or "?"),
        persona=str(agentic["persona"] or ""),
        document=str(agentic["document"] or "?"),
        location=" › ".join(str(part) for part in (agentic["document"], agentic["header_path"]) if part),
        checks=[str(check) for check in agentic["checks"]],
        history=history,
        context=marked,
        unmatched=list(dict.fromkeys(quote.text for quote in quotes if quote.text not in found)),
        quotes=[quote.text for quote in quotes if quote.kind == QUESTION_EVIDENCE],
        source=context,
        new=update and KEPT_FROM_BASELINE not in agentic["checks"],
        trials=trials.results.get(qa_id, []),
        flags=trials.flags.get(qa_id, []),
    )


def _evidence_settings(run: Run) -> EvidenceSettings:
    node = OmegaConf.select(OmegaConf.create(run.config), "mode.evidence", throw_on_resolution_failure=False)
    try:
        return EvidenceSettings.model_validate(OmegaConf.to_container(node) if node is not None else {})
    except ValueError:
        return EvidenceSettings()
