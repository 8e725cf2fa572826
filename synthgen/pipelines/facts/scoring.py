"""Scoring a model on a run's probes: it answers every probe question, and an answer passes when it contains
the probe's key fact by the deterministic inclusion check."""

from __future__ import annotations

import asyncio
from typing import Any

from synthgen.core.errors import UserError
from synthgen.core.secrets import redact
from synthgen.models.client import ModelClient
from synthgen.pipelines.facts.checks import InclusionMethod, check_inclusion
from synthgen.pipelines.facts.rows import prompt_messages

SCORE_STAGE = "probe_scores"


async def score_probes(
    client: ModelClient,
    probes: list[dict[str, Any]],
    *,
    system_prompt: str | None,
    method: InclusionMethod,
    coverage: float,
) -> list[dict[str, Any]]:
    """One score row per probe, in probe order; the client bounds the calls in flight.

    A row is the probe's `id, question, key_fact` with the `answer`, `passed` and the check's `detail`, or,
    when the call failed for good, `passed: null` and the `error`. A UserError (a bad key, an unknown model)
    stops every call and is raised.
    """

    async def score(probe: dict[str, Any]) -> dict[str, Any]:
        row = {key: probe[key] for key in ("id", "question", "key_fact")}
        try:
            answer = await client.text(prompt_messages(probe["question"], system_prompt), stage=SCORE_STAGE)
        except UserError:
            raise
        except Exception as error:  # this probe is unscored, the others go on
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            return {**row, "answer": None, "passed": None, "error": redact(first)[:500]}
        result = check_inclusion(answer, probe["key_fact"], method, coverage)
        return {**row, "answer": answer, "passed": result.passed, "detail": result.detail}

    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(score(probe)) for probe in probes]
    except* UserError as errors:
        raise errors.exceptions[0] from None
    return [task.result() for task in tasks]
