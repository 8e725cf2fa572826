"""Which differences from its baseline an update run accepts.

Refused (one line naming them): a different mode kind, model, question mix, `mode.answers` or language. Kept
items would otherwise sit beside new ones made another way: a set half written by another model, of another
mix of types, or half without reference answers is not the old set updated, but a new set (run without
`baseline=`). Everything else may differ: counts (more slots get new items; with fewer, every item whose
evidence holds is still kept), strategy, loader and chunk sizes, the checks and their thresholds (applied to the
new items), judge, dedup, personas, difficulty, prompts.
"""

from __future__ import annotations

from typing import Any

from synthgen.config.schema import DocumentModeSettings, ModelSettings
from synthgen.core.errors import UserError


def check_compatible(baseline: str, old: dict[str, Any], mode: DocumentModeSettings, model: ModelSettings) -> None:
    """Raise a UserError listing the settings that differ from the baseline's where a mix would be unsafe."""
    old_mode = old.get("mode") or {}
    old_model = old.get("model") or {}
    compared = [
        ("mode.kind", old_mode.get("kind"), getattr(mode, "kind", None)),
        ("model.model", old_model.get("model"), model.model),
    ]
    if compared[0][1] == compared[0][2]:
        compared += [
            ("mode.question_types", _shares(old_mode.get("question_types")), _shares(mode.question_types)),
            ("mode.answers", old_mode.get("answers", False), mode.answers),
            ("mode.language", old_mode.get("language"), mode.language),
        ]
    differing = [f"{name} {before!r} → {after!r}" for name, before, after in compared if before != after]
    if differing:
        raise UserError(
            f"baseline={baseline} was made with another {'; '.join(differing)}: its items cannot be carried into "
            "this run (fix: set these as the baseline had them, or drop baseline= to generate a new set)"
        )


def _shares(shares: Any) -> dict[str, float] | None:
    """A question mix as shares of 1 (so {a: 1, b: 1} equals {a: 0.5, b: 0.5}); zero shares dropped."""
    if not isinstance(shares, dict):
        return None
    total = sum(float(value) for value in shares.values() if float(value) > 0)
    return {name: round(float(value) / total, 6) for name, value in shares.items() if float(value) > 0}
