"""Keep secrets out of outputs: API keys live in the environment (or come with one handler request) and must never
be echoed back."""

from __future__ import annotations

import os
import re
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL", re.IGNORECASE)
MIN_SECRET_LENGTH = 8
_hidden: Counter[str] = Counter()  # secrets that are not in the environment, while a request uses them
_hidden_lock = threading.Lock()


@contextmanager
def hidden(secret: str | None) -> Iterator[None]:
    """Redact `secret` too while the block runs (e.g. an API key that came with one request); None hides nothing."""
    if not secret:
        yield
        return
    with _hidden_lock:
        _hidden[secret] += 1
    try:
        yield
    finally:
        with _hidden_lock:
            _hidden[secret] -= 1
            if not _hidden[secret]:
                del _hidden[secret]


def redact(text: str) -> str:
    """`text` with every secret replaced by `[redacted]`: the value of each secret-looking environment variable,
    and each secret `hidden` holds."""
    with _hidden_lock:
        secrets = list(_hidden)
    secrets += [
        value for name, value in os.environ.items() if len(value) >= MIN_SECRET_LENGTH and SECRET_NAME.search(name)
    ]
    for secret in secrets:
        text = text.replace(secret, "[redacted]")
    return text
