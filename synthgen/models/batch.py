"""Provider batch APIs (OpenAI-style files + batches, through litellm): many calls, one upload, half the price.

The client hands each call that missed the cache to `BatchDispatcher.submit`. Calls gather per endpoint (provider,
model, api_base, key) until none arrived for `quiet_period` seconds, `max_gather` seconds passed since the first,
or a batch is full (`max_requests` lines or `max_bytes` of JSONL). Each batch is uploaded, created, recorded in
SQLite and polled with growing intervals; each waiting call then gets its own answer, or its own error.

Durability: the batch id and the cache key of every request in it (the request's custom_id) are committed to
the call cache's database before polling starts. A process killed while a batch runs and started again resumes
polling that batch for those keys instead of paying for them twice. Answers that arrive for keys nobody waits for
(yet) are kept in the database until a later submit of the same key claims them. A batch killed in the instant
between its creation and its record is submitted again by the rerun.

Cancellation (Ctrl-C): by default the remote batch is left running and its record kept, so a rerun picks up its
answers and pays nothing more: the provider bills the requests it already ran either way. With
`cancel_remote=True` the remote batch is cancelled too; a rerun then collects what it finished and submits
the rest again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
import uuid
from collections.abc import Coroutine, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from synthgen.core.errors import UserError

log = logging.getLogger(__name__)

ENDPOINT = "/v1/chat/completions"
# Providers whose batch files carry OpenAI chat requests unchanged.
BATCH_PROVIDERS = frozenset({"openai", "azure", "litellm_proxy"})
_TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})
_CONNECTION = ("api_base", "api_key", "api_version", "organization")
_NOT_IN_BODY = frozenset({"model", "timeout", "num_retries", "max_retries", "extra_headers", *_CONNECTION})
_RETRIEVE_FAILURES = 5  # consecutive failed polls before the waiting calls are given an error
_KEEP_RESULTS = 30 * 24 * 3600  # unclaimed answers older than this are dropped when the database opens
_SCHEMA = """
CREATE TABLE IF NOT EXISTS batch_jobs (
    batch_id TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    api_base TEXT,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS batch_requests (
    key TEXT PRIMARY KEY,
    batch_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS batch_requests_by_batch ON batch_requests (batch_id);
CREATE TABLE IF NOT EXISTS batch_results (
    key TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    created REAL NOT NULL
);
"""


class BatchRequestError(Exception):
    """One request of a batch came back without an answer; `retryable` says whether asking again may help."""

    def __init__(self, message: str, *, retryable: bool, status_code: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status_code = status_code


@dataclass(frozen=True)
class BatchEndpoint:
    """Where a batch goes: requests for one model through one provider account share a batch."""

    provider: str
    model: str
    connection: tuple[tuple[str, str], ...] = field(repr=False)  # api_base, api_key, ... as given in the call

    @property
    def api_base(self) -> str | None:
        return dict(self.connection).get("api_base")

    def control_kwargs(self) -> dict[str, Any]:
        """The kwargs of litellm's file and batch calls for this endpoint."""
        return {"custom_llm_provider": self.provider, **dict(self.connection)}


@dataclass(frozen=True)
class BatchRecord:
    """A batch this database knows is in flight."""

    batch_id: str
    provider: str
    model: str
    api_base: str | None
    created: float
    requests: int


@dataclass(frozen=True)
class BatchPrice:
    """The cost of one batched call: litellm's batch price, half the regular price, or unknown (0)."""

    cost_usd: float
    source: Literal["batch_price", "half_regular_estimate", "unpriced"]


def batch_endpoint(kwargs: dict[str, Any]) -> BatchEndpoint:
    """The endpoint a call's batch goes to; a UserError if its provider has no OpenAI-style batch API."""
    litellm = _litellm()
    try:
        model, provider, _, _ = litellm.get_llm_provider(kwargs["model"], api_base=kwargs.get("api_base"))
    except litellm.BadRequestError:
        raise UserError(f"unknown model '{kwargs['model']}' (fix: set model.model to '<provider>/<model>')") from None
    if provider not in BATCH_PROVIDERS:
        raise UserError(
            f"model '{kwargs['model']}' is served by '{provider}', which has no OpenAI-style batch API here "
            f"(fix: turn batching off for this model, or use one of: {', '.join(sorted(BATCH_PROVIDERS))})"
        )
    connection = tuple((name, str(kwargs[name])) for name in _CONNECTION if kwargs.get(name) is not None)
    return BatchEndpoint(provider, model, connection)


def batch_line(kwargs: dict[str, Any], key: str, model: str) -> bytes:
    """One JSONL line of a batch input file: the call's OpenAI request body, with the cache key as custom_id."""
    body = {name: value for name, value in kwargs.items() if name not in _NOT_IN_BODY}
    body.update(body.pop("extra_body", None) or {})
    body["model"] = model
    line = {"custom_id": key, "method": "POST", "url": ENDPOINT, "body": body}
    return json.dumps(line, ensure_ascii=False, default=str).encode("utf-8") + b"\n"


def batch_price(model: str, prompt_tokens: int, completion_tokens: int) -> BatchPrice:
    """What a batched call costs, from litellm's cost map: its batch prices where it has them, else half the
    regular price (marked as an estimate), else 0 marked unpriced."""
    try:
        info = _litellm().get_model_info(model)
    except Exception:
        return BatchPrice(0.0, "unpriced")
    cost, estimated, priced = 0.0, False, False
    for tokens, side in ((prompt_tokens, "input"), (completion_tokens, "output")):
        batch, regular = info.get(f"{side}_cost_per_token_batches"), info.get(f"{side}_cost_per_token")
        if batch is not None:
            cost, priced = cost + tokens * batch, True
        elif regular:
            cost, priced, estimated = cost + tokens * regular / 2, True, True
    if not priced:
        return BatchPrice(0.0, "unpriced")
    return BatchPrice(cost, "half_regular_estimate" if estimated else "batch_price")


@dataclass
class _Gathering:
    """Calls waiting for the next batch of one endpoint."""

    lines: dict[str, bytes] = field(default_factory=dict)
    size: int = 0
    first_at: float = 0.0
    timer: asyncio.TimerHandle | None = None


class BatchDispatcher:
    """Sends calls through provider batch APIs and hands each caller its own answer (see the module docstring)."""

    def __init__(
        self,
        db_path: Path,
        *,
        quiet_period: float = 2.0,
        max_gather: float = 60.0,
        max_requests: int = 50_000,
        max_bytes: int = 200 * 1024 * 1024,
        poll_interval: float = 15.0,
        max_poll_interval: float = 300.0,
        max_wait: float = 25 * 3600.0,
        completion_window: str = "24h",
        cancel_remote: bool = False,
    ) -> None:
        self.quiet_period = quiet_period
        self.max_gather = max_gather
        self.max_requests = max_requests
        self.max_bytes = max_bytes
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self.max_wait = max_wait
        self.completion_window = completion_window
        self.cancel_remote = cancel_remote
        self._db = _open(db_path)
        self._waiting: dict[str, list[asyncio.Future[dict[str, Any]]]] = {}
        self._gathering: dict[BatchEndpoint, _Gathering] = {}
        self._pollers: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, kwargs: dict[str, Any], key: str) -> dict[str, Any]:
        """The OpenAI response body of the call `kwargs` (litellm.acompletion's kwargs) whose cache key is `key`.

        Raises BatchRequestError when the batch returned an error for this request or ended without answering it,
        and the litellm/openai exception of a failed upload or creation (classify it as for acompletion).
        """
        endpoint = batch_endpoint(kwargs)
        claimed = self._claim(key)
        if claimed is not None:
            return claimed
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        waiters = self._waiting.setdefault(key, [])
        waiters.append(future)
        if len(waiters) == 1:
            batch_id = self._batch_of(key)
            if batch_id is not None:
                self._follow(batch_id, endpoint)
            else:
                self._gather(endpoint, key, batch_line(kwargs, key, endpoint.model))
        try:
            return await future
        finally:
            if future in self._waiting.get(key, []):
                self._waiting[key].remove(future)

    def batches_in_flight(self) -> list[BatchRecord]:
        """The batches this database is still waiting for (from this process or one that was stopped)."""
        rows = self._db.execute(
            "SELECT j.batch_id, j.provider, j.model, j.api_base, j.created, COUNT(r.key) FROM batch_jobs j "
            "LEFT JOIN batch_requests r ON r.batch_id = j.batch_id GROUP BY j.batch_id ORDER BY j.created"
        ).fetchall()
        return [BatchRecord(*row) for row in rows]

    async def aclose(self) -> None:
        """Stop gathering and polling, cancel the calls still waiting and close the database. Remote batches are
        cancelled only with cancel_remote; their records stay, so a later run resumes them."""
        for gathering in self._gathering.values():
            if gathering.timer is not None:
                gathering.timer.cancel()
        self._gathering.clear()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for waiters in self._waiting.values():
            for future in waiters:
                future.cancel()
        self._waiting.clear()
        self._db.close()

    # Gathering calls into batches.

    def _gather(self, endpoint: BatchEndpoint, key: str, line: bytes) -> None:
        if len(line) > self.max_bytes:
            self._resolve(
                key,
                error=BatchRequestError(
                    f"the request is {len(line)} bytes, over the batch limit of {self.max_bytes}", retryable=False
                ),
            )
            return
        gathering = self._gathering.get(endpoint)
        if gathering is not None and key in gathering.lines:  # asked again after its first caller left
            return
        if gathering is not None and gathering.size + len(line) > self.max_bytes:
            self._flush(endpoint)
            gathering = None
        if gathering is None:
            gathering = self._gathering[endpoint] = _Gathering(first_at=asyncio.get_running_loop().time())
        gathering.lines[key] = line
        gathering.size += len(line)
        if len(gathering.lines) >= self.max_requests:
            self._flush(endpoint)
            return
        loop = asyncio.get_running_loop()
        if gathering.timer is not None:
            gathering.timer.cancel()
        delay = min(self.quiet_period, gathering.first_at + self.max_gather - loop.time())
        gathering.timer = loop.call_later(max(0.0, delay), self._flush, endpoint)

    def _flush(self, endpoint: BatchEndpoint) -> None:
        gathering = self._gathering.pop(endpoint, None)
        if gathering is None:
            return
        if gathering.timer is not None:
            gathering.timer.cancel()
        lines = {key: line for key, line in gathering.lines.items() if self._waiting.get(key)}  # callers who left
        if lines:
            self._spawn(self._run(endpoint, lines))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _run(self, endpoint: BatchEndpoint, lines: dict[str, bytes]) -> None:
        """Upload, create, record, then poll one batch."""
        litellm = _litellm()
        control = endpoint.control_kwargs()
        try:
            upload = await litellm.acreate_file(
                file=(f"synthgen-{uuid.uuid4().hex}.jsonl", b"".join(lines.values()), "application/jsonl"),
                purpose="batch",
                **control,
            )
            batch = await litellm.acreate_batch(
                completion_window=self.completion_window,
                endpoint=ENDPOINT,
                input_file_id=upload.id,
                metadata={"created_by": "synthgen"},
                **control,
            )
        except Exception as error:
            for key in lines:
                self._resolve(key, error=error)
            return
        self._record(batch.id, endpoint, lines)
        log.info("batch %s: %d requests for %s", batch.id, len(lines), endpoint.model)
        self._pollers[batch.id] = asyncio.current_task()  # type: ignore[assignment]
        await self._poll(batch.id, endpoint)

    # Polling and resolving.

    def _follow(self, batch_id: str, endpoint: BatchEndpoint) -> None:
        """Poll a batch recorded earlier (by this process or a stopped one) unless something already does."""
        if batch_id not in self._pollers:
            self._pollers[batch_id] = self._spawn(self._poll(batch_id, endpoint))

    async def _poll(self, batch_id: str, endpoint: BatchEndpoint) -> None:
        """Poll with growing intervals until the batch ends, then hand out its answers; give the waiting callers
        an error if polling keeps failing or max_wait passes (the record stays: a later run resumes)."""
        control = endpoint.control_kwargs()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_wait
        interval, failures, status = self.poll_interval, 0, "unknown"
        try:
            while True:
                try:
                    batch = await _litellm().aretrieve_batch(batch_id=batch_id, **control)
                    status, failures = batch.status, 0
                    if status in _TERMINAL:
                        await self._finish(batch, control)
                        return
                except Exception as error:
                    failures += 1
                    gone = getattr(error, "status_code", None) == 404
                    if gone or failures >= _RETRIEVE_FAILURES:
                        self._fail_waiting(batch_id, f"batch {batch_id} could not be polled: {error}", retryable=True)
                        if gone:  # the provider no longer knows it: asking again starts a new batch
                            self._forget(batch_id)
                        return
                    log.warning("polling batch %s failed (%d in a row): %s", batch_id, failures, error)
                if loop.time() + interval > deadline:
                    break
                await asyncio.sleep(interval)
                interval = min(interval * 1.5, self.max_poll_interval)
            self._fail_waiting(
                batch_id,
                f"batch {batch_id} is still {status} after {self.max_wait:.0f} s "
                "(fix: run again later to resume it, or raise max_wait)",
                retryable=False,
            )
        except asyncio.CancelledError:
            if self.cancel_remote:
                await self._cancel_remote(batch_id, control)
            raise
        finally:
            self._pollers.pop(batch_id, None)

    async def _cancel_remote(self, batch_id: str, control: dict[str, Any]) -> None:
        try:
            await asyncio.wait_for(_litellm().acancel_batch(batch_id=batch_id, **control), timeout=30)
            log.info("cancelled batch %s", batch_id)
        except Exception as error:
            log.warning("could not cancel batch %s: %s", batch_id, error)

    async def _finish(self, batch: Any, control: dict[str, Any]) -> None:
        """Read a finished batch's output and error files; answer or fail every request in it."""
        answers: dict[str, dict[str, Any]] = {}
        errors: dict[str, BatchRequestError] = {}
        for file_id in (batch.output_file_id, batch.error_file_id):
            if file_id:
                content = await _litellm().afile_content(file_id=file_id, **control)
                for record in _records(content.content):
                    _sort(record, answers, errors)
        ended = _batch_error(batch)
        keys = self._keys_of(batch.id)
        unclaimed = [
            (key, json.dumps(answers[key]), time.time())
            for key in keys
            if key in answers and not self._waiting.get(key)
        ]
        with _transaction(self._db):
            self._db.executemany("INSERT OR REPLACE INTO batch_results VALUES (?, ?, ?)", unclaimed)
            self._forget(batch.id)
        answered = sum(1 for key in keys if key in answers)
        log.info("batch %s %s: %d answers, %d errors", batch.id, batch.status, answered, len(keys) - answered)
        for key in keys:
            if key in answers:
                self._resolve(key, body=answers[key])
            else:
                self._resolve(key, error=errors.get(key, ended))

    def _fail_waiting(self, batch_id: str, message: str, *, retryable: bool) -> None:
        """Give the callers waiting on a batch an error; its record stays so a later run resumes it."""
        error = BatchRequestError(message, retryable=retryable)
        for key in self._keys_of(batch_id):
            self._resolve(key, error=error)

    def _resolve(self, key: str, *, body: dict[str, Any] | None = None, error: BaseException | None = None) -> None:
        for future in self._waiting.pop(key, []):
            if future.done():
                continue
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(body or {})

    # The database.

    def _record(self, batch_id: str, endpoint: BatchEndpoint, keys: Iterable[str]) -> None:
        with _transaction(self._db):
            self._db.execute(
                "INSERT OR REPLACE INTO batch_jobs VALUES (?, ?, ?, ?, ?)",
                (batch_id, endpoint.provider, endpoint.model, endpoint.api_base, time.time()),
            )
            self._db.executemany("INSERT OR REPLACE INTO batch_requests VALUES (?, ?)", [(k, batch_id) for k in keys])

    def _batch_of(self, key: str) -> str | None:
        row = self._db.execute("SELECT batch_id FROM batch_requests WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def _keys_of(self, batch_id: str) -> set[str]:
        rows = self._db.execute("SELECT key FROM batch_requests WHERE batch_id = ?", (batch_id,)).fetchall()
        return {str(row[0]) for row in rows}

    def _claim(self, key: str) -> dict[str, Any] | None:
        """Take (and forget) an answer that arrived for `key` while nobody waited for it."""
        with _transaction(self._db):
            row = self._db.execute("SELECT body FROM batch_results WHERE key = ?", (key,)).fetchone()
            if row:
                self._db.execute("DELETE FROM batch_results WHERE key = ?", (key,))
        return json.loads(row[0]) if row else None

    def _forget(self, batch_id: str) -> None:
        with _transaction(self._db):
            self._db.execute("DELETE FROM batch_requests WHERE batch_id = ?", (batch_id,))
            self._db.execute("DELETE FROM batch_jobs WHERE batch_id = ?", (batch_id,))


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    """All statements inside commit together or not at all (the connection is otherwise in autocommit)."""
    if db.in_transaction:  # nested: the outer transaction decides
        yield
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _open(path: Path) -> sqlite3.Connection:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
        db.execute("DELETE FROM batch_results WHERE created < ?", (time.time() - _KEEP_RESULTS,))
    except sqlite3.Error as error:
        raise UserError(
            f"cannot open the call cache {path} for batches: {error} (fix: set cache.path to a writable file)"
        ) from None
    return db


def _records(content: bytes) -> Iterable[dict[str, Any]]:
    for line in content.splitlines():
        if line.strip():
            yield json.loads(line)


def _sort(record: dict[str, Any], answers: dict[str, dict[str, Any]], errors: dict[str, BatchRequestError]) -> None:
    """File one output/error record under its custom_id as an answer or an error."""
    key, response, error = record["custom_id"], record.get("response"), record.get("error")
    if response is not None and response.get("status_code") == 200 and not error:
        answers[key] = response["body"]
        return
    status = response.get("status_code") if response else None
    detail = error or (response or {}).get("body", {}).get("error") or {}
    message = detail.get("message") if isinstance(detail, dict) else str(detail)
    code = detail.get("code") if isinstance(detail, dict) else None
    retryable = code == "batch_expired" or (status is not None and (status == 429 or status >= 500))
    errors[key] = BatchRequestError(
        f"batch request failed ({status or code}): {message or 'no message'}", retryable=retryable, status_code=status
    )


def _batch_error(batch: Any) -> BatchRequestError:
    """The error of a request a finished batch did not answer."""
    reasons = [item.message for item in (batch.errors.data or [])] if batch.errors else []
    detail = f": {'; '.join(str(reason) for reason in reasons)}" if reasons else ""
    return BatchRequestError(
        f"batch {batch.id} ended {batch.status} without answering this request{detail}", retryable=True
    )


def _litellm() -> Any:
    import litellm

    litellm.suppress_debug_info = True
    return litellm
