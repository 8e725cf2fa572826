"""Command-line helpers shared by synthgen's small commands (merge, merge_shards)."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn


class OneLineParser(argparse.ArgumentParser):
    """argparse whose usage errors are one line, like every other synthgen error."""

    def error(self, message: str) -> NoReturn:
        name = self.prog.removeprefix("python -m ")
        print(f"{name}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)
