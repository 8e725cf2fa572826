"""Loop detection for the embedded model: a reply whose end repeats one stretch of text over and over.

A small model sometimes falls into a loop inside a JSON string ("... the timer. the timer. the timer. ...") or
over a list (the same quoted passage again and again) and would run on to its max_tokens. The reply streams in
token by token; once its last characters are one stretch repeated back to back (4 copies of a short one, 3 of a
phrase, 2 of a sentence-long one) over at least `MIN_CHARS`, the draw is stopped there.
"""

from __future__ import annotations

MAX_PERIOD = 400  # characters: the longest repeated stretch looked for (a quoted passage, with its JSON quoting)
MIN_CHARS = 60  # a loop spans at least this much (so "----" or "...." in a quote is not one)
LOOP_CHARS = 2 * MAX_PERIOD  # the longest span a loop needs: what the check looks back over


def copies(period: int) -> int:
    """Back-to-back copies of a stretch of `period` characters that make a loop: the longer the stretch, the
    fewer (a sentence written twice in a row is already one)."""
    return 4 if period <= 20 else 3 if period <= 80 else 2


def looping(text: str) -> bool:
    """Whether `text` ends in a loop: one stretch of 1..MAX_PERIOD characters repeated `copies` times or more,
    spanning at least MIN_CHARS characters."""
    for period in range(1, MAX_PERIOD + 1):
        span = max(MIN_CHARS, copies(period) * period)
        if span > len(text):
            continue
        # The last `span` characters have period `period` iff they equal themselves shifted by it.
        if text[-span + period :] == text[-span : len(text) - period]:
            return True
    return False
