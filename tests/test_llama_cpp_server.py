"""Structured output negotiated with llama-cpp-python's own OpenAI-compatible server (`python -m llama_cpp.server`)
on the embedded weights: `structured_output=auto` asks in `json_schema`, which that server refuses with a
validation error, then in its own dialect (`json_object` with the schema), once for the run. Mechanics only,
never wording; few, short calls."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from synthgen.models.providers.local.weights import default_model_path
from tests.cli import free_port, read_jsonl, run_cli
from tests.test_cli import ONLY_FACTUAL
from tests.test_local_e2e import DOC

pytestmark = pytest.mark.local_model
pytest.importorskip("llama_cpp.server.app", reason="needs llama-cpp-python[server] (the server-check extra)")


# `python -m llama_cpp.server` with llama.cpp's extra weight buffers off, as the embedded provider loads the model
# (model.local.extra_buffers): with them llama.cpp crashes in the first decode on a CPU that advertises AMX.
SERVER_WITHOUT_EXTRA_BUFFERS = (
    "import runpy; from synthgen.models.providers.local.handler import model_params\n"
    "with model_params(use_extra_bufts=False): runpy.run_module('llama_cpp.server', run_name='__main__')"
)


@pytest.fixture(scope="module")
def llama_cpp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The server on 127.0.0.1, serving the embedded weights as `embedded`; its base URL."""
    port = free_port()
    log = (tmp_path_factory.mktemp("llama-server") / "server.log").open("w")
    # fmt: off
    server = subprocess.Popen(
        [
            sys.executable, "-c", SERVER_WITHOUT_EXTRA_BUFFERS, "--model", str(default_model_path()),
            "--model_alias", "embedded", "--host", "127.0.0.1", "--port", str(port),
            "--n_ctx", "4096", "--n_threads", "2", "--verbose", "false",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    # fmt: on
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, Path(log.name).read_text()
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=5) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                assert time.monotonic() < deadline, "the llama.cpp server did not start in 180 s"
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()


def test_auto_moves_from_json_schema_to_the_llama_cpp_dialect_once(llama_cpp_server: str, tmp_path: Path) -> None:
    source = tmp_path / "kettle.md"
    source.write_text(DOC)
    out = tmp_path / "run"
    result = run_cli(
        "model=openai_compatible",
        f"model.api_base={llama_cpp_server}",
        "model.model=openai/embedded",
        "model.structured_output=auto",
        "model.max_concurrency=1",
        "model.max_tokens=200",
        f"source={source}",
        "mode.num_queries_per_chunk=1",
        *ONLY_FACTUAL,
        "mode.max_top_up_calls=0",  # one question call
        "report=false",
        f"hydra.run.dir={out}",
        cwd=tmp_path,
        env={"OPENAI_API_KEY": "not-needed-by-a-local-server"},
    )
    # The 0.5B model's question may fail the quote check (exit 4, its reason on disk): what it wrote was parsed.
    assert result.returncode in (0, 4), result.stderr
    log = (out / "__main__.log").read_text()
    assert log.count("the server rejected structured output as json_schema") == 1, log
    assert "using llama_cpp from now on" in log
    questions = json.loads((out / "stats.json").read_text())["stages"]["questions"]
    assert questions["retries"] == 0  # the refusal is a validation of the request: asked anew, never retried
    assert questions["calls"] == 1 and questions["failures"] == 0
    assert questions["repairs"] == 0  # the server's grammar held the reply to the schema
    items = read_jsonl(out / "rejected.jsonl") + [
        turn for dataset in read_jsonl(out / "datasets.jsonl") for turn in dataset["conversation"]
    ]
    assert len(items) == 1  # the one question, kept or rejected by a check
