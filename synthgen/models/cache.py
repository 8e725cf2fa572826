"""A persistent cache of model calls: SQLite in WAL mode, shared by every run and process on the machine."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from synthgen.core.errors import UserError

CacheMode = Literal["use", "refresh", "off"]
# Call arguments that change how a call is made, never what it answers.
_NOT_KEYED = frozenset({"timeout", "num_retries", "max_retries", "api_key"})
_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    content TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cost_usd REAL NOT NULL,
    created REAL NOT NULL
);
-- Replies that failed validation: kept to diagnose the model, never replayed.
CREATE TABLE IF NOT EXISTS rejected (
    key TEXT NOT NULL,
    model TEXT NOT NULL,
    content TEXT NOT NULL,
    error TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS rejected_key ON rejected (key);
"""


@dataclass(frozen=True)
class CachedReply:
    """What a finished call produced, enough to replay it without the model."""

    content: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float


def call_key(call: dict[str, Any], sample: int) -> str:
    """A digest of everything that changes an answer: model, api_base, messages, sampling parameters,
    response schema, and the sample index (N samples of one prompt are N entries)."""
    keyed = {k: v for k, v in call.items() if k not in _NOT_KEYED}
    canonical = json.dumps({"call": keyed, "sample": sample}, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class CallCache:
    """Successful calls only; each is committed the moment it returns, so a crash loses only calls in flight.

    A reply that a caller later finds unusable is moved to the `rejected` table by `reject`: a rerun calls again.
    """

    def __init__(self, path: Path, mode: CacheMode) -> None:
        self.mode = mode
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else error
            raise UserError(
                f"cannot open the call cache {path}: {reason} "
                "(fix: set cache.path to a writable file or cache.mode=off)"
            ) from None

    def get(self, key: str) -> CachedReply | None:
        """The stored reply, unless the mode is `refresh` (call again) or nothing is stored."""
        if self.mode != "use":
            return None
        row = self._db.execute(
            "SELECT content, prompt_tokens, completion_tokens, cost_usd FROM calls WHERE key = ?", (key,)
        ).fetchone()
        return CachedReply(*row) if row else None

    def put(self, key: str, model: str, reply: CachedReply) -> None:
        """Store (or, in refresh mode, overwrite) a successful reply."""
        self._db.execute(
            "INSERT OR REPLACE INTO calls VALUES (?, ?, ?, ?, ?, ?, ?)",
            (key, model, reply.content, reply.prompt_tokens, reply.completion_tokens, reply.cost_usd, time.time()),
        )

    def rejections(self, key: str) -> int:
        """How many replies to the call `key` were rejected as unusable."""
        return int(self._db.execute("SELECT COUNT(*) FROM rejected WHERE key = ?", (key,)).fetchone()[0])

    def reject(self, key: str, error: str) -> None:
        """Move the stored reply of `key` to the rejected replies (with why it failed), so it is never replayed."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute(
                "INSERT INTO rejected SELECT key, model, content, ?, ? FROM calls WHERE key = ?",
                (error, time.time(), key),
            )
            self._db.execute("DELETE FROM calls WHERE key = ?", (key,))
        except sqlite3.Error:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM calls").fetchone()[0])

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()
