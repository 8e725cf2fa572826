"""HTTP failures of the providers that speak HTTP themselves (Alquimia, an HTTP assistant), as the litellm errors
the client classifies: 5xx, 408 and 429 are retried, 401 and 403 stop the run, other 4xx fail the unit."""

from __future__ import annotations

import httpx
import litellm

_STATUS_ERRORS: dict[int, type[Exception]] = {
    400: litellm.BadRequestError,
    401: litellm.AuthenticationError,
    403: litellm.PermissionDeniedError,
    404: litellm.NotFoundError,
    408: litellm.Timeout,
    429: litellm.RateLimitError,
    502: litellm.BadGatewayError,
    503: litellm.ServiceUnavailableError,
}


def raise_for_status(response: httpx.Response, model: str, provider: str, service: str) -> None:
    """Raise the litellm error of a failed HTTP response (`service` names the server in the message)."""
    if not response.is_error:
        return
    message = (
        f"{service} returned HTTP {response.status_code} for {response.request.method} "
        f"{response.request.url.copy_with(query=None)}: {response.text[:200]!r}"
    )
    status = response.status_code
    error = _STATUS_ERRORS.get(status, litellm.InternalServerError if status >= 500 else litellm.BadRequestError)
    raise error(  # type: ignore[call-arg]
        message=message, model=model, llm_provider=provider, response=response
    )
