"""Keep secrets out of outputs: API keys live in the environment and must never be echoed back."""

from __future__ import annotations

import os
import re

SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL", re.IGNORECASE)
MIN_SECRET_LENGTH = 8


def redact(text: str) -> str:
    """`text` with the value of every secret-looking environment variable replaced by `[redacted]`."""
    for name, value in os.environ.items():
        if len(value) >= MIN_SECRET_LENGTH and SECRET_NAME.search(name):
            text = text.replace(value, "[redacted]")
    return text
