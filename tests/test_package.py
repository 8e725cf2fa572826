"""synthgen as users install and extend it: the built wheel run from elsewhere, a user's own config repo with a
model option built on a bundled one, and a loader class that lives outside the package."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.cli import read_jsonl
from tests.fake_openai import FakeOpenAI, questions_with_latency

REPO = Path(__file__).resolve().parents[1]


def synthgen(*args: str, cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m synthgen` in `cwd`, with `pythonpath` (when given) ahead of the tree under test."""
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(pythonpath), os.environ.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "synthgen", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package built as a wheel and unpacked into a folder of its own (its dependencies come from this venv)."""
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(REPO)],
        check=True,
        capture_output=True,
    )
    [wheel] = dist.glob("synthgen-*.whl")
    target = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    return target


def test_the_wheel_carries_the_config_tree_prompts_and_examples(installed_wheel: Path) -> None:
    package = installed_wheel / "synthgen"
    for bundled in ("conf/config.yaml", "conf/model/litellm.yaml", "prompts/queries.j2", "examples/team-handbook.md"):
        assert (package / bundled).is_file(), bundled
    entry_points = next(installed_wheel.glob("synthgen-*.dist-info")) / "entry_points.txt"
    assert "synthgen = synthgen.__main__:cli" in entry_points.read_text()


def test_the_wheel_runs_from_any_directory(installed_wheel: Path, tmp_path: Path) -> None:
    synthgen_file = subprocess.run(
        [sys.executable, "-c", "import synthgen; print(synthgen.__file__)"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(installed_wheel)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(synthgen_file).is_relative_to(installed_wheel), synthgen_file  # the wheel's copy, not the checkout
    composed = synthgen("--cfg", "job", "--resolve", cwd=tmp_path, pythonpath=installed_wheel)
    assert composed.returncode == 0, composed.stderr
    assert f"source: {installed_wheel / 'synthgen' / 'examples'}" in composed.stdout
    planned = synthgen("dry_run=true", f"hydra.run.dir={tmp_path / 'plan'}", cwd=tmp_path, pythonpath=installed_wheel)
    assert planned.returncode == 0, planned.stderr
    assert "questions" in (tmp_path / "plan" / "plan.txt").read_text()


def user_repo(root: Path, server: FakeOpenAI) -> Path:
    """A user's own config repo: a model option on top of a bundled one, and a loader of their own package."""
    (root / "conf" / "model").mkdir(parents=True)
    (root / "conf" / "model" / "my_server.yaml").write_text(
        f"defaults: [openai_compatible, _self_]\nname: my_server\nmodel: openai/served-model\napi_base: {server.url}\n"
        "retries: 0\n"
    )
    (root / "conf" / "loader").mkdir()
    (root / "conf" / "loader" / "lines.yaml").write_text(
        "_target_: my_loaders.LinesLoader\nextensions: [.txt]\nmin_words: 3\n"
    )
    (root / "my_loaders.py").write_text(
        '"""A user\'s loader: one chunk per line with at least `min_words` words."""\n'
        "from synthgen.sources.base import Chunk, Loader\n"
        "from synthgen.sources.files import Document\n\n\n"
        "class LinesLoader(Loader):\n"
        "    min_words: int = 1\n\n"
        "    def split(self, document: Document) -> list[Chunk]:\n"
        "        lines = [line for line in document.text.splitlines() if len(line.split()) >= self.min_words]\n"
        "        return [Chunk(f'{document.name}:{i}', document.name, (), line, i) for i, line in enumerate(lines)]\n"
    )
    (root / "notes.txt").write_text("The pump runs at night.\nshort\nValves open slowly when cold.\n")
    return root


