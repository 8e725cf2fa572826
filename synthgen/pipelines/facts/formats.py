"""Format checks: an answer to a requirement that names JSON, XML, HTML or CSV must parse as that format.

A requirement names a format when it contains one of the words JSON, XML, HTML or CSV (whole word, any case);
naming several, the answer must parse as one of them. The whole answer is parsed, or, when the answer is one
fenced code block (```json ... ```) and nothing else, the block's content. Standard-library parsers only:
- JSON: `json.loads` gives an object or an array;
- XML: `xml.etree.ElementTree` parses it as a well-formed document with one root element;
- HTML: starts with `<` and ends with `>`, holds at least one element, and its tags nest: every element is
  closed, in order, except void elements (`<br>`, `<img>`, ...) and those whose end tag HTML makes optional
  (`<p>`, `<li>`, `<td>`, ...). `html.parser` accepts almost anything, so the nesting is what is checked;
- CSV: `csv.Sniffer` finds a delimiter among `, ; tab |`, and the rows (blank ones ignored) number at least
  two, each with the same number of fields, at least two.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from html.parser import HTMLParser
from xml.etree import ElementTree

from synthgen.pipelines.facts.checks import CheckResult

_FORMAT_WORD = re.compile(r"\b(json|xml|html|csv)\b", re.IGNORECASE)
_FENCED = re.compile(r"```[\w+.-]*[ \t]*\n(?P<body>.*?)\n?```", re.DOTALL)
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
)
_OPTIONAL_END = frozenset(
    {"html", "head", "body", "p", "li", "dt", "dd", "rt", "rp", "optgroup", "option"}
    | {"colgroup", "caption", "thead", "tbody", "tfoot", "tr", "td", "th"}
)


def named_formats(requirement: str) -> list[str]:
    """The formats (JSON, XML, HTML, CSV) a requirement names, in the order it names them, without repeats."""
    return list(dict.fromkeys(word.upper() for word in _FORMAT_WORD.findall(requirement)))


def check_format(answer: str, formats: list[str]) -> CheckResult:
    """Does the answer (or its single fenced block) parse as one of `formats`?"""
    payload = _payload(answer)
    problems = []
    for name in formats:
        problem = _PARSERS[name](payload)
        if problem is None:
            return CheckResult(True, f"parses as {name}")
        problems.append(f"not {name}: {problem}")
    return CheckResult(False, "; ".join(problems))


def _payload(answer: str) -> str:
    """The answer, or the content of the one fenced code block it consists of."""
    text = answer.strip()
    fenced = _FENCED.fullmatch(text)
    return fenced.group("body").strip() if fenced and "```" not in fenced.group("body") else text


def _json_problem(payload: str) -> str | None:
    try:
        value = json.loads(payload)
    except json.JSONDecodeError as error:
        return f"{error.msg} (line {error.lineno}, column {error.colno})"
    return None if isinstance(value, (dict, list)) else f"a bare {type(value).__name__}, not an object or array"


def _xml_problem(payload: str) -> str | None:
    try:
        ElementTree.fromstring(payload)
    except ElementTree.ParseError as error:
        return str(error)
    return None


def _html_problem(payload: str) -> str | None:
    if not (payload.startswith("<") and payload.endswith(">")):
        return "does not start and end with a tag"
    parser = _NestingParser()
    parser.feed(payload)
    parser.close()
    if parser.problem is not None:
        return parser.problem
    if parser.elements == 0:
        return "no element"
    unclosed = [tag for tag in parser.open if tag not in _OPTIONAL_END]
    return f"<{unclosed[-1]}> is never closed" if unclosed else None


def _csv_problem(payload: str) -> str | None:
    try:
        dialect = csv.Sniffer().sniff(payload, delimiters=",;\t|")
    except csv.Error:
        return "no delimiter found"
    rows = [row for row in csv.reader(io.StringIO(payload), dialect) if any(field.strip() for field in row)]
    widths = sorted({len(row) for row in rows})
    if len(rows) < 2:
        return "fewer than two rows"
    if len(widths) > 1:
        return f"rows have {widths[0]} to {widths[-1]} fields"
    return "only one column" if widths[0] < 2 else None


class _NestingParser(HTMLParser):
    """Follows the open elements; notes the first end tag that does not close the innermost open element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.elements = 0
        self.problem: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements += 1
        if tag not in _VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements += 1

    def handle_endtag(self, tag: str) -> None:
        if self.problem is not None or tag in _VOID:
            return
        if tag not in self.open:
            self.problem = f"</{tag}> closes no open element"
            return
        while (innermost := self.open.pop()) != tag:
            if innermost not in _OPTIONAL_END:
                self.problem = f"</{tag}> closes <{tag}> while <{innermost}> inside it is open"
                return


_PARSERS: dict[str, Callable[[str], str | None]] = {
    "JSON": _json_problem,
    "XML": _xml_problem,
    "HTML": _html_problem,
    "CSV": _csv_problem,
}
