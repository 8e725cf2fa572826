"""synthgen as users install and extend it: the built wheel run from elsewhere, a user's own config repo with a
model option built on a bundled one, and a loader class that lives outside the package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.cli import read_jsonl
from tests.fake_openai import FakeOpenAI, Reply, last_user_text

REPO = Path(__file__).resolve().parents[1]


def synthgen(*args: str, cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m synthgen` in `cwd`, with `pythonpath` (when given) ahead of the installed packages."""
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
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
    assert "synthgen = synthgen.__main__:main" in entry_points.read_text()


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
    fake_openai.responder = lambda request: Reply(
        content=json.dumps({"questions": [f"What about: {last_user_text(request).split('<excerpt>')[1][:30]}?"]})
    )
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
