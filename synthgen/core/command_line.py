"""Command-line helpers shared by synthgen's small commands (export, report, merge, merge_shards, score_probes)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

from synthgen.core.errors import UserError
from synthgen.core.secrets import redact


class OneLineParser(argparse.ArgumentParser):
    """argparse for `python -m <module>`, whose errors are one line, like every other synthgen error; the
    module's docstring is its help text."""

    def __init__(self, module: str, doc: str | None) -> None:
        super().__init__(
            prog=f"python -m {module}", description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
        )
        self.module = module

    def error(self, message: str) -> NoReturn:
        print(f"{self.module}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)

    def fail(self, error: UserError) -> int:
        """Print `error` as the command's one error line (secrets redacted); return its exit code."""
        print(f"{self.module}: error: {redact(str(error))}", file=sys.stderr)
        return error.exit_code


def make_out_dir(out: Path) -> None:
    """Create a command's `--out` directory; a file in its way is a UserError naming the fix."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        problem = "is a file" if out.exists() else f"cannot be created ({error.strerror})"
        raise UserError(f"--out {out} {problem} (fix: pass --out a new or existing directory)") from None
