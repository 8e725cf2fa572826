"""trial.json: accuracy overall and per question type, difficulty and document, each with its Wilson interval,
refusal and premise-correction rates, latency percentiles and cost per item, from the rows of scores.jsonl."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from pydantic import BaseModel

from synthgen.pipelines.trial.scoring import CORRECT, FALSE_PREMISE, OUT_OF_SCOPE, REFUSED, VERDICTS


class ScoreRow(BaseModel):
    """One line of scores.jsonl: one answered item of one assistant."""

    qa_id: str
    session_id: str
    assistant: str
    context: str
    question_type: str | None
    difficulty: str | None
    document: str | None
    query: str
    answer: str
    verdict: str | None
    score: float
    reason: str
    refused: bool
    f1: float | None
    exact_match: bool | None
    scoring: str
    latency_seconds: float | None
    cached: bool
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float


class Rate(BaseModel):
    """`successes` of `total`, their share and its interval at the summary's level (null bounds for no items)."""

    rate: float | None
    successes: int
    total: int
    low: float | None
    high: float | None


def wilson(successes: int, total: int, level: float) -> Rate:
    """The share with its Wilson score interval (scipy's binomtest), which stays inside [0, 1] for small counts."""
    if not total:
        return Rate(rate=None, successes=0, total=0, low=None, high=None)
    from scipy.stats import binomtest  # imported here: scipy takes a moment and only a summary needs it

    interval = binomtest(successes, total).proportion_ci(confidence_level=level, method="wilson")
    return Rate(
        rate=round(successes / total, 4),
        successes=successes,
        total=total,
        low=round(float(interval.low), 4),
        high=round(float(interval.high), 4),
    )


def _rates(rows: Iterable[ScoreRow], key: Callable[[ScoreRow], str | None], level: float) -> dict[str, Rate]:
    groups: dict[str, list[ScoreRow]] = defaultdict(list)
    for row in rows:
        groups[key(row) or "unknown"].append(row)
    return {name: _accuracy(group, level) for name, group in sorted(groups.items())}


def _accuracy(rows: list[ScoreRow], level: float) -> Rate:
    scored = [row for row in rows if row.verdict is not None]
    return wilson(sum(row.verdict == CORRECT for row in scored), len(scored), level)


def trial_summary(rows: list[ScoreRow], *, level: float, scoring: str, extra: dict[str, Any]) -> dict[str, Any]:
    """The content of trial.json for one assistant's rows (`extra`: who answered, how, and the run's counts)."""
    scored = [row for row in rows if row.verdict is not None]
    out_of_scope = [row for row in scored if row.question_type == OUT_OF_SCOPE]
    false_premise = [row for row in scored if row.question_type == FALSE_PREMISE]
    live = [row.latency_seconds for row in rows if row.latency_seconds is not None]
    cost = sum(row.cost_usd for row in rows)
    verdicts = Counter(row.verdict for row in scored)
    return {
        **extra,
        "scoring": scoring,
        "level": level,
        "items": len(rows),
        "scored": len(scored),
        "verdicts": {verdict: verdicts.get(verdict, 0) for verdict in VERDICTS},
        "accuracy": _accuracy(rows, level).model_dump(),
        "mean_score": round(sum(row.score for row in scored) / len(scored), 4) if scored else None,
        "by_type": _dump(_rates(rows, lambda row: row.question_type, level)),
        "by_difficulty": _dump(_rates(rows, lambda row: row.difficulty, level)),
        "by_document": _dump(_rates(rows, lambda row: row.document, level)),
        "refusal_rate_out_of_scope": wilson(
            sum(row.refused or row.verdict == REFUSED for row in out_of_scope), len(out_of_scope), level
        ).model_dump(),
        "premise_correction_rate_false_premise": wilson(
            sum(row.verdict == CORRECT for row in false_premise), len(false_premise), level
        ).model_dump(),
        "latency_seconds": {
            "p50": round(float(np.percentile(live, 50)), 4) if live else None,
            "p95": round(float(np.percentile(live, 95)), 4) if live else None,
            "calls": len(live),
            "from_cache": len(rows) - len(live),
        },
        "cost_usd": round(cost, 6),
        "cost_per_item_usd": round(cost / len(rows), 6) if rows else None,
    }


def _dump(rates: dict[str, Rate]) -> dict[str, dict[str, Any]]:
    return {name: rate.model_dump() for name, rate in rates.items()}
