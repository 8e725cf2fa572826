"""Jinja prompt files: strict rendering, document text passed as data only."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from synthgen.core.errors import UserError
from synthgen.core.paths import PROMPTS_DIR


@cache
def resolve_prompt(name: str) -> Path:
    """A prompt setting is a file in the bundled prompts/ folder or a path to the user's own file."""
    candidate = Path(name).expanduser()
    for path in (PROMPTS_DIR / name, candidate):
        if path.is_file():
            return path.resolve()
    raise UserError(
        f"prompt file not found: {name} (fix: use a file from {PROMPTS_DIR} or a path to an existing .j2 file)"
    )


@cache
def load_template(path: Path) -> jinja2.Template:
    """Compile a prompt file once; StrictUndefined makes a misspelt variable an error."""
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    try:
        return env.from_string(path.read_text(encoding="utf-8"))
    except jinja2.TemplateSyntaxError as error:
        raise UserError(f"prompt {path}: syntax error on line {error.lineno}: {error.message}") from None


def render_prompt(name: str, **variables: Any) -> str:
    """Render a prompt file with the given variables (document text is a value, never template source)."""
    path = resolve_prompt(name)
    try:
        return load_template(path).render(**variables).strip()
    except jinja2.UndefinedError as error:
        raise UserError(f"prompt {path}: {error.message} (fix: use only the variables {sorted(variables)})") from None
