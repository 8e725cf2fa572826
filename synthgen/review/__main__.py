"""Review a finished run in the browser.

Usage:
    python -m synthgen.review RUN_DIR [--reviewer NAME] [--port N] [--host HOST] [--open] [--trial TRIAL_DIR ...]
    python -m synthgen.review RUN_DIR --to-label-studio TASKS.json
    python -m synthgen.review RUN_DIR --from-label-studio EXPORT.json

RUN_DIR is a run directory or a sweep directory above runs. Decisions are kept in RUN_DIR/review.sqlite
(each run's own, in a sweep); the generated files are never changed. `--trial` shows what trials of the set
(a mode=trial run, or a sweep of them with its calibration.jsonl) made of each item.
"""

from __future__ import annotations

import getpass
import sys
import threading
import webbrowser
from pathlib import Path

from synthgen.core.command_line import OneLineParser
from synthgen.core.errors import UserError
from synthgen.review.items import ReviewRun, load_review
from synthgen.review.label_studio import import_annotations, write_tasks
from synthgen.review.trials import load_trials


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; returns the exit code."""
    parser = OneLineParser("synthgen.review", __doc__)
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run directory or a sweep directory")
    parser.add_argument("--reviewer", default=None, help="the name stored with each decision (default: OS user)")
    parser.add_argument("--port", type=int, default=8765, help="port to listen on (default 8765)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--open", action="store_true", help="open the page in the browser")
    parser.add_argument(
        "--trial",
        type=Path,
        action="append",
        default=[],
        metavar="TRIAL_DIR",
        help="a mode=trial run or sweep of this set: show its answers, verdicts and flags (repeatable)",
    )
    parser.add_argument("--to-label-studio", type=Path, metavar="FILE", help="write Label Studio tasks and exit")
    parser.add_argument("--from-label-studio", type=Path, metavar="FILE", help="import a Label Studio JSON export")
    args = parser.parse_args(argv)
    reviewer = args.reviewer or getpass.getuser()
    try:
        runs = load_review(args.run_dir, load_trials(args.trial))
        if not any(run.items for run in runs):
            raise UserError(f"{args.run_dir}: no document items to review (fix: pass a queries or conversation run)")
        if args.to_label_studio:
            print(f"wrote {write_tasks(runs, args.to_label_studio)} tasks to {args.to_label_studio}")
            return 0
        if args.from_label_studio:
            count = import_annotations(runs, args.from_label_studio, reviewer)
            print(f"imported {count} decisions from {args.from_label_studio}")
            return 0
    except UserError as error:
        return parser.fail(error)
    return _serve(runs, reviewer, args.host, args.port, args.open)


def _serve(runs: list[ReviewRun], reviewer: str, host: str, port: int, open_browser: bool) -> int:
    import uvicorn

    from synthgen.review.app import create_app

    app, token = create_app(runs, reviewer)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/?token={token}"
    print(f"synthgen.review: reviewing {sum(len(run.items) for run in runs)} items as {reviewer} at {url}", flush=True)
    if open_browser:
        threading.Timer(1.0, webbrowser.open, (url,)).start()
    uvicorn.run(app, host=host, port=port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
