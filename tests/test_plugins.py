"""The extension contract from outside the package: a user's config repo (`--config-dir`) adds a mode (its settings
class and a tiny pipeline) and a strategy, both classes of a package on the user's PYTHONPATH, composed and run
through the real CLI against the fake OpenAI server."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.cli import read_jsonl, run_cli
from tests.fake_openai import FakeOpenAI, last_user_text, questions_with_latency

PLUGINS = '''"""A user's plugins: a strategy of every n-th chunk, and a mode that asks the model one line per chunk."""
import json
from pathlib import Path
from typing import Any, ClassVar

from synthgen.config.schema import ModeSettings, Settings
from synthgen.config.targets import require_class
from synthgen.pipelines.documents.strategies import Strategy, select_samples
from synthgen.run.stats import RunStats
from synthgen.sources.base import Chunk, as_loader


class EveryNth(Strategy):
    kind: str = "every_nth"
    step: int = 2

    def groups(self, chunks: list[Chunk]) -> list[tuple[Chunk, ...]]:
        return [tuple(chunks[:: self.step])]


class TitlesMode(ModeSettings):
    kind: str = "titles"
    pipeline: str = "my_plugins.TitlesPipeline"
    instruction: str = "Title this"


class TitlesPipeline:
    stats_type: ClassVar[type[RunStats]] = RunStats

    def __init__(self, settings: Settings, out_dir: Path, stats: RunStats) -> None:
        self.settings, self.out_dir, self.stats = settings, out_dir, stats
        self.mode = require_class(settings.mode, TitlesMode, "mode")

    def plan(self) -> list[Chunk]:
        chunks = list(as_loader(self.settings.loader).chunks(self.settings.source))
        by_id = {chunk.id: chunk for chunk in chunks}
        samples = select_samples(chunks, self.settings.strategy)
        return [by_id[chunk_id] for sample in samples for chunk_id in sample.chunk_ids]

    def estimate(self, plan: list[Chunk]) -> list[Any]:
        return []

    async def run(self, plan: list[Chunk], client: Any) -> None:
        with (self.out_dir / "titles.jsonl").open("w") as file:
            for chunk in plan:
                message = {"role": "user", "content": f"{self.mode.instruction}: {chunk.text}"}
                title = await client.text([message], stage="title")
                file.write(json.dumps({"chunk": chunk.id, "title": title}) + "\\n")
                self.stats.units += 1
                self.stats.produced["titles"] += 1

    @staticmethod
    def merge_shards(runs: list[Path], out: Path, stats: dict[str, Any], config: Any) -> None:
        raise NotImplementedError
'''

PART = "# Part {n}\n\nPart {n} says the pump number {n} runs at night and rests at noon."
NOTES = "".join(PART.format(n=n) + "\n\n" for n in range(4))


def user_repo(root: Path) -> Path:
    """A config repo with a `titles` mode and an `every_nth` strategy, and the package that defines them."""
    (root / "plugins").mkdir(parents=True)
    (root / "plugins" / "my_plugins.py").write_text(PLUGINS)
    (root / "conf" / "mode").mkdir(parents=True)
    (root / "conf" / "mode" / "titles.yaml").write_text("_target_: my_plugins.TitlesMode\ninstruction: Name it\n")
    (root / "conf" / "strategy").mkdir()
    (root / "conf" / "strategy" / "every_nth.yaml").write_text("_target_: my_plugins.EveryNth\nstep: 2\n")
    (root / "notes.md").write_text(NOTES)
    return root


def synthgen(repo: Path, server: FakeOpenAI, *overrides: str) -> tuple[int, str]:
    """A CLI run in `repo` with its config dir and plugins, on the fake server into `repo/out`: (exit code, stderr)."""
    result = run_cli(
        "--config-dir",
        "conf",
        "model=openai_compatible",
        f"model.api_base={server.url}",
        "model.retries=0",
        "source=notes.md",
        "loader.min_chunk_size=10",
        "report=false",
        "hydra.run.dir=out",
        *overrides,
        cwd=repo,
        env={"PYTHONPATH": os.pathsep.join([str(repo / "plugins"), os.environ.get("PYTHONPATH", "")])},
    )
    return result.returncode, result.stderr


def test_a_users_mode_and_strategy_run_through_the_cli(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    repo = user_repo(tmp_path / "my-datasets")
    code, stderr = synthgen(repo, fake_openai, "mode=titles", "strategy=every_nth")
    assert code == 0, stderr
    titles = read_jsonl(repo / "out" / "titles.jsonl")
    assert [row["title"] for row in titles] == ["ok", "ok"]  # the fake server's reply, one call per chunk kept
    sent = [last_user_text(request) for request in fake_openai.requests]
    assert sent == [f"Name it: {PART.format(n=n)}" for n in (0, 2)]  # every second chunk
    stats = json.loads((repo / "out" / "stats.json").read_text())
    assert (stats["status"], stats["mode"], stats["produced"]) == ("completed", "titles", {"titles": 2})


def test_a_users_strategy_drives_a_bundled_mode(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.responder = questions_with_latency(0)
    repo = user_repo(tmp_path / "my-datasets")
    code, stderr = synthgen(repo, fake_openai, "strategy=every_nth", "strategy.step=3", "mode.num_queries_per_chunk=1")
    assert code == 0, stderr
    [dataset] = read_jsonl(repo / "out" / "datasets.jsonl")
    headers = [turn["agentic"]["header_path"] for turn in dataset["conversation"]]
    assert headers == ["Part 0", "Part 3"]  # chunks 0 and 3 of 4


def test_a_misspelt_setting_of_a_users_mode_is_one_line_naming_it(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    repo = user_repo(tmp_path / "my-datasets")
    code, stderr = synthgen(repo, fake_openai, "mode=titles", "+mode.instructoin=x")
    [error] = [line for line in stderr.splitlines() if line.startswith("synthgen: error:")]
    assert code == 2 and "mode.instructoin: Extra inputs are not permitted" in error and "Traceback" not in stderr
    assert fake_openai.requests == []
