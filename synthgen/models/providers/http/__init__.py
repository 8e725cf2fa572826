"""`model=http`: an assistant behind its own HTTP API (a Jinja body template, the answer at a dotted path), as a
litellm custom provider, so the client's cache, limits, retries and accounting apply to it like to any model."""

from __future__ import annotations

import os
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from synthgen.core.errors import UserError
from synthgen.models.providers.base import LiteLLMModel
from synthgen.models.providers.http.body import check_body

HTTP_PROVIDER = "synthgen_http"


class HttpAssistant(LiteLLMModel):
    """An HTTP assistant: each call sends the rendered `body` to `url` and reads the answer at `answer_path`.

    `headers` maps a header name to the environment variable holding its value (e.g. `Authorization:
    ASSISTANT_TOKEN` with `ASSISTANT_TOKEN="Bearer ..."`): values are read at call time and never land in the
    config, the cache key or any output.
    """

    url: str = Field(min_length=1)
    method: Literal["POST", "PUT", "PATCH"] = "POST"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str = Field('{"query": "{{ query }}", "session_id": "{{ session_id }}"}', min_length=1)
    answer_path: str = Field("answer", min_length=1)
    embeds: ClassVar[bool] = False

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"must start with http:// or https://, not {url[:40]!r} (fix: model.url=http://host/path)")
        return url

    @field_validator("body")
    @classmethod
    def _renders_json(cls, body: str) -> str:
        check_body(body)
        return body

    @model_validator(mode="after")
    def _provider_model(self) -> HttpAssistant:
        if not self.model.startswith(f"{HTTP_PROVIDER}/"):
            raise ValueError(f"an HTTP assistant's model string starts with '{HTTP_PROVIDER}/', not '{self.model}'")
        return self

    def register(self) -> None:
        """Route `synthgen_http/...` models to the HTTP handler."""
        from synthgen.models.providers.http.handler import register_http_provider

        register_http_provider()

    def check_ready(self) -> None:
        """Every header's environment variable must be set."""
        missing = [variable for variable in self.headers.values() if not os.environ.get(variable)]
        if missing:
            raise UserError(
                f"model '{self.name}' sends headers from {', '.join(missing)}, unset in the environment "
                f"(fix: export {missing[0]}=..., or drop that entry of model.headers)"
            )

    def call_kwargs(self, draw: int, extra_data: dict[str, Any] | None) -> dict[str, Any]:
        """The request's shape (never the header values) and the call's context go to the handler, and so into
        the cache key."""
        return {
            HTTP_PROVIDER: {
                "url": self.url,
                "method": self.method,
                "header_variables": self.headers,
                "body": self.body,
                "answer_path": self.answer_path,
                "extra_data": extra_data or {},
                "sample": draw,
            }
        }

    def price(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        """An HTTP assistant has no known price."""
        return None
