"""The unit runner both pipelines share: units run concurrently, a failed unit is recorded and the run goes on.

It owns failures.jsonl, the progress bar, the budget stop (units left unstarted are counted as skipped), and the
run's unhappy endings: the budget ran out, every unit failed, or (checked by the runner once the pipeline is done)
more units failed than `max_failure_rate` allows. When the failures share a cause, the final line names it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from tqdm import tqdm

from synthgen.core.errors import BudgetExceeded, BudgetExhausted, NothingProduced, TooManyFailures, UserError
from synthgen.core.jsonl import JsonlOutput
from synthgen.core.secrets import redact
from synthgen.run.stats import Cause, RunStats

Unit = TypeVar("Unit")
Result = TypeVar("Result")
GENERIC_FIX = "check the model settings and the errors listed there, then rerun"


class UnitFailed(Exception):
    """A model call of a unit failed for good: the unit goes to failures.jsonl with `fields`."""

    def __init__(self, stage: str, error: Exception, **fields: Any) -> None:
        super().__init__(str(error))
        self.stage, self.error, self.fields = stage, error, fields


async def guarded(stage: str, call: Awaitable[Result], **fields: Any) -> Result:
    """Await a model call; a unit-level error becomes UnitFailed, run-level ones (UserError, budget) pass."""
    try:
        return await call
    except (UserError, BudgetExhausted):
        raise
    except Exception as error:  # a failed unit is recorded and the run goes on
        raise UnitFailed(stage, error, **fields) from error


class UnitRunner:
    """Runs a pipeline's units with `each`, records failures, and ends the run with `finish`."""

    def __init__(self, out_dir: Path, stats: RunStats, *, quiet: bool = False) -> None:
        self.stats = stats
        self.quiet = quiet
        self.failures = JsonlOutput(out_dir / "failures.jsonl", fresh=True)
        self._progress: tqdm | None = None

    async def each(
        self,
        units: Sequence[Unit],
        work: Callable[[Unit], Awaitable[Result]],
        *,
        desc: str,
        total: int | None = None,
    ) -> list[Result | None]:
        """`work` on every unit concurrently; results in the units' order, None for a failed or skipped unit.

        The progress bar counts units, or, when `total` is given, what the work reports with `advance`.
        A UserError (a fatal model error, a broken prompt) stops every unit and is raised as itself.
        """
        self.failures.begin()  # this attempt's failures replace the last attempt's, even when there are none
        size = len(units) if total is None else total
        self.stats.units = max(self.stats.units, size)
        # Shown on a terminal only, with the run's counts so far (kept, rejected, failed) beside it.
        with tqdm(total=size, unit="unit", desc=desc, disable=True if self.quiet else None) as progress:
            self._progress = progress

            async def one(unit: Unit) -> Result | None:
                result: Result | None = None
                try:
                    result = await work(unit)
                except UnitFailed as failure:
                    self.record(failure)
                except BudgetExhausted:
                    self.stats.skipped += 1  # left unfinished, so a rerun with more budget completes it
                if total is None:  # a cancelled unit raises past this: the bar shows only finished units
                    progress.update(1)
                progress.set_postfix(self._counts(), refresh=False)
                return result

            try:
                async with asyncio.TaskGroup() as group:
                    tasks = [group.create_task(one(unit)) for unit in units]
            except* UserError as errors:
                raise errors.exceptions[0] from None
            finally:
                self._progress = None
        return [task.result() for task in tasks]

    def advance(self, count: int = 1) -> None:
        """Move the progress bar of the running `each` by `count`."""
        if self._progress is not None:
            self._progress.update(count)

    def _counts(self) -> dict[str, int]:
        """What the progress bar shows beside the bar."""
        counts = {name: value for name, value in self.stats.counts().items() if name not in ("requested", "produced")}
        return {**counts, "failed": self.stats.failures}

    def record(self, failure: UnitFailed) -> None:
        """Write a failed unit to failures.jsonl (its error redacted) and count it and its cause."""
        error = redact(str(failure.error))
        self.stats.failures += 1
        self.stats.stage(failure.stage).failures += 1
        first_line = (error.strip().splitlines() or [type(failure.error).__name__])[0][:300]
        self.stats.failure_causes[Cause(first_line, getattr(failure.error, "fix", None))] += 1
        self.failures.write(
            {
                **failure.fields,
                "stage": failure.stage,
                "error_type": type(failure.error).__name__,
                "error": error[:2000],
            }
        )

    def finish(self, *, produced: int, what: str, max_cost_usd: float | None, empty: str | None = None) -> None:
        """Close failures.jsonl; raise BudgetExceeded if units were skipped, NothingProduced if nothing was made.

        Nothing made is an error when units failed, or always when the pipeline gives its `empty` explanation;
        when every failure has the same cause, the error names it. An interrupted run ends in the runner.
        """
        self.failures.close()
        if self.stats.status == "interrupted":
            return
        if self.stats.skipped:
            raise BudgetExceeded.after(max_cost_usd, self.stats.cost_usd, self.stats.skipped, what)
        if produced == 0 and (self.failures.count or empty):
            failed = f"{self.failures.count} failures, see {self.failures.path}"
            if len(self.stats.failure_causes) == 1:
                [cause] = self.stats.failure_causes
                raise NothingProduced(
                    f"no {what} produced ({failed}), all with one cause: {cause.message} "
                    f"(fix: {cause.fix or GENERIC_FIX})"
                )
            raise NothingProduced(empty or f"every unit failed ({failed}) (fix: {GENERIC_FIX})")


def check_failure_rate(stats: RunStats, max_failure_rate: float, failures: Path) -> None:
    """Raise TooManyFailures, naming the most frequent cause, when failures exceed `max_failure_rate` of the units.

    A unit can fail more than once (a chunk's answers fail one by one), so the rate is capped at 1.
    """
    if not stats.units or not stats.failure_causes:
        return
    rate = min(1.0, stats.failures / stats.units)
    if rate <= max_failure_rate:
        return
    cause, count = stats.failure_causes.most_common(1)[0]
    raise TooManyFailures(
        f"{stats.failures} failures in {stats.units} work units ({rate:.0%}, above max_failure_rate="
        f"{max_failure_rate}); most often ({count} times, see {failures}): {cause.message} "
        f"(fix: {cause.fix or GENERIC_FIX}, or raise max_failure_rate)"
    )
