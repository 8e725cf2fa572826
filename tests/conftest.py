"""Shared fixtures: offline litellm, a clean Hydra state, and the fake OpenAI-compatible server."""

from __future__ import annotations

import os
from collections.abc import Iterator

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"

import pytest
from hydra.core.global_hydra import GlobalHydra

from tests.fake_openai import FakeOpenAI


@pytest.fixture(autouse=True)
def _own_call_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test (and the CLI runs it starts) gets a fresh call cache, never the user's."""
    monkeypatch.setenv("SYNTHGEN_CALL_CACHE", str(tmp_path_factory.mktemp("cache") / "calls.sqlite"))


@pytest.fixture(autouse=True)
def _clean_hydra() -> Iterator[None]:
    GlobalHydra.instance().clear()
    yield
    GlobalHydra.instance().clear()


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI().start()
    try:
        yield server
    finally:
        server.stop()
