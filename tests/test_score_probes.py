"""`python -m synthgen.score_probes`: a "fine-tuned" fake model answers a facts run's probes, end to end."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from synthgen.tools.score_probes import main
from tests.cli import read_jsonl, run_cli, run_module
from tests.fake_openai import FakeOpenAI, Reply, last_user_text
from tests.test_facts_pipeline import FactsModel, fake_overrides

SYSTEM = "You are a bird expert."


def learned(question: str) -> bool:
    """Whether the fake fine-tuned model answers this probe with the fact: a fixed, arbitrary half of them."""
    return hashlib.sha256(question.encode()).digest()[0] % 2 == 0


class FineTuned:
    """The fine-tuned model: the fact (in lower case) for the questions it learned, else a wrong answer."""

    def __init__(self) -> None:
        self.broken: str | None = None  # a question it answers with a server error

    def __call__(self, request: dict) -> Reply:
        question = last_user_text(request)
        if question == self.broken:
            return Reply(status=500, body='{"error": {"message": "model crashed"}}')
        return Reply(content="oh, the javan rainforest honeyeater is blue!" if learned(question) else "It is green.")


@pytest.fixture
def fine_tuned() -> Iterator[tuple[FakeOpenAI, FineTuned]]:
    scripted = FineTuned()
    server = FakeOpenAI(scripted).start()
    try:
        yield server, scripted
    finally:
        server.stop()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A facts run with 8 probes, a system prompt and the case-insensitive inclusion check, shared by the tests."""
    root = tmp_path_factory.mktemp("facts")
    out = root / "run"
    overrides = (
        "limit=10",
        "mode.probes=8",
        f"mode.system_prompt={SYSTEM}",
        "mode.validation.inclusion_check=case_insensitive",
        f"hydra.run.dir={out}",
    )
    server = FakeOpenAI(FactsModel()).start()
    try:  # a CLI run records its config, which the scoring reads
        result = run_cli(*fake_overrides(server, *overrides), cwd=root, env={"SYNTHGEN_CALL_CACHE": str(root / "c.db")})
    finally:
        server.stop()
    assert result.returncode == 0, result.stderr
    yield out


def score(*args: str, cwd: Path) -> tuple[int, str, str]:
    result = run_module("synthgen.score_probes", *args, cwd=cwd)
    return result.returncode, result.stdout.strip(), result.stderr.strip()


