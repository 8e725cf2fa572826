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
