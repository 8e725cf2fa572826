"""PDF to Markdown, page by page (pdfminer.six layout analysis).

Text boxes keep pdfminer's reading order. Text set in a clearly larger font than the body becomes an ATX
header (the largest size is `#`); running headers and footers (the same text in the top or bottom line of
several pages, page numbers aside) are dropped; body lines that Markdown would read as a header or a code
fence are escaped. So the pages chunk like any Markdown file.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

from pdfminer.high_level import extract_pages
from pdfminer.layout import LTChar, LTPage, LTTextBox, LTTextLine
from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect

from synthgen.core.errors import UserError

_HEADING_RATIO = 1.15  # a heading's font is at least this much larger than the body font
_HEADING_MAX_CHARS = 200
_HEADING_MAX_LINES = 3
_RUNNING_MIN_PAGES = 3  # a page's top or bottom line seen on this many pages is a running header or footer
_MARKDOWN_SYNTAX_START = re.compile(r"^( {0,3})(#|`{3}|~{3})", re.MULTILINE)
_DIGITS = re.compile(r"\d+")
_SPACES = re.compile(r" {2,}")  # pdfminer infers spaces from gaps: justified text gets several


@dataclass(frozen=True)
class _Box:
    """Consecutive lines of one text box set in one font size (pt, rounded to 0.5), with their vertical extent."""

    lines: tuple[str, ...]
    size: float
    chars: int
    top: float
    bottom: float

    @property
    def furniture_key(self) -> tuple[str, float]:
        """The box's text with numbers blanked, and its size: equal on every page for a running header."""
        return _DIGITS.sub("#", " ".join(self.lines)), self.size


def pdf_pages_markdown(path: Path, content: bytes) -> list[str]:
    """The Markdown text of each page of a PDF ('' for a page without text); `path` names it in errors.

    Raises UserError naming the file and the fix for an encrypted, unreadable or text-less PDF.
    """
    pages = _read_boxes(path, content)
    if not any(page for page in pages):
        raise UserError(
            f"{path}: the PDF has no text layer (scanned pages?); fix: OCR it first, "
            "e.g. `ocrmypdf in.pdf out.pdf`, then use the OCR'd file"
        )
    body_size = _body_size([box for page in pages for box in page])
    pages = _drop_running_headers(pages, body_size)
    levels = _heading_levels([box for page in pages for box in page], body_size)
    return ["\n\n".join(_render(box, levels) for box in page) for page in pages]


def _read_boxes(path: Path, content: bytes) -> list[list[_Box]]:
    """The non-blank text boxes of every page, in pdfminer's reading order."""
    try:
        return [list(_boxes(page)) for page in extract_pages(io.BytesIO(content))]
    except PDFPasswordIncorrect:
        raise UserError(
            f"{path}: the PDF is password-protected; fix: save an unlocked copy "
            "(e.g. `qpdf --decrypt --password=PASSWORD in.pdf out.pdf`) and use that"
        ) from None
    except PDFEncryptionError as exc:
        raise UserError(
            f"{path}: the PDF uses an encryption pdfminer cannot read ({_one_line(exc)}); fix: save a decrypted copy "
            "(e.g. `qpdf --decrypt in.pdf out.pdf`) and use that"
        ) from None
    except Exception as exc:  # a damaged file surfaces as whatever the parser trips over
        raise UserError(
            f"{path}: the PDF is damaged or not a PDF ({type(exc).__name__}: {_one_line(exc)}); fix: re-export or "
            "repair it (e.g. `qpdf in.pdf repaired.pdf`) or remove it from the source"
        ) from None


def _boxes(page: LTPage) -> Iterator[_Box]:
    """The non-blank text blocks of one laid-out page: each text box split where the font size changes."""
    for element in page:
        if isinstance(element, LTTextBox):
            lines = [line for line in element if isinstance(line, LTTextLine) and line.get_text().strip()]
            for size, run in groupby(lines, key=_font_size):
                block = list(run)
                chars = sum(1 for line in block for char in line if isinstance(char, LTChar))
                texts = tuple(_SPACES.sub(" ", line.get_text().strip()) for line in block)
                yield _Box(texts, size, chars, max(line.y1 for line in block), min(line.y0 for line in block))


def _font_size(line: LTTextLine) -> float:
    """The size (pt, rounded to 0.5) most characters of a line are set in; 0 for a line without glyphs."""
    sizes = Counter(round(char.size * 2) / 2 for char in line if isinstance(char, LTChar))
    return sizes.most_common(1)[0][0] if sizes else 0.0


def _body_size(boxes: list[_Box]) -> float:
    """The font size most of the text is set in."""
    chars = Counter[float]()
    for box in boxes:
        chars[box.size] += box.chars
    return chars.most_common(1)[0][0]


def _drop_running_headers(pages: list[list[_Box]], body_size: float) -> list[list[_Box]]:
    """The pages without running headers and footers: text in a page's top or bottom line, set no larger than
    the body, that recurs (numbers aside) in the top or bottom line of at least 3 pages. A chapter title that
    opens each page is larger than the body, so it stays."""
    edges = [[box for box in _edge_boxes(page) if box.size <= body_size] for page in pages]
    counts = Counter(key for page_edges in edges for key in {box.furniture_key for box in page_edges})
    running = {key for key, count in counts.items() if count >= _RUNNING_MIN_PAGES}
    return [
        [box for box in page if not (box in page_edges and box.furniture_key in running)]
        for page, page_edges in zip(pages, edges, strict=True)
    ]


def _edge_boxes(page: list[_Box]) -> list[_Box]:
    """The boxes level with the topmost or the bottommost box of a page."""
    if not page:
        return []
    highest = max(page, key=lambda box: box.top)
    lowest = min(page, key=lambda box: box.bottom)
    return [box for box in page if box.top >= highest.bottom or box.bottom <= lowest.top]


def _heading_levels(boxes: list[_Box], body_size: float) -> dict[float, int]:
    """Header level (1 = largest) per font size clearly larger than the body's."""
    sizes = sorted({box.size for box in boxes if box.size >= body_size * _HEADING_RATIO and _is_short(box)})
    return {size: min(level, 6) for level, size in enumerate(reversed(sizes), start=1)}


def _is_short(box: _Box) -> bool:
    """Whether the box is short enough to be a heading and has a letter (not a large page number)."""
    text = " ".join(box.lines)
    return len(box.lines) <= _HEADING_MAX_LINES and len(text) <= _HEADING_MAX_CHARS and any(c.isalpha() for c in text)


def _render(box: _Box, levels: dict[float, int]) -> str:
    """A box as Markdown: an ATX header line, or its lines with Markdown syntax at a line start escaped."""
    if box.size in levels and _is_short(box):
        return "#" * levels[box.size] + " " + " ".join(box.lines)
    return _MARKDOWN_SYNTAX_START.sub(r"\1\\\2", "\n".join(box.lines))


def _one_line(exc: BaseException) -> str:
    """An exception's message on one line."""
    return " ".join(str(exc).split()) or "no details"
