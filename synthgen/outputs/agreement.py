"""The human view of a reviewed run: acceptance rates, rejection reasons, and how far the judge (and a second
reviewer) agrees with the reviewer, as raw agreement and Cohen's kappa with the counts behind them.

The judge's verdict on an item: kept with `judge` among its checks means it passed; a rejected.jsonl row of
stage `judge` means it failed. Items the judge never saw do not count towards agreement.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

from synthgen.core.jsonl import read_jsonl
from synthgen.outputs.decisions import Decision, all_decisions

JUDGE_STAGE = "judge"


@dataclass(frozen=True)
class ItemFacts:
    """What the human view needs of one item: where it belongs and the judge's verdict (None: not judged)."""

    qa_id: str
    question_type: str
    difficulty: str
    document: str
    judge_passed: bool | None


@dataclass(frozen=True)
class Rate:
    """Reviewed items of one group (a type, difficulty or document) and how many were kept."""

    group: str
    reviewed: int
    kept: int

    @property
    def rate(self) -> float:
        """The share of reviewed items kept (0 when none was reviewed)."""
        return self.kept / self.reviewed if self.reviewed else 0.0


@dataclass(frozen=True)
class Agreement:
    """Two raters on the same items: how many, raw agreement, Cohen's kappa (None when undefined), and the
    2x2 table as counts: both keep, only the first keeps, only the second keeps, both reject."""

    group: str
    items: int
    raw: float
    kappa: float | None
    both_keep: int
    first_only: int
    second_only: int
    both_reject: int


@dataclass(frozen=True)
class HumanView:
    """Everything quality.json-style readers and report.html show about a run's review."""

    reviewers: list[str]
    items: int
    reviewed: int
    accepted: int
    edited: int
    rejected: int
    by_type: list[Rate] = field(default_factory=list)
    by_difficulty: list[Rate] = field(default_factory=list)
    by_document: list[Rate] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)
    judge: list[Agreement] = field(default_factory=list)  # per type, then "all"
    between_reviewers: list[Agreement] = field(default_factory=list)  # "a vs b"

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data (rates included)."""
        data = asdict(self)
        for key in ("by_type", "by_difficulty", "by_document"):
            for row, rate in zip(data[key], getattr(self, key)):
                row["rate"] = round(rate.rate, 4)
        return data


def agreement(group: str, first: list[bool], second: list[bool]) -> Agreement:
    """Raw agreement and Cohen's kappa (scikit-learn) of two raters' keep (True) / reject (False) labels."""
    from sklearn.metrics import cohen_kappa_score  # heavy: only where agreement is computed

    pairs = Counter(zip(first, second))
    items = len(first)
    raw = (pairs[(True, True)] + pairs[(False, False)]) / items if items else 0.0
    kappa: float | None = None
    if items and len(set(first) | set(second)) > 1:
        value = float(cohen_kappa_score(first, second, labels=[False, True]))
        kappa = None if math.isnan(value) else round(value, 4)
    return Agreement(
        group=group,
        items=items,
        raw=round(raw, 4),
        kappa=kappa,
        both_keep=pairs[(True, True)],
        first_only=pairs[(True, False)],
        second_only=pairs[(False, True)],
        both_reject=pairs[(False, False)],
    )


def run_items(run_dir: Path, sessions: list[dict[str, Any]]) -> list[ItemFacts]:
    """The kept items of the run's (unfiltered, normalised) sessions, then the judge's rejections."""
    items = []
    for session in sessions:
        for batch in session["conversation"]:
            agentic = batch["agentic"]
            items.append(
                ItemFacts(
                    qa_id=str(batch.get("qa_id")),
                    question_type=str(agentic.get("question_type") or "?"),
                    difficulty=str(agentic.get("difficulty") or "?"),
                    document=str(agentic.get("document") or "?"),
                    judge_passed=True if JUDGE_STAGE in (agentic.get("checks") or []) else None,
                )
            )
    for row in read_jsonl(run_dir / "rejected.jsonl", missing_ok=True):
        if row.get("stage") == JUDGE_STAGE and row.get("qa_id"):
            items.append(
                ItemFacts(
                    qa_id=str(row["qa_id"]),
                    question_type=str(row.get("question_type") or "?"),
                    difficulty=str(row.get("difficulty") or "?"),
                    document=str(row.get("document") or "?"),
                    judge_passed=False,
                )
            )
    return items


def human_view(run_dir: Path, items: list[ItemFacts], decisions: list[Decision] | None = None) -> HumanView | None:
    """The review figures of a run (None when nobody reviewed it); the first reviewer by name is the one
    rates and judge agreement are computed for when several reviewed."""
    decisions = all_decisions(run_dir) if decisions is None else decisions
    if not decisions:
        return None
    by_reviewer: dict[str, dict[str, Decision]] = defaultdict(dict)
    for decision in decisions:
        by_reviewer[decision.reviewer][decision.qa_id] = decision
    reviewers = sorted(by_reviewer)
    mine = by_reviewer[reviewers[0]]
    reviewed = [(item, mine[item.qa_id]) for item in items if item.qa_id in mine]
    judged = [(item, decision) for item, decision in reviewed if item.judge_passed is not None]
    judge_rows = [
        agreement(
            group,
            [bool(item.judge_passed) for item, _ in rows],
            [decision.kept for _, decision in rows],
        )
        for group, rows in _groups(judged, lambda item: item.question_type)
    ]
    pairs = []
    for first, second in combinations(reviewers, 2):
        shared = [qa_id for qa_id in by_reviewer[first] if qa_id in by_reviewer[second]]
        pairs.append(
            agreement(
                f"{first} vs {second}",
                [by_reviewer[first][qa_id].kept for qa_id in shared],
                [by_reviewer[second][qa_id].kept for qa_id in shared],
            )
        )
    verdicts = Counter(decision.verdict for _, decision in reviewed)
    return HumanView(
        reviewers=reviewers,
        items=len(items),
        reviewed=len(reviewed),
        accepted=verdicts["accepted"],
        edited=verdicts["edited"],
        rejected=verdicts["rejected"],
        by_type=_rates(reviewed, lambda item: item.question_type),
        by_difficulty=_rates(reviewed, lambda item: item.difficulty),
        by_document=_rates(reviewed, lambda item: item.document),
        reasons=dict(Counter(str(decision.reason) for _, decision in reviewed if decision.verdict == "rejected")),
        judge=judge_rows,
        between_reviewers=pairs,
    )


def _groups(rows: list[tuple[ItemFacts, Decision]], key: Any) -> list[tuple[str, list[tuple[ItemFacts, Decision]]]]:
    """Rows per group (sorted), then all rows as "all" (nothing when there are no rows)."""
    grouped: dict[str, list[tuple[ItemFacts, Decision]]] = defaultdict(list)
    for row in rows:
        grouped[key(row[0])].append(row)
    return [*sorted(grouped.items()), ("all", rows)] if rows else []


def _rates(rows: list[tuple[ItemFacts, Decision]], key: Any) -> list[Rate]:
    return [
        Rate(group, len(members), sum(decision.kept for _, decision in members))
        for group, members in _groups(rows, key)
        if group != "all"
    ]
