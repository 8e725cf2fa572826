"""Prompt tokens a provider read from its cache, and what a kept item costs: in stats.json and the sweep summary,
from the usage the (fake, OpenAI-shaped) server reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.fake_documents import DocumentModel
from tests.fake_openai import FakeOpenAI, Reply, completion_body
from tests.test_document_checks import run


def test_cached_prompt_tokens_and_the_cost_per_kept_item_are_reported(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    scripted = DocumentModel()

    def cached(request: dict[str, Any]) -> Reply:
        body = json.loads(completion_body(scripted(request).content or "", prompt_tokens=100, completion_tokens=20))
        body["usage"]["prompt_tokens_details"] = {"cached_tokens": 60}
        return Reply(body=json.dumps(body))

    fake_openai.responder = cached
    out = run(
        fake_openai,
        tmp_path,
        "mode.num_queries_per_chunk=2",
    )
    stats = json.loads((out / "stats.json").read_text())
    calls, kept = stats["calls"], stats["counts"]["kept"]
    assert kept > 0
    assert (stats["prompt_tokens"], stats["cached_prompt_tokens"]) == (100 * calls, 60 * calls)
    assert stats["stages"]["questions"]["cached_prompt_tokens"] == 60 * stats["stages"]["questions"]["calls"]
    assert stats["per_kept_item"] == {
        "prompt_tokens": round(100 * calls / kept, 1),
        "cached_prompt_tokens": round(60 * calls / kept, 1),
        "completion_tokens": round(20 * calls / kept, 1),
        "cost_usd": round(stats["cost_usd"] / kept, 6),
    }
