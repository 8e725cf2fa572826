"""trial.json's figures on planted counts, and the deterministic scores."""

from __future__ import annotations

import math

import pytest

from synthgen.pipelines.trial.scoring import deterministic, deterministic_verdict, token_f1
from synthgen.pipelines.trial.summary import ScoreRow, trial_summary, wilson

PHRASES = ["i don't know", "does not say"]


def wilson_by_hand(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval from its formula."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


@pytest.mark.parametrize(("k", "n"), [(8, 10), (0, 5), (5, 5), (37, 120)])
def test_wilson_intervals_on_planted_counts(k: int, n: int) -> None:
    rate = wilson(k, n, 0.95)
    low, high = wilson_by_hand(k, n)
    assert rate.rate == round(k / n, 4) and rate.successes == k and rate.total == n
    assert rate.low == pytest.approx(low, abs=1e-4) and rate.high == pytest.approx(high, abs=1e-4)
    assert 0.0 <= rate.low <= k / n <= rate.high <= 1.0


def test_no_items_have_no_interval() -> None:
    assert wilson(0, 0, 0.95).rate is None and wilson(0, 0, 0.95).low is None


def row(qa_id: str, verdict: str | None, question_type: str = "factual", **fields: object) -> ScoreRow:
    values: dict[str, object] = {
        "qa_id": qa_id,
        "session_id": "s",
        "assistant": "a",
        "context": "none",
        "question_type": question_type,
        "difficulty": "easy",
        "document": "doc.md",
        "query": "q",
        "answer": "a",
        "verdict": verdict,
        "score": 1.0 if verdict == "correct" else 0.0,
        "reason": "",
        "refused": verdict == "refused",
        "f1": None,
        "exact_match": None,
        "scoring": "judge",
        "latency_seconds": 1.0,
        "cached": False,
        "prompt_tokens": 1,
        "completion_tokens": 1,
        "cost_usd": 0.01,
    }
    return ScoreRow.model_validate({**values, **fields})


def test_summary_counts_per_type_and_the_special_rates() -> None:
    rows = [row(f"c{i}", "correct") for i in range(6)] + [row(f"w{i}", "incorrect") for i in range(2)]
    rows += [row("o1", "refused", "out_of_scope"), row("o2", "incorrect", "out_of_scope")]
    rows += [row("f1", "correct", "false_premise"), row("f2", "partial", "false_premise", latency_seconds=9.0)]
    rows += [row("u", None, cached=True, latency_seconds=None)]
    summary = trial_summary(rows, level=0.95, scoring="judge", extra={})
    assert summary["items"] == 13 and summary["scored"] == 12
    assert summary["accuracy"]["successes"] == 7 and summary["accuracy"]["total"] == 12
    assert summary["by_type"]["factual"]["successes"] == 6 and summary["by_type"]["factual"]["total"] == 8
    assert summary["refusal_rate_out_of_scope"]["rate"] == 0.5
    assert summary["premise_correction_rate_false_premise"]["rate"] == 0.5
    assert summary["latency_seconds"] == {"p50": 1.0, "p95": 4.6, "calls": 12, "from_cache": 1}
    assert summary["cost_per_item_usd"] == 0.01
    assert summary["verdicts"] == {"correct": 7, "partial": 1, "incorrect": 3, "refused": 1}


def test_deterministic_scores() -> None:
    assert token_f1("The capital is Paris", "Paris is the capital") == 1.0
    assert token_f1("Rome", "Paris") == 0.0
    scores = deterministic("Paris, I think.", "Paris is the capital of France.", PHRASES)
    assert 0 < scores.f1 < 0.5 and scores.exact_match is False and not scores.refused
    assert deterministic_verdict(scores, "factual", 0.5)[0] == "partial"
    refusal = deterministic("I don’t know.", "Paris.", PHRASES)  # a typographic apostrophe
    assert refusal.refused and deterministic_verdict(refusal, "factual", 0.5)[0] == "refused"
    assert deterministic_verdict(refusal, "out_of_scope", 0.5) == ("correct", 1.0)
    assert deterministic_verdict(deterministic("x", "", PHRASES), "factual", 0.5) == (None, 0.0)


def test_a_false_premise_is_left_to_a_judge() -> None:
    """The embedded model's answer, with the reference context, accepting the premise it should have corrected."""
    reference = (
        "It does not: an environment variable set to an empty string is not treated as false; use no, false or 0."
    )
    accepted = (
        "Pip treats an environment variable set to an empty string as false because it does not take a value. "
        "The no, false or 0 are used instead to indicate the absence of a value."
    )
    scores = deterministic(accepted, reference, PHRASES)
    assert scores.f1 is not None and scores.f1 >= 0.5  # F1 alone would call it correct
    assert deterministic_verdict(scores, "false_premise", 0.5) == (None, 0.0)
