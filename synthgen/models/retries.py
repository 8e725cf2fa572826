"""How the client classifies a failed model call: retry after a delay, give up on the call, or stop the run."""

from __future__ import annotations

import random
from typing import Any

from synthgen.core.errors import FatalModelError, ModelUnreachable
from synthgen.models.dialects import is_request_validation_error
from synthgen.models.providers.base import LiteLLMModel


def retry_delay(litellm: Any, settings: LiteLLMModel, error: Exception, attempt: int, answered: bool) -> float | None:
    """Seconds to wait before retrying attempt `attempt`, None to give up on the call; raises FatalModelError or
    ModelUnreachable for errors that stop the whole run. `answered`: whether the model has answered once."""
    if isinstance(error, (litellm.AuthenticationError, litellm.PermissionDeniedError)):
        raise FatalModelError(
            f"model '{settings.name}' rejected the API key: {first_line(error)} "
            "(fix: export a valid key for this provider)"
        ) from None
    if isinstance(error, litellm.NotFoundError):
        raise FatalModelError(
            f"model '{settings.model}' was not found: {first_line(error)} (fix: check model.model)"
        ) from None
    if not answered and connection_refused(error):  # nothing listens there: no point in waiting
        if settings.api_base:
            raise ModelUnreachable(
                f"cannot reach {settings.api_base} (connection refused)", "start the server or set model.api_base"
            ) from error
        raise ModelUnreachable(
            f"{first_line(error)} (connection refused)", "start the server or correct its address in model"
        ) from error
    if is_request_validation_error(error):  # the server refuses the request itself: asking again cannot help
        return None
    retryable = (
        litellm.RateLimitError,
        litellm.Timeout,
        litellm.APIConnectionError,
        litellm.InternalServerError,
        litellm.ServiceUnavailableError,
        litellm.BadGatewayError,
    )
    if not isinstance(error, retryable) or attempt >= settings.retries:
        return None
    retry_after = retry_after_seconds(error)
    if retry_after is not None:
        return min(settings.backoff_max, retry_after)
    return min(settings.backoff_max, settings.backoff_base * 2**attempt) * random.uniform(0.5, 1.5)


def retry_after_seconds(error: BaseException) -> float | None:
    """The Retry-After header of a failed call's response, in seconds, if it has one."""
    headers = getattr(error, "litellm_response_headers", None) or getattr(
        getattr(error, "response", None), "headers", None
    )
    value = headers.get("retry-after") if headers else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def connection_refused(error: BaseException) -> bool:
    """Whether a refused connection is among the causes of `error` (litellm wraps the socket error)."""
    cause: BaseException | None = error
    for _ in range(16):  # chains are short; a bound guards against a cycle
        if cause is None:
            return False
        if isinstance(cause, ConnectionRefusedError):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def first_line(error: BaseException) -> str:
    """The first line of an error's message (at most 300 characters), or its type's name."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:300]
