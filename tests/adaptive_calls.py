"""Real litellm calls through an AdaptiveLimit with a plain retry loop, shared by the tests and the benchmark."""

from __future__ import annotations

import asyncio
import os
import time

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm

litellm.suppress_debug_info = True

from synthgen.models.adaptive import AdaptiveLimit  # noqa: E402  (after litellm is configured)


def retry_after(error: Exception) -> float | None:
    """The Retry-After seconds a 429 carried, if any."""
    headers = getattr(error, "litellm_response_headers", None) or {}
    value = headers.get("retry-after")
    return float(value) if value is not None else None


async def complete(limit: AdaptiveLimit, url: str, prompt: str, attempts: int = 200) -> str:
    """One chat completion under `limit`, retried on each 429 (the limit paces the retries)."""
    for _ in range(attempts):
        try:
            async with limit:
                response = await litellm.acompletion(
                    model="openai/fake",
                    api_base=url,
                    api_key="not-needed",
                    num_retries=0,
                    max_retries=0,
                    messages=[{"role": "user", "content": prompt}],
                    timeout=30,
                )
        except litellm.RateLimitError as error:
            limit.rate_limited(retry_after(error))
            continue
        limit.succeeded()
        return str(response.choices[0].message.content)
    raise AssertionError(f"no answer to {prompt!r} after {attempts} attempts")


async def run_calls(limit: AdaptiveLimit, url: str, count: int) -> tuple[list[str], float]:
    """`count` concurrent calls; their replies in order and the wall time they took."""
    start = time.perf_counter()
    replies = await asyncio.gather(*(complete(limit, url, f"prompt {i}") for i in range(count)))
    return replies, time.perf_counter() - start
