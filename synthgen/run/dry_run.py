"""Dry run: print and save the planned calls, tokens and cost per stage; no model is called."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from synthgen.models.pricing import StagePlan


def render_table(plans: list[StagePlan]) -> str:
    """A plain-text table of the plan with a total row."""
    rows = [asdict(p) for p in plans]
    known = [p.cost_usd for p in plans]
    total_cost = None if any(c is None for c in known) else sum(c for c in known if c is not None)
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
    """Print the plan table and save it as plan.txt in the run directory."""
    table = render_table(plans)
    print(table)
    (out_dir / "plan.txt").write_text(table + "\n", encoding="utf-8")
