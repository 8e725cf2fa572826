"""Numbered passages: what the prompts show, what replies cite, and which passages evidence-first asks about."""

from __future__ import annotations

import re

from synthgen.config.schema import EvidenceSettings
from synthgen.pipelines.documents.citing import Citing, numbers_of
from synthgen.pipelines.documents.passages import Passage, checkable, number, numbered_text, pick
from synthgen.pipelines.documents.records import Evidence
from synthgen.sources.base import Chunk

GUIDE = """# Timers

Short line.
The `setTimeout()` function schedules a callback after 1 millisecond at least.
Timers are a good way to wait for something without blocking anything else at all.

```js
const timeout = setTimeout(function callback() { return 42; }, 1000);
```

| option | default value of it |
| --- | --- |
- [See the events page](events.md)
The `unref()` method lets the Node.js process exit while the timer is still active.
"""


def chunk(text: str, id_: str = "c1") -> Chunk:
    return Chunk(id_, "guide.md", ("Timers",), text, 0)


def test_passages_are_numbered_across_excerpts_and_shown_with_their_numbers() -> None:
    long_line = " ".join(f"Sentence {i} states a rule about timers and callbacks." for i in range(8))
    chunks = [chunk(GUIDE), chunk(f"## Other timers and their callbacks\n{long_line}\n", "c2")]
    passages = number(chunks, 15)
    assert [p.number for p in passages] == list(range(1, len(passages) + 1))
    assert {p.excerpt for p in passages} == {1, 2} and all(p.text in chunks[p.excerpt - 1].text for p in passages)
    assert "Short line." not in [p.text for p in passages]  # too short to prove anything
    assert not any(p.text.startswith("#") for p in passages)  # a heading states nothing
    assert sum(p.excerpt == 2 for p in passages) == 8  # the long line, cut at its sentence ends
    shown = numbered_text(chunks, 15)
    marked = dict(re.findall(r"\[(\d+)\] (.+?)(?= \[\d+\]|\n|$)", "\n".join(shown)))
    assert marked == {str(p.number): p.text for p in passages}  # the numbers the prompt shows are the cited ones
    assert "Short line." in shown[0] and "\n## Other timers" in "\n" + shown[1]  # nothing of the chunk is hidden


def test_evidence_first_picks_checkable_prose_spread_over_the_chunk() -> None:
    passages = number([chunk(GUIDE)], 15)
    never = [p for p in passages if checkable(p) < 0]
    assert {p.text for p in never} >= {
        "const timeout = setTimeout(function callback() { return 42; }, 1000);",  # code
        "| option | default value of it |",  # a table
        "- [See the events page](events.md)",  # a link list
    }
    title = Passage(1, 1, "c1", "How the eight-person data team at Northwind Logistics works.", True)
    assert checkable(title) < 0  # a title as a sentence: the small model copies it as its question
    signatures = [
        "* Returns: {Timeout} a reference to `timeout`",
        "* `callback` {Function} The function to call when the timer elapses.",
        ":param delay: The number of milliseconds to wait before calling the callback.",
    ]  # what they state belongs to the heading above them
    assert all(checkable(Passage(1, 1, "c1", text, True)) < 0 for text in signatures)
    stated = Passage(1, 1, "c1", "* The `timeout.refresh()` method returns a reference to `timeout`.", True)
    assert checkable(stated) > 0  # a list item that is a sentence stays
    two = pick(passages, 2)
    assert [p.text for p in two] == [
        "The `setTimeout()` function schedules a callback after 1 millisecond at least.",
        "The `unref()` method lets the Node.js process exit while the timer is still active.",
    ]  # the identifiers and values first, one from each half of the chunk
    again = pick(passages, 1, avoid=frozenset(p.text for p in two))
    assert [p.text for p in again] == [
        "Timers are a good way to wait for something without blocking anything else at all."
    ]


def test_cited_numbers_become_the_passages_exact_text_and_unknown_numbers_are_reported() -> None:
    passages = tuple(number([chunk(GUIDE)], 15))
    cited = Citing("number", passages)
    quotes, unknown = cited.claimed([2, 2, 99])
    assert [q.text for q in quotes] == [passages[1].text] and unknown == [99]
    name, _ = cited.field()  # type: ignore[misc]
    assert name == "evidence"
    evidence = [Evidence(quote=passages[1].text, chunk_id="c1", score=1.0)]
    assert numbers_of(passages, evidence) == [2]
    copied = [Evidence(quote="schedules a callback after 1 millisecond", chunk_id="c1", score=1.0)]
    assert numbers_of(passages, copied, EvidenceSettings().threshold) == [1]  # a copied piece of a passage


def test_a_hard_wrapped_paragraph_is_offered_sentence_by_sentence_and_a_wrapped_item_whole() -> None:
    wrapped = (
        "The `setTimeout()` function schedules a callback to run after the given\n"
        "delay in milliseconds. When the delay is larger than 2147483647 or less than\n"
        "1, the delay is set to 1.\n"
        "\n"
        "* `timeout.ref()` keeps the event loop alive for as long as the timer is\n"
        "  active, which is the default.\n"
        "* `timeout.unref()` lets the process exit while the timer is active.\n"
    )
    texts = [p.text for p in number([chunk(wrapped)], 15)]
    assert texts == [
        "The `setTimeout()` function schedules a callback to run after the given\ndelay in milliseconds.",
        "When the delay is larger than 2147483647 or less than\n1, the delay is set to 1.",
        "* `timeout.ref()` keeps the event loop alive for as long as the timer is\n  active, which is the default.",
        "* `timeout.unref()` lets the process exit while the timer is active.",
    ]  # each the exact text of the chunk, a sentence or a list item, never the part of one on a line
    assert all(text in wrapped for text in texts)
    [shown] = numbered_text([chunk(wrapped)], 15)
    assert shown.startswith("[1] The `setTimeout()`") and "milliseconds. [2] When the delay" in shown
    assert "\n[3] * `timeout.ref()`" in shown and "\n[4] * `timeout.unref()`" in shown


def test_html_comments_are_shown_but_never_passages() -> None:
    text = (
        "<!-- YAML\nadded: v0.9.1\nchanges:\n  - version: v18.0.0\n    description: Passing an invalid callback\n-->\n"
        "Schedules the immediate execution of the callback after I/O events' callbacks.\n"
        "<!-- YAML added: v20.5.0 -->\n"
        "Cancels the immediate, as calling clearImmediate() does.\n"
    )
    assert [p.text for p in number([chunk(text)], 15)] == [
        "Schedules the immediate execution of the callback after I/O events' callbacks.",
        "Cancels the immediate, as calling clearImmediate() does.",
    ]
    [shown] = numbered_text([chunk(text)], 15)
    assert "added: v0.9.1" in shown and "<!-- YAML added: v20.5.0 -->\n[2] Cancels" in shown
