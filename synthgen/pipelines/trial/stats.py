"""Trial accounting: items to answer, answered and scored, and the accuracy line of the final log."""

from __future__ import annotations

from dataclasses import dataclass

from synthgen.run.stats import RunStats


@dataclass(kw_only=True)
class TrialStats(RunStats):
    """RunStats counting items (turns): requested, answered (`produced`) and scored (`kept`)."""

    scored: int = 0
    accuracy_line: str = ""

    def counts(self) -> dict[str, int]:
        """Items to answer, answered, and scored."""
        return {
            "requested": self.requested.get("items", 0),
            "produced": self.produced.get("answers", 0),
            "kept": self.scored,
        }

    def headline(self) -> str:
        """The accuracy and its interval."""
        return self.accuracy_line
