"""A fake OpenAI Files + Batches API on 127.0.0.1: uploads, batch jobs that move through their statuses, results.

Each retrieve of a batch moves it one status on: validating -> in_progress -> completed (or expired, or failed
when the input file is invalid, as OpenAI checks it). While `hold` is set batches stay in_progress. The answer to
each request comes from `responder(body) -> (status_code, body)`; non-200 answers go to the error file, as do the
requests an expired batch never ran. Every upload, creation, retrieve and cancel is counted.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fake_documents import DocumentModel
from tests.fake_openai import completion_body
from tests.loopback_server import LoopbackServer

Responder = Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]
EXPIRED = {
    "code": "batch_expired",
    "message": "This request could not be executed before the completion window expired.",
}


def echo(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Answer every request with a completion quoting its last message."""
    content = f"answer to: {body['messages'][-1]['content']}"
    return 200, json.loads(completion_body(content, body.get("model", "")))


def document_replies(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Answer as the scripted document model does (questions quoting their excerpts, answers, verdicts)."""
    reply = DocumentModel()(body)
    assert reply.content is not None
    return 200, json.loads(completion_body(reply.content, body.get("model", "")))


@dataclass
class Job:
    """One batch as the server keeps it."""

    id: str
    input_file_id: str
    endpoint: str
    completion_window: str
    metadata: dict[str, str] | None
    expire: bool
    status: str = "validating"
    created_at: int = field(default_factory=lambda: int(time.time()))
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: dict[str, Any] | None = None
    counts: dict[str, int] = field(default_factory=lambda: {"total": 0, "completed": 0, "failed": 0})

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "batch",
            "endpoint": self.endpoint,
            "errors": self.errors,
            "input_file_id": self.input_file_id,
            "completion_window": self.completion_window,
            "status": self.status,
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "created_at": self.created_at,
            "request_counts": self.counts,
            "metadata": self.metadata,
        }


class FakeBatchServer(LoopbackServer):
    """Serve /v1/files and /v1/batches from a background thread on a free loopback port."""

    def __init__(self, responder: Responder = echo) -> None:
        super().__init__()
        self.responder = responder
        self.files: dict[str, bytes] = {}
        self.jobs: dict[str, Job] = {}
        self.created: list[str] = []
        self.cancelled: list[str] = []
        self.retrieves = 0
        self.hold = False
        self.expire_next = 0
        self._ids = itertools.count(1)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def requests_of(self, batch_id: str) -> list[dict[str, Any]]:
        """The request lines of a batch's input file."""
        return [json.loads(line) for line in self.files[self.jobs[batch_id].input_file_id].splitlines()]

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/files", self._upload)
        app.router.add_get("/v1/files/{id}", self._file)
        app.router.add_get("/v1/files/{id}/content", self._content)
        app.router.add_post("/v1/batches", self._create)
        app.router.add_get("/v1/batches/{id}", self._retrieve)
        app.router.add_post("/v1/batches/{id}/cancel", self._cancel)
        app.router.add_get("/counts", self._counts)

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids)}"

    def _store(self, data: bytes, filename: str, purpose: str) -> dict[str, Any]:
        file_id = self._new_id("file")
        self.files[file_id] = data
        return {
            "id": file_id,
            "object": "file",
            "bytes": len(data),
            "created_at": int(time.time()),
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
        }

    async def _upload(self, request: web.Request) -> web.Response:
        form = await request.post()
        upload = form["file"]
        if not isinstance(upload, web.FileField) or form.get("purpose") != "batch":
            return web.json_response({"error": {"message": "expected a file with purpose=batch"}}, status=400)
        return web.json_response(self._store(upload.file.read(), upload.filename, "batch"))

    async def _file(self, request: web.Request) -> web.Response:
        file_id = request.match_info["id"]
        if file_id not in self.files:
            return web.json_response({"error": {"message": f"no file {file_id}"}}, status=404)
        return web.json_response(
            {
                "id": file_id,
                "object": "file",
                "bytes": len(self.files[file_id]),
                "created_at": 0,
                "filename": file_id,
                "purpose": "batch",
                "status": "processed",
            }
        )

    async def _content(self, request: web.Request) -> web.Response:
        file_id = request.match_info["id"]
        if file_id not in self.files:
            return web.json_response({"error": {"message": f"no file {file_id}"}}, status=404)
        return web.Response(body=self.files[file_id], content_type="application/octet-stream")

    async def _create(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("input_file_id") not in self.files:
            return web.json_response({"error": {"message": "unknown input_file_id"}}, status=400)
        job = Job(
            self._new_id("batch"),
            body["input_file_id"],
            body["endpoint"],
            body["completion_window"],
            body.get("metadata"),
            expire=self.expire_next > 0,
        )
        self.expire_next = max(0, self.expire_next - 1)
        self.jobs[job.id] = job
        self.created.append(job.id)
        return web.json_response(job.as_json())

    async def _retrieve(self, request: web.Request) -> web.Response:
        job = self.jobs.get(request.match_info["id"])
        if job is None:
            return web.json_response({"error": {"message": "no such batch"}}, status=404)
        self.retrieves += 1
        if job.status == "validating":
            problem = self._invalid(job)
            job.status = "failed" if problem else "in_progress"
            job.errors = (
                {"object": "list", "data": [{"code": "invalid_request", "message": problem}]} if problem else None
            )
        elif job.status == "cancelling":
            self._finish(job, "cancelled")
        elif job.status == "in_progress" and not self.hold:
            self._finish(job, "expired" if job.expire else "completed")
        return web.json_response(job.as_json())

    async def _cancel(self, request: web.Request) -> web.Response:
        job = self.jobs[request.match_info["id"]]
        self.cancelled.append(job.id)
        job.status = "cancelling"
        return web.json_response(job.as_json())

    async def _counts(self, request: web.Request) -> web.Response:
        return web.json_response({"created": len(self.created), "retrieves": self.retrieves})

    def _invalid(self, job: Job) -> str | None:
        """What OpenAI's validation would reject in the input file, if anything."""
        lines = self.requests_of(job.id)
        if len({line["custom_id"] for line in lines}) != len(lines):
            return "custom_id values must be unique"
        if len({line["body"]["model"] for line in lines}) != 1:
            return "all requests in a batch must use the same model"
        if any(line["method"] != "POST" or line["url"] != job.endpoint for line in lines):
            return f"every request must be a POST to {job.endpoint}"
        return None

    def _finish(self, job: Job, status: str) -> None:
        """Run the requests (the first half only, if the batch expires) and write the output and error files."""
        lines = self.requests_of(job.id)
        ran = lines[: len(lines) // 2] if status != "completed" else lines
        output: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for n, line in enumerate(lines):
            record: dict[str, Any] = {"id": f"batch_req_{n}", "custom_id": line["custom_id"], "error": None}
            if line in ran:
                code, body = self.responder(line["body"])
                record["response"] = {"status_code": code, "request_id": f"req_{n}", "body": body}
                (output if code == 200 else errors).append(record)
            else:
                record["response"] = None
                record["error"] = EXPIRED
                errors.append(record)
        job.status = status
        job.counts = {"total": len(lines), "completed": len(output), "failed": len(errors)}
        if output:
            job.output_file_id = self._store(_jsonl(output), "output.jsonl", "batch_output")["id"]
        if errors:
            job.error_file_id = self._store(_jsonl(errors), "errors.jsonl", "batch_output")["id"]


def _jsonl(records: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(record).encode() + b"\n" for record in records)
