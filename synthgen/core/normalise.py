"""Text normalisation for duplicate detection."""

from __future__ import annotations

import re


def normalise(text: str) -> str:
    """Casefolded, with runs of punctuation and whitespace collapsed to one space."""
    return re.sub(r"[\W_]+", " ", text.casefold()).strip()
