"""Loop detection for the embedded model: a reply whose end repeats one stretch of text over and over.

A small model sometimes falls into a loop inside a JSON string ("... the timer. the timer. the timer. ...") and
would run on to its max_tokens. The reply streams in token by token; once its last characters are the same
stretch repeated `REPEATS` times or more (and span at least `MIN_CHARS`), the draw is stopped there.
"""

from __future__ import annotations

MAX_PERIOD = 120  # characters: the longest repeated stretch looked for (a sentence)
REPEATS = 4  # copies of the stretch, back to back, that make a loop
MIN_CHARS = 60  # a loop spans at least this much (so "----" or "...." in a quote is not one)


def looping(text: str) -> bool:
    """Whether `text` ends in a loop: one stretch of 1..MAX_PERIOD characters repeated REPEATS times or more,
    spanning at least MIN_CHARS characters."""
    for period in range(1, MAX_PERIOD + 1):
        span = max(MIN_CHARS, REPEATS * period)
        if span > len(text):
            break
        # The last `span` characters have period `period` iff they equal themselves shifted by it.
        if text[-span + period :] == text[-span : len(text) - period]:
            return True
    return False
