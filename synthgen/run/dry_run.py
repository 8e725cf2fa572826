"""Dry run: print and save the planned calls, tokens and cost per stage; no model is called."""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path

from synthgen.models.pricing import StagePlan

log = logging.getLogger("synthgen")
LARGE_OUTPUT_TOKENS = 1_000_000  # a plan writing more is worth a second look before it runs
LARGE_COST_USD = 100.0


def render_table(plans: list[StagePlan]) -> str:
    """A plain-text table of the plan with a total row."""
    rows = [asdict(p) for p in plans]
    total_cost = _total_cost(plans)
    rows.append(
        {
            "stage": "total",
            "calls": sum(p.calls for p in plans),
            "prompt_tokens": sum(p.prompt_tokens for p in plans),
            "completion_tokens": sum(p.completion_tokens for p in plans),
            "cost_usd": total_cost,
        }
    )
    lines = [f"{'stage':<12}{'calls':>8}{'prompt tok':>14}{'completion tok':>16}{'est. cost':>12}"]
    for row in rows:
        cost = "unknown" if row["cost_usd"] is None else f"${row['cost_usd']:.4f}"
        lines.append(
            f"{row['stage']:<12}{row['calls']:>8}{row['prompt_tokens']:>14}{row['completion_tokens']:>16}{cost:>12}"
        )
    pricing = {p.pricing for p in plans} - {"regular"}
    if "half_regular_estimate" in pricing:
        lines.append("batch mode: costs estimated at half the regular price (litellm has no batch price for the model)")
    elif pricing:
        lines.append("batch mode: costs at the provider's batch prices")
    return "\n".join(lines)


def write_plan(plans: list[StagePlan], out_dir: Path) -> None:
    """Print the plan table and save it as plan.txt in the run directory; warn (one line) about a large plan."""
    table = render_table(plans)
    print(table)
    (out_dir / "plan.txt").write_text(table + "\n", encoding="utf-8")
    warning = large_plan(plans)
    if warning:
        log.warning("%s", warning)


def large_plan(plans: list[StagePlan]) -> str | None:
    """The warning for a plan larger than a user is likely to mean, or None."""
    tokens = sum(p.completion_tokens for p in plans)
    cost = _total_cost(plans)
    if tokens <= LARGE_OUTPUT_TOKENS and (cost is None or cost <= LARGE_COST_USD):
        return None
    priced = "" if cost is None else f", about ${cost:,.2f}"
    return (
        f"this plan is large: {tokens:,} output tokens{priced} (fix: check it is meant; limit=N, fewer questions per "
        "chunk, or max_cost_usd bound it)"
    )


def _total_cost(plans: list[StagePlan]) -> float | None:
    """The plan's cost, None when a stage's is unknown."""
    known = [p.cost_usd for p in plans]
    return None if any(c is None for c in known) else sum(c for c in known if c is not None)
