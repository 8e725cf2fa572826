"""Facts mode accounting: run stats plus duplicates removed and rejections per check."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from synthgen.run.stats import RunStats


@dataclass(kw_only=True)
class FactStats(RunStats):
    """RunStats with the facts counts; requested["items"] = kept + rejected + duplicates + failures."""

    duplicates_removed: int = 0
    rejected: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    redrawn_answers: int = 0

    def counts(self) -> dict[str, int]:
        """Items requested, questions generated, duplicates and rejections removed, items kept."""
        return {
            "requested": self.requested.get("items", 0),
            "produced": self.produced.get("questions", 0),
            "duplicates_removed": self.duplicates_removed,
            "rejected": sum(self.rejected.values()),
            "kept": self.produced.get("items", 0),
        }

    def to_dict(self) -> dict[str, Any]:
        """The RunStats summary with generated / duplicates_removed / rejected / kept after `requested`."""
        data = super().to_dict()
        head = {key: data[key] for key in ("status", "model", "mode", "requested")}
        counts = {
            "generated": self.produced.get("questions", 0),
            "duplicates_removed": self.duplicates_removed,
            "rejected": dict(self.rejected),
            "kept": self.produced.get("items", 0),
            "redrawn_answers": self.redrawn_answers,
        }
        return {**head, **counts, **data}
