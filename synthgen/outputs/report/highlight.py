"""Evidence quotes marked in their source text, matched ignoring case and differences in whitespace."""

from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import Markup, escape


@dataclass(frozen=True)
class Quote:
    """A quote to mark, and the CSS class of its mark (e.g. question or answer evidence)."""

    text: str
    kind: str


def quote_pattern(quote: str, *, ignore_case: bool) -> re.Pattern[str] | None:
    """A pattern matching `quote` with any run of whitespace between its words (in any case with `ignore_case`);
    None if empty."""
    words = quote.split()
    flags = re.IGNORECASE if ignore_case else 0
    return re.compile(r"\s+".join(re.escape(word) for word in words), flags) if words else None


def highlight(text: str, quotes: list[Quote]) -> tuple[Markup, set[str]]:
    """`text` as escaped HTML with every occurrence of each quote in `<mark class="kind">`, and the quotes found.

    Overlapping quotes share characters: a character in several quotes' matches carries all their classes.
    Quotes are matched in lower case (compiling a case-insensitive pattern per quote took most of a report's
    time), or case-insensitively where lowering the text would move its characters (a few letters, such as İ).
    """
    lowered = text.lower()
    folded = len(lowered) == len(text)
    kinds: list[set[str]] = [set() for _ in text]
    found: set[str] = set()
    for quote in quotes:
        pattern = quote_pattern(quote.text.lower() if folded else quote.text, ignore_case=not folded)
        for match in pattern.finditer(lowered if folded else text) if pattern else ():
            found.add(quote.text)
            for index in range(match.start(), match.end()):
                kinds[index].add(quote.kind)
    parts: list[str] = []
    start = 0
    for index in range(1, len(text) + 1):
        if index == len(text) or kinds[index] != kinds[start]:
            segment = escape(text[start:index])
            classes = " ".join(sorted(kinds[start]))
            parts.append(f'<mark class="{classes}">{segment}</mark>' if classes else str(segment))
            start = index
    return Markup("".join(parts)), found
