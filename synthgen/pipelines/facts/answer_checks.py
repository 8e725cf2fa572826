"""The deterministic checks of one answer, in order: no acknowledgement, the requirement's format, the key fact."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from synthgen.config.schema import FactsValidationSettings
from synthgen.pipelines.facts.checks import acknowledgement, check_inclusion
from synthgen.pipelines.facts.formats import check_format, named_formats


@dataclass(frozen=True)
class AnswerVerdict:
    """`stage` is the first check that failed (None: all passed); `details` the records' validation entries."""

    stage: str | None
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)


def check_answer(answer: str, requirement: str, information: str, checks: FactsValidationSettings) -> AnswerVerdict:
    """Run the checks until one fails: acknowledgement_check, format_check, inclusion_check."""
    opener = acknowledgement(answer)
    if opener is not None:
        return AnswerVerdict("acknowledgement_check", f"the answer opens by acknowledging the request: {opener!r}")
    details: dict[str, Any] = {}
    formats = named_formats(requirement) if checks.format_check else []
    if formats:
        parsed = check_format(answer, formats)
        details["format"] = {"formats": formats, "passed": parsed.passed, "detail": parsed.detail}
        if not parsed.passed:
            return AnswerVerdict("format_check", f"the requirement asks for {' or '.join(formats)}: {parsed.detail}")
    inclusion = check_inclusion(answer, information, checks.inclusion_check, checks.key_term_coverage)
    details["inclusion"] = {"method": checks.inclusion_check, "passed": inclusion.passed, "detail": inclusion.detail}
    if not inclusion.passed:
        return AnswerVerdict("inclusion_check", f"specific information missing ({inclusion.detail})")
    return AnswerVerdict(None, details=details)
