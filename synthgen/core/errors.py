"""Errors that end a run with one clear message instead of a traceback, and the exit codes they map to."""

from __future__ import annotations

CRASH_EXIT_CODE = 70  # a bug in synthgen or a plugin (sysexits' EX_SOFTWARE); Hydra's own composition errors exit 1


class UserError(Exception):
    """A mistake in the user's input or environment; the message names the fix."""

    exit_code = 2
    label = "error"  # the word after `synthgen:` on the error line


class FatalModelError(UserError):
    """The model cannot be used at all (bad key, unknown model): stop the run, keep outputs."""

    exit_code = 3


class NothingProduced(UserError):
    """Every unit failed: the failures are on disk, the run produced no records."""

    exit_code = 4


class BudgetExhausted(Exception):
    """Raised instead of starting a call once max_cost_usd is spent; the unit is skipped, not failed."""


class CallsStopped(BudgetExhausted):
    """Raised instead of starting a call once the run is interrupted; the unit is left unfinished like a budget stop."""


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


class TooManyFailures(UserError):
    """More units failed than max_failure_rate allows: everything is written, but the run does not count as done."""

    exit_code = 6


class RunInterrupted(UserError):
    """Ctrl-C stopped the run: finished outputs and stats are written, a rerun resumes."""

    exit_code = 130  # 128 + SIGINT, as shells report it
    label = "interrupted"


class RunTerminated(RunInterrupted):
    """SIGTERM (a scheduler stopping the job) stopped the run, handled as Ctrl-C is."""

    exit_code = 143  # 128 + SIGTERM


class ModelUnreachable(Exception):
    """Nothing listens at the model's address (connection refused): a unit error that names its fix."""

    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message)
        self.fix = fix
