"""The review web app (Starlette): one item per page, decisions saved through a small JSON API.

Every request must carry the server's random token (`?token=`); responses forbid inline script and any other
origin (Content-Security-Policy); files are served only from the run's own directory.
"""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from synthgen.outputs.decisions import REASON_LABELS, REASONS, Decision, StaleDecision
from synthgen.review.items import Item, ReviewRun, recheck

HERE = Path(__file__).parent
STATIC = {"review.js": "text/javascript", "review.css": "text/css"}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
FILTERS = ("type", "difficulty", "document", "decision", "judge", "flag")
NEW = "new"  # the flag of an update run's items new since its baseline
DECISION_STATES = ("unreviewed", "accepted", "rejected", "edited")
KEYS = (
    ("j / →", "next"),
    ("k / ←", "previous"),
    ("a", "accept and next"),
    ("r", "reject (then 1-6 reason, Enter: save and next)"),
    ("e", "edit (Ctrl+Enter save)"),
    ("s", "skip"),
    ("Esc", "cancel"),
)


@dataclass(frozen=True)
class ReviewState:
    """What the app serves: the runs, the reviewer whose decisions it saves, and the token."""

    runs: list[ReviewRun]
    reviewer: str
    token: str

    @property
    def items(self) -> list[Item]:
        """Every item of every run, in order."""
        return [item for run in self.runs for item in run.items]

    def run_of(self, item: Item) -> ReviewRun:
        """The run an item belongs to."""
        return next(run for run in self.runs if run.name == item.run)

    def decision(self, item: Item) -> Decision | None:
        """The reviewer's decision on an item."""
        return self.run_of(item).store.get(item.qa_id, self.reviewer)


def create_app(runs: list[ReviewRun], reviewer: str, token: str | None = None) -> tuple[Starlette, str]:
    """The app over `runs`, saving as `reviewer`, and the token its URLs need."""
    state = ReviewState(runs, reviewer, token or secrets.token_urlsafe(24))
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    page = environment.get_template("page.html.j2")

    async def show(request: Request) -> Response:
        filters = {name: request.query_params.get(name, "") for name in FILTERS}
        chosen = [item for item in state.items if _matches(state, item, filters)]
        position = _position(chosen, request.query_params)
        item = chosen[position] if chosen else None
        decision = state.decision(item) if item else None
        html = page.render(
            token=state.token,
            reviewer=state.reviewer,
            item=item,
            decision=decision,
            position=position,
            count=len(chosen),
            filters=filters,
            options=_filter_options(state),
            progress=_progress(state),
            reasons=[(reason, REASON_LABELS[reason]) for reason in REASONS],
            keys=KEYS,
            orphans=[(run.name, decision) for run in state.runs for decision in run.orphans(state.reviewer)],
            query_base="&".join(f"{name}={value}" for name, value in filters.items() if value),
        )
        return HTMLResponse(html)

    async def save(request: Request) -> Response:
        try:
            body = await request.json()
            item = state.items[int(body["key"])]
            verdict = str(body["verdict"])
            version = int(body.get("version", 0))
        except (ValueError, KeyError, IndexError, TypeError):
            return JSONResponse({"error": "malformed request"}, status_code=400)
        run = state.run_of(item)
        extra: dict[str, Any] = {}
        if verdict == "edited":
            query = str(body.get("query", item.query)).strip()
            answer = str(body.get("answer", item.answer)).strip()
            extra = {
                "query": query,
                "answer": answer,
                "original_query": item.query,
                "original_answer": item.answer,
                "edit_check": recheck(item, query, run.evidence),
            }
        try:
            decision = run.store.save(
                item.qa_id,
                state.reviewer,
                verdict,  # type: ignore[arg-type]  # validated by the store
                expected_version=version,
                reason=body.get("reason"),
                note=str(body.get("note", "")),
                **extra,
            )
        except StaleDecision as stale:
            current = asdict(stale.current) if stale.current else None
            return JSONResponse({"error": str(stale), "current": current}, status_code=409)
        except ValueError as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        return JSONResponse({"decision": asdict(decision), "progress": _progress(state)})

    async def items(request: Request) -> Response:
        rows = []
        for item in state.items:
            decision = state.decision(item)
            rows.append(
                {
                    "key": item.key,
                    "run": item.run,
                    "qa_id": item.qa_id,
                    "query": item.query,
                    "answer": item.answer,
                    "question_type": item.question_type,
                    "difficulty": item.difficulty,
                    "document": item.document,
                    "context": item.source,
                    "decision": asdict(decision) if decision else None,
                }
            )
        return JSONResponse(rows)

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC:
            return PlainTextResponse("not found", status_code=404)
        return FileResponse(HERE / "static" / name, media_type=STATIC[name])

    async def run_file(request: Request) -> Response:
        path = _inside(state.runs, request.path_params["path"])
        if path is None:
            return PlainTextResponse("refused: only the run's own files are served", status_code=403)
        return FileResponse(path, media_type="text/plain; charset=utf-8" if path.suffix != ".html" else None)

    routes = [
        Route("/", show),
        Route("/api/decision", save, methods=["POST"]),
        Route("/api/items", items),
        Route("/static/{name}", static),
        Route("/files/{path:path}", run_file),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(Guard, token=state.token)])
    return app, state.token


