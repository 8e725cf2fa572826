"""The embedded model's loop stop: a streamed reply that starts repeating itself is stopped at the loop (and
reported as cut off, so the client draws it again with a higher repetition penalty), not at max_tokens. The
stream here is scripted; the real model's path is the same function."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import llama_cpp.llama_cpp as native
import pytest

from synthgen.models.providers.base import REDRAW_STRIDE
from synthgen.models.providers.local import EmbeddedModel
from synthgen.models.providers.local.handler import _stream_until_loop
from synthgen.models.providers.local.loops import MIN_CHARS, looping

PROMPT_TOKENS = 300
CACHED_TOKENS = 120  # of the prompt, held in the context from the call before


@pytest.fixture(autouse=True)
def _perf_counters(monkeypatch: pytest.MonkeyPatch) -> None:
    """llama.cpp's perf counters, as a context that evaluated the prompt after its cached prefix reports them."""
    monkeypatch.setattr(native, "llama_perf_context_reset", lambda ctx: None)
    monkeypatch.setattr(
        native, "llama_perf_context", lambda ctx: SimpleNamespace(n_p_eval=PROMPT_TOKENS - CACHED_TOKENS)
    )


class ScriptedLlama:
    """Streams `pieces` as llama-cpp-python's chat chunks (one token each), counting its context like llama.cpp."""

    def __init__(self, pieces: list[str]) -> None:
        self.pieces = pieces
        self.ctx = object()
        self.n_tokens = 0
        self.sent = 0

    def create_chat_completion(self, messages: list, stream: bool, **_: Any) -> Iterator[dict[str, Any]]:
        assert stream
        self.n_tokens = PROMPT_TOKENS
        yield {"choices": [{"delta": {"role": "assistant"}, "finish_reason": None}]}
        for piece in self.pieces:
            self.sent += 1
            yield {"choices": [{"delta": {"content": piece}, "finish_reason": None}]}
            self.n_tokens += 1  # a token is evaluated once the next is asked for
        yield {"choices": [{"delta": {}, "finish_reason": "stop"}]}


@pytest.mark.parametrize(
    ("text", "loops"),
    [
        ("How do I cancel a timeout? " * 4, True),
        ("a" * MIN_CHARS, True),
        ("a" * (MIN_CHARS - 1), False),
        ("The timer. " * 3, False),  # three copies: not yet a loop
        ("| --- | --- |", False),
        ('"Mount the H5 indoors, in a garage that stays between -10 and 45 degrees all year.", ' * 2, True),
        (
            '"Mount the H5 indoors, in a garage that stays between -10 and 45 degrees all year.", "Keep 30 cm free."',
            False,
        ),
        ("setTimeout() schedules a callback; setInterval() repeats it; setImmediate() runs it next.", False),
    ],
)
def test_a_loop_is_one_stretch_repeated(text: str, loops: bool) -> None:
    assert looping(text) is loops


def test_a_looping_reply_is_stopped_at_the_loop_and_reported_cut_off() -> None:
    pieces = ['{"questions": [{"question": "', *(["What", " is", " the", " timer", "?"] * 200)]
    llama = ScriptedLlama(pieces)
    reply = _stream_until_loop(llama, [], {})  # type: ignore[arg-type]
    assert reply.finish_reason == "length"
    assert llama.sent < 40  # of 1,001 tokens: stopped within a few repeats
    assert reply.completion_tokens == llama.sent and reply.content == "".join(pieces[: llama.sent])
    assert reply.prompt_tokens == PROMPT_TOKENS


def test_a_reply_that_does_not_loop_streams_to_its_end() -> None:
    pieces = ['{"question": "', "How", " does", " setTimeout", " differ", " from", " setImmediate", '?"}']
    reply = _stream_until_loop(ScriptedLlama(pieces), [], {})  # type: ignore[arg-type]
    assert (reply.finish_reason, reply.content) == ("stop", "".join(pieces))
    assert (reply.prompt_tokens, reply.completion_tokens) == (PROMPT_TOKENS, len(pieces))
    assert reply.cached_tokens == CACHED_TOKENS


def test_each_redraw_raises_the_repetition_penalty() -> None:
    model = EmbeddedModel(name="local", model="synthgen-local/qwen2.5-coder-0.5b-instruct")
    first, second, third = (model.call_kwargs(7 + k * REDRAW_STRIDE, None) for k in range(3))
    assert [call["repeat_penalty"] for call in (first, second, third)] == [1.1, 1.2, 1.3]
    assert len({call["seed"] for call in (first, second, third)}) == 3