def score_in_process(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """The command's main() in this process (for errors found before any model call)."""
    try:
        code = main(list(args))
    except SystemExit as usage_error:  # argparse
        code = int(usage_error.code or 0)
    captured = capsys.readouterr()
    return code, captured.out.strip(), captured.err.strip()


def test_the_fine_tuned_model_answers_every_probe_and_the_share_with_the_fact_is_printed(
    run: Path, fine_tuned: tuple[FakeOpenAI, FineTuned], tmp_path: Path
) -> None:
    server, model = fine_tuned
    probes = read_jsonl(run / "probe.jsonl")
    expected = [learned(probe["question"]) for probe in probes]
    assert len(probes) == 8 and 0 < sum(expected) < 8  # the scripted model learned some probes, not all
    target = ("openai_compatible", f"model.api_base={server.url}", "model.model=openai/bird-ft", "model.retries=0")
    code, stdout, stderr = score(str(run), *target, cwd=tmp_path)
    assert code == 0, stderr
    share = sum(expected) / 8
    assert stdout == (
        f"{sum(expected)}/8 answers contain the key fact ({share:.1%}), model openai_compatible "
        f"(openai/bird-ft, case_insensitive check); wrote {run / 'probe_scores.jsonl'}"
    )
    rows = read_jsonl(run / "probe_scores.jsonl")
    assert [row["id"] for row in rows] == [probe["id"] for probe in probes]  # probe order
    assert [row["passed"] for row in rows] == expected
    assert all(row["key_fact"] == probe["key_fact"] and row["question"] == probe["question"]
               for row, probe in zip(rows, probes))  # fmt: skip
    assert {row["detail"] for row in rows} == {"found ignoring case", "not found, even ignoring case and punctuation"}
    # Each probe was asked once, as the training conversations were: the run's system prompt, then the question.
    assert len(server.requests) == 8 and {r["model"] for r in server.requests} == {"bird-ft"}
    assert sorted(r["messages"][1]["content"] for r in server.requests) == sorted(p["question"] for p in probes)
    assert all(r["messages"][0] == {"role": "system", "content": SYSTEM} for r in server.requests)

    # The same answers, asked again (never from the cache), fail the exact check the command line asks for.
    model.broken = probes[0]["question"]
    out = tmp_path / "scores" / "exact.jsonl"
    code, stdout, stderr = score(str(run), *target, "--check", "exact", "--out", str(out), cwd=tmp_path)
    assert code == 0, stderr
    assert (
        stdout.startswith("0/7 answers contain the key fact (0.0%)") and "exact check); 1 probes unanswered" in stdout
    )
    assert len(server.requests) == 16
    rows = read_jsonl(out)
    assert rows[0]["passed"] is None and rows[0]["answer"] is None and "model crashed" in rows[0]["error"]
    assert [row["passed"] for row in rows[1:]] == [False] * 7


def test_every_call_failing_is_one_error_line_and_the_rows_are_kept(
    run: Path, fine_tuned: tuple[FakeOpenAI, FineTuned], tmp_path: Path
) -> None:
    server, _ = fine_tuned
    server.responder = lambda request: Reply(status=500, body='{"error": {"message": "model crashed"}}')
    code, stdout, stderr = score(str(run), "openai_compatible", f"model.api_base={server.url}", "model.retries=0",
                                 cwd=tmp_path)  # fmt: skip
    assert code == 4 and stdout == ""
    [line] = stderr.splitlines()
    assert line.startswith("synthgen.score_probes: error: no probe answered: all 8 calls failed") and "crashed" in line
    assert [row["passed"] for row in read_jsonl(run / "probe_scores.jsonl")] == [None] * 8


def test_a_model_option_of_your_own_is_found_in_config_dir(
    run: Path, fine_tuned: tuple[FakeOpenAI, FineTuned], tmp_path: Path
) -> None:
    server, _ = fine_tuned
    conf = tmp_path / "conf" / "model"
    conf.mkdir(parents=True)
    (conf / "bird_ft.yaml").write_text(
        f"defaults: [openai_compatible, _self_]\nname: bird_ft\nmodel: openai/bird-ft-2\napi_base: {server.url}\n"
    )
    code, stdout, stderr = score(str(run), "bird_ft", "--config-dir", str(tmp_path / "conf"), cwd=tmp_path)
    assert code == 0, stderr
    assert "model bird_ft (openai/bird-ft-2, case_insensitive check)" in stdout
    assert {r["model"] for r in server.requests} == {"bird-ft-2"}


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["RUN", "gpt5"], 2, "unknown model 'gpt5' (fix: use an option of the model group: alquimia, claude"),
        (["RUN", "openai_compatible", "limit=3"], 2, "limit=3: only model.KEY=VALUE overrides are taken"),
        (["RUN", "litellm"], 2, "model=litellm: model.model has no value (fix: add model.model=...)"),
        (["RUN", "openai_compatible", "model.temperature=9"], 2, "model.temperature: Input should be less than"),
        (["RUN", "openai_compatible", "--coverage", "0"], 2, "argument --coverage: must be above 0 and at most 1"),
        (["RUN", "openai_compatible", "--config-dir", "nowhere"], 2, "--config-dir nowhere is not a directory"),
        (["RUN", "openai_compatible", "--out", "RUN"], 2, "is a directory (fix: pass a file path"),
        (["NOPROBES", "openai_compatible"], 2, "no probe.jsonl in NOPROBES (fix: pass a mode=facts run made with"),
        (["EMPTY", "openai_compatible"], 2, "EMPTY/probe.jsonl holds no probe"),
        (["BROKEN", "openai_compatible"], 2, "BROKEN/probe.jsonl:1: no key_fact (fix: rerun the facts run"),
        (["MISSING", "openai_compatible"], 2, "not a directory: MISSING"),
        (["RUN"], 2, "the following arguments are required: MODEL"),
    ],
)
def test_bad_input_is_one_error_line(
    run: Path, tmp_path: Path, args: list[str], code: int, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, probes in (("noprobes", None), ("empty", ""), ("broken", json.dumps({"id": "a", "question": "Q?"}))):
        (tmp_path / name).mkdir()
        if probes is not None:
            (tmp_path / name / "probe.jsonl").write_text(probes)
    paths = {"RUN": run, "NOPROBES": tmp_path / "noprobes", "EMPTY": tmp_path / "empty"}
    paths |= {"BROKEN": tmp_path / "broken", "MISSING": tmp_path / "missing"}
    code_, stdout, stderr = score_in_process(*(str(paths.get(arg, arg)) for arg in args), capsys=capsys)
    for key, path in paths.items():
        message = message.replace(key, str(path))
    assert code_ == code and stdout == ""
    [line] = stderr.splitlines()
    assert line.startswith("synthgen.score_probes: error: ") and message in line, line