class Guard(BaseHTTPMiddleware):
    """Refuse requests without the token; put the security headers on every response."""

    def __init__(self, app: Any, token: str) -> None:
        super().__init__(app)
        self.token = token

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        given = request.query_params.get("token") or request.headers.get("x-review-token") or ""
        if not secrets.compare_digest(given.encode(), self.token.encode()):
            response: Response = PlainTextResponse(
                "refused: this address needs the token printed when the review server started", status_code=403
            )
        else:
            response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response


def _inside(runs: list[ReviewRun], relative: str) -> Path | None:
    """The file `relative` names inside a run directory (after resolving symlinks), or None."""
    if not relative or relative.startswith(("/", "\\")) or ".." in Path(relative).parts:
        return None
    for run in runs:
        root = run.path.resolve()
        candidate = (root / relative).resolve()
        if candidate.is_relative_to(root) and candidate.is_file():
            return candidate
    return None


def _matches(state: ReviewState, item: Item, filters: dict[str, str]) -> bool:
    if filters["type"] and item.question_type != filters["type"]:
        return False
    if filters["difficulty"] and item.difficulty != filters["difficulty"]:
        return False
    if filters["document"] and item.document != filters["document"]:
        return False
    if filters["judge"] and item.judge != filters["judge"]:
        return False
    if filters["flag"] and filters["flag"] not in _flags(item):
        return False
    if filters["decision"]:
        decision = state.decision(item)
        return (decision.verdict if decision else "unreviewed") == filters["decision"]
    return True


def _filter_options(state: ReviewState) -> dict[str, list[str]]:
    items = state.items
    return {
        "type": sorted({item.question_type for item in items}),
        "difficulty": sorted({item.difficulty for item in items}),
        "document": sorted({item.document for item in items}),
        "decision": list(DECISION_STATES),
        "judge": ["passed", "not judged"],
        "flag": sorted({flag for item in items for flag in _flags(item)}),
    }


def _flags(item: Item) -> list[str]:
    return [*([NEW] if item.new else []), *item.flags]


def _progress(state: ReviewState) -> str:
    """`reviewed N of M · accepted · edited · rejected · per type reviewed/total`."""
    verdicts: Counter[str] = Counter()
    per_type: Counter[str] = Counter()
    reviewed_type: Counter[str] = Counter()
    for item in state.items:
        per_type[item.question_type] += 1
        decision = state.decision(item)
        if decision:
            verdicts[decision.verdict] += 1
            reviewed_type[item.question_type] += 1
    types = ", ".join(f"{name} {reviewed_type[name]}/{total}" for name, total in sorted(per_type.items()))
    new = [item for item in state.items if item.new]
    since = f" · new since the baseline {sum(bool(state.decision(i)) for i in new)}/{len(new)}" if new else ""
    return (
        f"reviewed {sum(verdicts.values())} of {len(state.items)} · accepted {verdicts['accepted']} · "
        f"edited {verdicts['edited']} · rejected {verdicts['rejected']} · {types}{since}"
    )


def _position(chosen: list[Item], params: Any) -> int:
    """The item to show: `after=KEY` the first chosen item past item KEY, `before=KEY` the last one before it (so
    a decision that moves an item out of the filter skips nothing), else `i=POSITION`."""
    after, before = _int(params.get("after"), -1), _int(params.get("before"), -1)
    if after >= 0:
        position = next((n for n, item in enumerate(chosen) if item.key > after), len(chosen) - 1)
    elif before >= 0:
        position = next((n for n in range(len(chosen) - 1, -1, -1) if chosen[n].key < before), 0)
    else:
        position = _int(params.get("i"), 0)
    return max(0, min(position, len(chosen) - 1))


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default
