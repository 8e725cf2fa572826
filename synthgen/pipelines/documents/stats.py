"""Document run accounting: run stats plus questions generated, kept and rejected per type and stage."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from synthgen.run.stats import RunStats


@dataclass(kw_only=True)
class DocumentStats(RunStats):
    """RunStats with the checks' counts: `rejected[stage][type]`, and requested / kept per question type."""

    generated: int = 0
    requested_by_type: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    kept_by_type: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    rejected: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    quality_line: str = ""
    files_skipped: int = 0  # source files that could not be read (each in failures.jsonl)
    chunks_without_body: int = 0  # headings with no text under them: not asked about

    def counts(self) -> dict[str, int]:
        """Questions requested and generated, duplicates and other rejections removed, items kept."""
        return {
            "requested": self.requested.get("queries", 0),
            "produced": self.generated,
            "duplicates_removed": sum(self.rejected.get("dedup", {}).values()),
            "rejected": sum(sum(by_type.values()) for by_type in self.rejected.values()),
            "kept": self.produced.get("queries", 0),
        }

    def headline(self) -> str:
        """The quality figures for the final log line."""
        return self.quality_line

    def to_dict(self) -> dict[str, Any]:
        """The RunStats summary plus generated, per-type requests, kept and shortfall, and rejections."""
        data = super().to_dict()
        return {
            **data,
            "generated": self.generated,
            "sources": {"files_skipped": self.files_skipped, "chunks_without_body": self.chunks_without_body},
            "duplicates_removed": self.counts()["duplicates_removed"],
            "rejected": {stage: dict(by_type) for stage, by_type in self.rejected.items()},
            "requested_by_type": dict(self.requested_by_type),
            "kept_by_type": dict(self.kept_by_type),
            "shortfall_by_type": {
                name: max(0, wanted - self.kept_by_type.get(name, 0)) for name, wanted in self.requested_by_type.items()
            },
        }
