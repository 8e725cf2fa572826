"""Command-line helpers shared by synthgen's small commands (merge, merge_shards)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

from synthgen.core.errors import UserError


class OneLineParser(argparse.ArgumentParser):
    """argparse whose usage errors are one line, like every other synthgen error."""

    def error(self, message: str) -> NoReturn:
        name = self.prog.removeprefix("python -m ")
        print(f"{name}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


def make_out_dir(out: Path) -> None:
    """Create a command's `--out` directory; a file in its way is a UserError naming the fix."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        problem = "is a file" if out.exists() else f"cannot be created ({error.strerror})"
        raise UserError(f"--out {out} {problem} (fix: pass --out a new or existing directory)") from None
