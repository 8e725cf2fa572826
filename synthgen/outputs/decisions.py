"""A reviewer's decisions on a run's items, stored beside the run in `review.sqlite` (SQLite, WAL).

One row per (qa_id, reviewer): the verdict (accepted / rejected / edited), the reason and note of a rejection,
the edited question and answer with the originals they replace, the result of re-checking an edit, and a
version that grows with every save. A save names the version it read; a save against an older version is
refused (`StaleDecision`), so two tabs never overwrite each other silently. Every save is committed with
`synchronous=FULL` before it returns: an acknowledged decision survives a killed process.

The generated files are never touched; readers apply decisions on the fly (`load_decisions`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from synthgen.core.errors import UserError

STORE = "review.sqlite"
Verdict = Literal["accepted", "rejected", "edited"]
VERDICTS: tuple[Verdict, ...] = ("accepted", "rejected", "edited")
REASONS = ("wrong_answer", "not_answerable", "vague", "duplicate", "not_self_contained", "other")
REASON_LABELS = {
    "wrong_answer": "wrong answer",
    "not_answerable": "not answerable",
    "vague": "vague",
    "duplicate": "duplicate",
    "not_self_contained": "not self-contained",
    "other": "other",
}
_SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
    qa_id TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    verdict TEXT NOT NULL,
    reason TEXT,
    note TEXT NOT NULL DEFAULT '',
    query TEXT,
    answer TEXT,
    original_query TEXT,
    original_answer TEXT,
    edit_check TEXT,
    version INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (qa_id, reviewer)
)
"""


@dataclass(frozen=True)
class Decision:
    """One reviewer's decision on one item; `query`/`answer` are set only by an edit (the originals beside)."""

    qa_id: str
    reviewer: str
    verdict: Verdict
    version: int
    updated_at: str
    reason: str | None = None
    note: str = ""
    query: str | None = None
    answer: str | None = None
    original_query: str | None = None
    original_answer: str | None = None
    edit_check: str | None = None  # "passed" or the quote check's reason and detail, for an edit

    @property
    def kept(self) -> bool:
        """Whether the reviewer keeps the item (accepted, or edited)."""
        return self.verdict != "rejected"


class StaleDecision(Exception):
    """A save named a version older than the stored one: someone saved this item in between."""

    def __init__(self, current: Decision | None) -> None:
        super().__init__("this item was saved elsewhere since you opened it; reload to see that decision")
        self.current = current


class DecisionStore:
    """The decisions of one run directory; opening creates `review.sqlite` on first use."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / STORE
        self._connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._connection.row_factory = sqlite3.Row
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=FULL")
        self._connection.execute("PRAGMA busy_timeout=5000")
        self._connection.execute(_SCHEMA)

    def close(self) -> None:
        """Close the database connection."""
        self._connection.close()

    def all(self, reviewer: str | None = None) -> list[Decision]:
        """Every stored decision (of `reviewer`, if given), oldest save first."""
        sql, args = "SELECT * FROM decisions", tuple[str, ...]()
        if reviewer is not None:
            sql, args = sql + " WHERE reviewer = ?", (reviewer,)
        rows = self._connection.execute(sql + " ORDER BY updated_at, qa_id", args).fetchall()
        return [_decision(row) for row in rows]

    def get(self, qa_id: str, reviewer: str) -> Decision | None:
        """The reviewer's decision on `qa_id`, if any."""
        row = self._connection.execute(
            "SELECT * FROM decisions WHERE qa_id = ? AND reviewer = ?", (qa_id, reviewer)
        ).fetchone()
        return _decision(row) if row else None

    def save(
        self,
        qa_id: str,
        reviewer: str,
        verdict: Verdict,
        *,
        expected_version: int,
        reason: str | None = None,
        note: str = "",
        query: str | None = None,
        answer: str | None = None,
        original_query: str | None = None,
        original_answer: str | None = None,
        edit_check: str | None = None,
    ) -> Decision:
        """Store a decision if the stored version is still `expected_version` (0: none yet); committed on return.

        Raises StaleDecision when another save came in between, ValueError on an unknown verdict or reason.
        """
        if verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {verdict!r}")
        if verdict == "rejected" and reason not in REASONS:
            raise ValueError(f"a rejection needs a reason from {', '.join(REASONS)}")
        with self._transaction():
            current = self.get(qa_id, reviewer)
            if (current.version if current else 0) != expected_version:
                raise StaleDecision(current)
            decision = Decision(
                qa_id=qa_id,
                reviewer=reviewer,
                verdict=verdict,
                version=expected_version + 1,
                updated_at=datetime.now(UTC).isoformat(timespec="microseconds"),
                reason=reason if verdict == "rejected" else None,
                note=note,
                query=query if verdict == "edited" else None,
                answer=answer if verdict == "edited" else None,
                original_query=original_query if verdict == "edited" else None,
                original_answer=original_answer if verdict == "edited" else None,
                edit_check=edit_check if verdict == "edited" else None,
            )
            self._connection.execute(
                "INSERT OR REPLACE INTO decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    decision.qa_id,
                    decision.reviewer,
                    decision.verdict,
                    decision.reason,
                    decision.note,
                    decision.query,
                    decision.answer,
                    decision.original_query,
                    decision.original_answer,
                    decision.edit_check,
                    decision.version,
                    decision.updated_at,
                ),
            )
        return decision

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._connection.execute("ROLLBACK")
            raise
        self._connection.execute("COMMIT")


def has_decisions(run_dir: Path) -> bool:
    """Whether the run directory holds any stored decision."""
    return (run_dir / STORE).is_file() and bool(all_decisions(run_dir))


def all_decisions(run_dir: Path) -> list[Decision]:
    """Every reviewer's decisions on the run ([] when nobody reviewed it)."""
    if not (run_dir / STORE).is_file():
        return []
    store = DecisionStore(run_dir)
    try:
        return store.all()
    except sqlite3.DatabaseError as error:
        raise UserError(f"{run_dir / STORE}: unreadable ({error}) (fix: restore or delete that file)") from None
    finally:
        store.close()


def load_decisions(run_dir: Path, reviewer: str | None = None) -> dict[str, Decision]:
    """The decision per qa_id: `reviewer`'s, or with None every reviewer's latest save on each item."""
    return {
        decision.qa_id: decision
        for decision in all_decisions(run_dir)
        if reviewer is None or decision.reviewer == reviewer
    }


def _decision(row: sqlite3.Row) -> Decision:
    return Decision(**{key: row[key] for key in row.keys()})  # noqa: SIM118  (iterating a Row gives values)