def test_a_user_config_repo_extends_bundled_options_and_plugs_in_its_own_loader(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    fake_openai.responder = questions_with_latency(0)
    repo = user_repo(tmp_path / "my-datasets", fake_openai)
    result = synthgen(
        "--config-dir",
        "conf",
        "model=my_server",
        "loader=lines",
        "source=notes.txt",
        "mode.num_queries_per_chunk=1",
        "report=false",
        "hydra.run.dir=out",
        cwd=repo,
        pythonpath=repo,
    )
    assert result.returncode == 0, result.stderr
    [dataset] = read_jsonl(repo / "out" / "datasets.jsonl")
    chunks = [turn["agentic"]["chunk_id"] for turn in dataset["conversation"]]
    assert chunks == ["notes.txt:0", "notes.txt:1"]  # the user's splitter: two lines of three words or more
    assert {request["model"] for request in fake_openai.requests} == {"served-model"}
    bad = synthgen("--config-dir", "conf", "loader=lines", "+loader.min_wrds=2", cwd=repo, pythonpath=repo)
    [error] = [line for line in bad.stderr.splitlines() if line.startswith("synthgen: error:")]
    assert bad.returncode == 2 and "loader.min_wrds" in error


def test_a_provider_and_an_export_format_of_the_users_own(tmp_path: Path) -> None:
    """A model option whose provider class answers in process (a litellm custom handler), and an exporter class."""
    repo = tmp_path / "my-datasets"
    (repo / "conf" / "model").mkdir(parents=True)
    (repo / "conf" / "export").mkdir()
    (repo / "conf" / "model" / "echo.yaml").write_text(
        "defaults: [litellm, _self_]\n_target_: my_plugins.EchoModel\nname: echo\nmodel: echo/v1\n"
        "structured_output: prompt\nprefix: 'Echo'\n"
    )
    (repo / "conf" / "export" / "csv.yaml").write_text(
        "# @package export.csv\n_target_: my_plugins.CsvExporter\ndelimiter: ';'\n"
    )
    (repo / "my_plugins.py").write_text(
        '"""A provider that answers in process, and an exporter writing one CSV line per question."""\n'
        "import csv, json\n"
        "from pathlib import Path\n"
        "from typing import Any, ClassVar\n"
        "import litellm\n"
        "from litellm import CustomLLM\n"
        "from synthgen.models.providers.base import LiteLLMModel\n"
        "from synthgen.outputs.export.base import ExporterOptions\n"
        "from synthgen.outputs.export.run_files import find_runs\n\n\n"
        "class Echo(CustomLLM):\n"
        "    async def acompletion(self, model, messages, model_response, optional_params, **kwargs):\n"
        "        prefix = optional_params['echo_prefix']\n"
        "        line = messages[-1]['content'].split('<excerpt>')[1].split('</excerpt>')[0].strip().splitlines()[-1]\n"
        "        question = {'question': f\"{prefix}: {' '.join(line.split()[:3])}?\", 'quotes': [line]}\n"
        "        question['difficulty'] = 'easy'\n"
        "        model_response.choices[0].message.content = json.dumps({'questions': [question]})\n"
        "        return model_response\n\n\n"
        "class EchoModel(LiteLLMModel):\n"
        "    prefix: str = 'Echo'\n\n"
        "    def register(self) -> None:\n"
        "        litellm.custom_provider_map = [{'provider': 'echo', 'custom_handler': Echo()}]\n\n"
        "    def check_ready(self) -> None:\n"
        "        pass\n\n"
        "    def call_kwargs(self, draw: int, extra_data: dict[str, Any] | None) -> dict[str, Any]:\n"
        "        return {'echo_prefix': self.prefix}\n\n\n"
        "class CsvExporter(ExporterOptions):\n"
        "    name: ClassVar[str] = 'csv'\n"
        "    delimiter: str = ','\n\n"
        "    def write(self, run_dir: Path, out_dir: Path | None = None) -> list[Path]:\n"
        "        path = self.output_dir(run_dir, out_dir) / 'questions.csv'\n"
        "        with path.open('w', newline='') as file:\n"
        "            writer = csv.writer(file, delimiter=self.delimiter)\n"
        "            for run in find_runs(run_dir):\n"
        "                for session in run.sessions:\n"
        "                    writer.writerows([turn['qa_id'], turn['query']] for turn in session['conversation'])\n"
        "        return [path]\n"
    )
    (repo / "notes.md").write_text("# Pumps\n\nThe pump runs at night and rests at noon.\n")
    result = synthgen(
        "--config-dir",
        "conf",
        "model=echo",
        "model.prefix=Why",
        "mode.evidence.cite=text",  # the provider copies its quotes
        "mode.roundtrip.enabled=false",  # and only writes questions
        "export=[csv]",
        "source=notes.md",
        "mode.num_queries_per_chunk=1",
        "report=false",
        "cache.mode=off",
        "hydra.run.dir=out",
        cwd=repo,
        pythonpath=repo,
    )
    assert result.returncode == 0, result.stderr
    [row] = (repo / "out" / "export" / "csv" / "questions.csv").read_text().splitlines()
    qa_id, question = row.split(";")
    assert question.startswith("Why: ") and question.endswith("?") and len(qa_id) == 16
