"""Facts mode accounting: run stats plus duplicates removed, rejections per check, redrawn answers and probes."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from synthgen.pipelines.facts.probes import PROBE_STAGE
from synthgen.run.stats import RunStats


@dataclass(kw_only=True)
class FactStats(RunStats):
    """RunStats with the facts counts: requested["items"] = kept + rejected + duplicates + failures + skipped.

    Probes are counted apart (`probes` in stats.json), so `failures` and `skipped` there count items only.
    """

    duplicates_removed: int = 0
    rejected: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    redrawn_answers: int = 0
    probe_duplicates: int = 0
    probe_skipped: int = 0

    @property
    def probe_failures(self) -> int:
        """Probes whose question call failed (in failures.jsonl with stage `probes`)."""
        return self.stages[PROBE_STAGE].failures if PROBE_STAGE in self.stages else 0

    @property
    def item_failures(self) -> int:
        """Items that failed: every failed unit but the probes."""
        return self.failures - self.probe_failures

    def counts(self) -> dict[str, int]:
        """Items requested, questions generated, duplicates and rejections removed, items kept (and probes kept)."""
        counts = {
            "requested": self.requested.get("items", 0),
            "produced": self.produced.get("questions", 0),
            "duplicates_removed": self.duplicates_removed,
            "rejected": sum(self.rejected.values()),
            "kept": self.produced.get("items", 0),
        }
        return counts | ({"probes": self.produced.get("probes", 0)} if "probes" in self.requested else {})

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
        if "probes" in self.requested:
            counts["probes"] = {
                "requested": self.requested["probes"],
                "kept": self.produced.get("probes", 0),
                "duplicates_removed": self.probe_duplicates,
                "failures": self.probe_failures,
                "skipped": self.probe_skipped,
            }
        items = {"failures": self.item_failures, "skipped": self.skipped - self.probe_skipped}
        return {**head, **counts, **data, **items}
