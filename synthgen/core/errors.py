"""Errors that end a run with one clear message instead of a traceback."""

from __future__ import annotations


class UserError(Exception):
    """A mistake in the user's input or environment; the message names the fix."""

    exit_code = 2


class FatalModelError(UserError):
    """The model cannot be used at all (bad key, unknown model): stop the run, keep outputs."""

    exit_code = 3


class NothingProduced(UserError):
    """Every unit failed: the failures are on disk, the run produced no records."""

    exit_code = 4


class BudgetExhausted(Exception):
    """Raised instead of starting a call once max_cost_usd is spent; the unit is skipped, not failed."""


class BudgetExceeded(UserError):
    """The run stopped at its budget: finished outputs and stats are written."""

    exit_code = 5

    @classmethod
    def after(cls, limit: float | None, spent: float, unfinished: int, what: str) -> BudgetExceeded:
        """The message for a run that left `unfinished` units of `what` when the budget ran out."""
        return cls(
            f"stopped at max_cost_usd={limit} (spent ${spent:.4f}): {unfinished} {what} not finished "
            "(fix: rerun the same config with a higher max_cost_usd; finished calls replay from the cache)"
        )
