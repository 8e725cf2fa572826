"""mode=trial end to end: fake assistants and a fake judge on 127.0.0.1, the real CLI, real files and cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli import read_jsonl, run_cli
from tests.fake_assistant import FakeAssistant, dataset, turn, write_source
from tests.fake_openai import FakeOpenAI, Reply, last_user_text

CAPITALS = [
    ("q1", "What is the capital of France?", "Paris is the capital of France."),
    ("q2", "What is the capital of Italy?", "Rome is the capital of Italy."),
    ("q3", "What is the capital of Spain?", "Madrid is the capital of Spain."),
]


def capitals_source(tmp_path: Path) -> Path:
    records = [dataset(f"s-{qa_id}", turn(qa_id, query, reference)) for qa_id, query, reference in CAPITALS]
    records.append(
        dataset("s-oos", turn("q4", "What is the capital of Mars?", "The documentation does not say.", "out_of_scope"))
    )
    return write_source(tmp_path / "set.jsonl", records)


def scripted_assistant(request: dict[str, Any]) -> Reply:
    """Right on France, wrong on Italy, refuses Spain and Mars."""
    question = last_user_text(request)
    if "France" in question:
        return Reply(content="Paris is the capital of France.")
    if "Italy" in question:
        return Reply(content="Milan, I believe.")
    return Reply(content="I don't know: the documentation does not say.")


def base_args(server: FakeOpenAI, source: Path, tmp_path: Path, *extra: str) -> list[str]:
    return [
        "mode=trial",
        f"source={source}",
        "model=openai_compatible",
        f"model.api_base={server.url}",
        "model.structured_output=json_schema",
        f"hydra.run.dir={tmp_path / 'run'}",
        *extra,
    ]


def test_deterministic_trial_scores_right_wrong_and_refusing_answers(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.responder = scripted_assistant
    args = base_args(fake_openai, capitals_source(tmp_path), tmp_path, "mode.judge.enabled=false")
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "run"
    scores = {row["qa_id"]: row for row in read_jsonl(out / "scores.jsonl")}
    assert {qa: row["verdict"] for qa, row in scores.items()} == {
        "q1": "correct",
        "q2": "incorrect",
        "q3": "refused",
        "q4": "correct",  # out_of_scope: the refusal is the right answer
    }
    assert scores["q1"]["exact_match"] is True and scores["q2"]["f1"] < 0.5
    summary = json.loads((out / "trial.json").read_text())
    assert summary["scoring"].startswith("deterministic, no judge")
    assert summary["accuracy"]["successes"] == 2 and summary["accuracy"]["total"] == 4
    assert summary["refusal_rate_out_of_scope"]["rate"] == 1.0
    assert summary["latency_seconds"]["calls"] == 4 and summary["latency_seconds"]["p50"] > 0
    answered = {t["qa_id"]: t for d in read_jsonl(out / "datasets.jsonl") for t in d["conversation"]}
    assert answered["q2"]["assistant"] == "Milan, I believe."
    assert answered["q2"]["agentic"]["assistant_id"] == "openai_compatible"

    requests = len(fake_openai.requests)
    rerun = run_cli(*args, cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert len(fake_openai.requests) == requests  # every answer replays from the cache
    again = json.loads((out / "trial.json").read_text())
    assert again["accuracy"] == summary["accuracy"] and again["latency_seconds"]["from_cache"] == 4


def judge_config(tmp_path: Path, judge: FakeOpenAI) -> Path:
    conf = tmp_path / "conf" / "model"
    conf.mkdir(parents=True)
    (conf / "fake_judge.yaml").write_text(
        f"defaults: [openai_compatible, _self_]\nname: fake_judge\napi_base: {judge.url}\n"
        "structured_output: json_schema\n"
    )
    return tmp_path / "conf"


def test_the_judge_scores_each_answer_type_aware(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.responder = scripted_assistant
    judge = FakeOpenAI().start()
    try:
        verdicts = {"Paris": "correct", "Milan": "partial", "Madrid": "refused", "Mars": "correct"}

        def grade(request: dict[str, Any]) -> Reply:
            prompt = last_user_text(request)
            key = next(word for word in ("Mars", "Paris", "Milan", "Madrid") if word in prompt)
            refused = "I don't know" in prompt.split("<answer>")[1]
            body = {"reason": f"graded {key}", "verdict": verdicts[key], "refused": refused, "score": 0.5}
            return Reply(content=json.dumps(body))

        judge.responder = grade
        args = base_args(
            fake_openai,
            capitals_source(tmp_path),
            tmp_path,
            "mode.judge.model=fake_judge",
            "--config-dir",
            str(judge_config(tmp_path, judge)),
        )
        result = run_cli(*args, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        prompts = [last_user_text(request) for request in judge.requests]
    finally:
        judge.stop()
    out = tmp_path / "run"
    scores = {row["qa_id"]: row for row in read_jsonl(out / "scores.jsonl")}
    assert [scores[qa]["verdict"] for qa in ("q1", "q2", "q3", "q4")] == ["correct", "partial", "refused", "correct"]
    assert scores["q2"]["reason"] == "graded Milan" and scores["q2"]["scoring"] == "judge"
    assert len(prompts) == 4
    [mars] = [prompt for prompt in prompts if "Mars" in prompt]
    assert "NOT answered by the documentation" in mars  # the out_of_scope instructions
    assert "<reference_answer>\nRome is the capital of Italy." in next(p for p in prompts if "Milan" in p)
    summary = json.loads((out / "trial.json").read_text())
    assert summary["judge"] == "fake_judge" and summary["accuracy"]["successes"] == 2
    assert set(summary["by_type"]) == {"factual", "out_of_scope"}


def test_a_conversation_is_answered_in_order_in_one_session_with_its_own_history(tmp_path: Path) -> None:
    def answer(body: dict[str, Any]) -> tuple[int, str, float]:
        return 200, f"answer {len(body['history']) // 2 + 1} to {body['question']}", 0.0

    assistant = FakeAssistant(answer).start()
    try:
        source = write_source(
            tmp_path / "set.jsonl",
            [
                dataset(
                    "conv",
                    *(turn(f"t{i}", f'Question {i} with "quotes" and {{braces}}?', f"ref {i}") for i in (1, 2, 3)),
                )
            ],
        )
        result = run_cli(
            "mode=trial",
            f"source={source}",
            "mode.judge.enabled=false",
            "mode.context=reference",
            "model=http",
            f"model.url={assistant.url}",
            'model.body=\'{"question": "{{ query }}", "session": "{{ session_id }}", "history": {{ history }}, '
            '"docs": "{{ context }}"}\'',
            "model.answer_path=data.reply.text",
            "+model.headers.X-Token=TRIAL_ASSISTANT_TOKEN",
            f"hydra.run.dir={tmp_path / 'run'}",
            cwd=tmp_path,
            env={"TRIAL_ASSISTANT_TOKEN": "sekret-header-value"},
        )
        assert result.returncode == 0, result.stderr
    finally:
        assistant.stop()
    bodies = assistant.requests
    assert [body["question"] for body in bodies] == [f'Question {i} with "quotes" and {{braces}}?' for i in (1, 2, 3)]
    assert len({body["session"] for body in bodies}) == 1  # one session
    assert bodies[2]["history"] == [
        {"role": "user", "content": bodies[0]["question"]},
        {"role": "assistant", "content": f"answer 1 to {bodies[0]['question']}"},
        {"role": "user", "content": bodies[1]["question"]},
        {"role": "assistant", "content": f"answer 2 to {bodies[1]['question']}"},
    ]  # the assistant's own answers, not the references
    assert "The context." in bodies[0]["docs"]
    assert all(headers["X-Token"] == "sekret-header-value" for headers in assistant.headers)
    out = tmp_path / "run"
    [written] = read_jsonl(out / "datasets.jsonl")
    assert [t["assistant"] for t in written["conversation"]][2].startswith("answer 3 to")
    for path in out.rglob("*"):
        if path.is_file():
            assert "sekret-header-value" not in path.read_text(errors="replace"), path


def test_failing_and_slow_assistants_are_recorded_failures(tmp_path: Path) -> None:
    def answer(body: dict[str, Any]) -> tuple[int, str, float]:
        if "fail" in body["query"]:
            return 400, "bad request", 0.0
        if "slow" in body["query"]:
            return 200, "late", 5.0
        return 200, "Paris is the capital of France.", 0.0

    assistant = FakeAssistant(answer).start()
    try:
        source = write_source(
            tmp_path / "set.jsonl",
            [
                dataset("ok", turn("a", "France?", "Paris is the capital of France.")),
                dataset("bad", turn("b", "please fail", "x")),
                dataset("slow", turn("c", "be slow", "x")),
            ],
        )
        result = run_cli(
            "mode=trial",
            f"source={source}",
            "mode.judge.enabled=false",
            "model=http",
            f"model.url={assistant.url}",
            "model.answer_path=data.reply.text",
            "model.timeout=0.5",
            "model.retries=0",
            "max_failure_rate=1",
            f"hydra.run.dir={tmp_path / 'run'}",
            cwd=tmp_path,
        )
    finally:
        assistant.stop()
    assert result.returncode == 0, result.stderr
    out = tmp_path / "run"
    failures = {row["qa_id"]: row for row in read_jsonl(out / "failures.jsonl")}
    assert set(failures) == {"b", "c"} and "HTTP 400" in failures["b"]["error"]
    assert [row["qa_id"] for row in read_jsonl(out / "scores.jsonl")] == ["a"]
    assert [d["session_id"] for d in read_jsonl(out / "datasets.jsonl")] == ["ok"]


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: (p / "records.jsonl").write_text("{}\n") and p, "is a facts-mode run"),
        (lambda p: (p / "x.jsonl").write_text("not json\n") and p / "x.jsonl", "line 1 is not JSON"),
        (
            lambda p: (
                (p / "y.jsonl").write_text(json.dumps({**dataset("s"), "conversation": None}) + "\n") and p / "y.jsonl"
            ),
            "line 1 is not a Fair-Forge Dataset record (conversation",
        ),
        (
            lambda p: (
                (p / "z.jsonl").write_text("".join(json.dumps({"session_id": "s"}) + "\n" for _ in range(3)))
                and p / "z.jsonl"
            ),
            "3 bad records in all",
        ),
    ],
)
def test_bad_sources_are_one_line(tmp_path: Path, make: Any, expected: str) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    source = make(folder)
    result = run_cli("mode=trial", f"source={source}", "mode.judge.enabled=false", "model=gpt41_mini", cwd=tmp_path)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("synthgen: error: the source") and expected in line, line
    assert "fix:" in line


def test_the_judge_is_required_unless_disabled(tmp_path: Path) -> None:
    source = capitals_source(tmp_path)
    result = run_cli("mode=trial", f"source={source}", "model=gpt41_mini", cwd=tmp_path)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "mode.judge.enabled=false" in line and "mode.judge.model" in line


def test_the_answered_set_is_a_valid_fair_forge_dataset(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    common = pytest.importorskip("fair_forge.schemas.common", reason="the export-check extra is not installed")
    fake_openai.responder = scripted_assistant
    args = base_args(fake_openai, capitals_source(tmp_path), tmp_path, "mode.judge.enabled=false")
    assert run_cli(*args, cwd=tmp_path).returncode == 0
    rows = read_jsonl(tmp_path / "run" / "datasets.jsonl")
    assert len(rows) == 4
    datasets = [common.Dataset.model_validate(record) for record in rows]
    for parsed in datasets:
        assert parsed.assistant_id == "openai_compatible"
        assert all(batch.assistant for batch in parsed.conversation)

    from fair_forge.core.retriever import Retriever
    from fair_forge.metrics.humanity import Humanity

    class Answered(Retriever):  # type: ignore[misc]  # how a Fair-Forge user hands a set to its metrics
        def load_dataset(self) -> list[Any]:
            return datasets

    metrics = Humanity.run(Answered)  # a metric that needs no model: it reads assistant next to the reference
    assert {metric.qa_id for metric in metrics} == {"q1", "q2", "q3", "q4"}


def test_sigkill_halfway_and_a_rerun_repeat_no_finished_call(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from synthgen.models.cache import CallCache

    fake_openai.responder = lambda request: Reply(content="Paris.", delay=0.3)
    records = [
        dataset(f"s{i}", turn(f"q{i}a", f"Question {i}a?", "Paris."), turn(f"q{i}b", f"Question {i}b?", "Paris."))
        for i in range(6)
    ]
    source = write_source(tmp_path / "set.jsonl", records)
    cache = tmp_path / "calls.sqlite"
    args = base_args(
        fake_openai, source, tmp_path, "mode.judge.enabled=false", "model.max_concurrency=2", f"cache.path={cache}"
    )
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    process = subprocess.Popen(
        [sys.executable, "-m", "synthgen", *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while len(fake_openai.requests) < 5:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    finished = len(CallCache(cache, "use"))
    assert 0 < finished < 12
    first = len(fake_openai.requests)

    rerun = run_cli(*args, cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    stats = json.loads((tmp_path / "run" / "stats.json").read_text())
    assert stats["cache_hits"] == finished and stats["calls"] == len(fake_openai.requests) - first == 12 - finished
    assert len(read_jsonl(tmp_path / "run" / "scores.jsonl")) == 12


def test_the_report_shows_the_trial(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.responder = scripted_assistant
    args = base_args(fake_openai, capitals_source(tmp_path), tmp_path, "mode.judge.enabled=false")
    assert run_cli(*args, cwd=tmp_path).returncode == 0
    page = (tmp_path / "run" / "report.html").read_text()
    section = page.split('<section id="trial">')[1].split("</section>")[0]
    assert "Scoring: deterministic, no judge" in section
    assert '<td>accuracy</td><td>all items</td><td class="num">0.50</td><td>[0.15, 0.85]</td>' in section
    assert "<td>question type</td><td>out_of_scope</td>" in section


def test_an_alquimia_agent_answers_in_one_session_with_the_turns_agentic_data(tmp_path: Path) -> None:
    from tests.fake_alquimia import FakeAlquimia, Turn

    agent = FakeAlquimia(lambda request: Turn(answer=f"answer to {request.body['query']}"), api_key="k-trial").start()
    try:
        source = write_source(
            tmp_path / "set.jsonl",
            [dataset("conv", turn("t1", "First?", "ref 1", persona="p"), turn("t2", "Second?", "ref 2"))],
        )
        result = run_cli(
            "mode=trial",
            f"source={source}",
            "mode.judge.enabled=false",
            "model=alquimia",
            f"model.alquimia.base_url={agent.url}",
            "model.alquimia.agent_id=agent-7",
            "model.alquimia.channel_id=chan-3",
            f"hydra.run.dir={tmp_path / 'run'}",
            cwd=tmp_path,
            env={"ALQUIMIA_API_KEY": "k-trial"},
        )
        assert result.returncode == 0, result.stderr
        infers = agent.infers()
    finally:
        agent.stop()
    assert [infer.body["query"] for infer in infers] == ["First?", "Second?"]
    assert len({infer.body["session_id"] for infer in infers}) == 1  # one session: the agent keeps the history
    first = infers[0].body["extra_data"]
    assert first["question_type"] == "factual" and first["persona"] == "p" and "session_id" not in first
    [written] = read_jsonl(tmp_path / "run" / "datasets.jsonl")
    assert [t["assistant"] for t in written["conversation"]] == ["answer to First?", "answer to Second?"]
