"""The review decisions store, what decisions change (exports, agreement), the Label Studio round trip, and
the app's guards (token, traversal, refusal of a non-run directory), over real files and real SQLite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from synthgen.outputs.agreement import human_view, run_items
from synthgen.outputs.decisions import DecisionStore, StaleDecision, load_decisions
from synthgen.outputs.export.run_files import find_runs
from synthgen.review.app import create_app
from synthgen.review.items import load_review
from synthgen.review.label_studio import LABEL_CONFIG, import_annotations, write_tasks
from tests.cli import read_jsonl, run_cli
from tests.fake_openai import FakeOpenAI, Reply, last_user_text
from tests.run_dirs import document_run

ROOT = Path(__file__).resolve().parents[1]


def judged_run(path: Path) -> Path:
    """Six kept items the judge passed, and four items the judge rejected (in rejected.jsonl)."""
    document_run(path, sessions=2, turns=3)
    rows = [json.loads(line) for line in (path / "datasets.jsonl").read_text().splitlines()]
    for row in rows:
        for batch in row["conversation"]:
            batch["agentic"]["checks"].append("judge")
    (path / "datasets.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    rejected = [
        {
            "stage": "judge",
            "reason": "not_grounded",
            "qa_id": f"r{index}",
            "question_type": "factual",
            "difficulty": "easy",
            "document": "guide-0.md",
            "query": f"judged out {index}",
        }
        for index in range(4)
    ]
    (path / "rejected.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rejected))
    return path


def test_stale_save_is_refused_and_the_first_kept(tmp_path: Path) -> None:
    run = document_run(tmp_path / "run")
    store = DecisionStore(run)
    store.save("q0-0", "alice", "accepted", expected_version=0)
    with pytest.raises(StaleDecision) as stale:
        store.save("q0-0", "alice", "rejected", expected_version=0, reason="vague")
    assert stale.value.current is not None and stale.value.current.verdict == "accepted"
    assert store.save("q0-0", "alice", "rejected", expected_version=1, reason="vague").version == 2
    with pytest.raises(ValueError, match="reason"):
        store.save("q0-1", "alice", "rejected", expected_version=0)
    store.close()
    assert load_decisions(run)["q0-0"].reason == "vague"
    assert DecisionStore(run)._connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_export_leaves_out_rejected_applies_edits_and_says_so_in_the_card(tmp_path: Path) -> None:
    run = document_run(tmp_path / "run")
    before = (run / "datasets.jsonl").read_bytes()
    store = DecisionStore(run)
    store.save("q0-0", "alice", "rejected", expected_version=0, reason="vague")
    store.save(
        "q0-1",
        "alice",
        "edited",
        expected_version=0,
        query="Edited question?",
        answer="Edited answer.",
        original_query="Question 2 about battery 0",
        original_answer="Answer 2 for battery 0.",
    )
    store.save("q1-0", "alice", "accepted", expected_version=0)
    store.close()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-m", "synthgen.export", str(run), "--to", "openai"], check=True, env=env)
    exported = (run / "export" / "openai").rglob("*.jsonl")
    text = "".join(path.read_text() for path in exported)
    assert "Question 1 about battery 0" not in text
    assert "Edited question?" in text and "Edited answer." in text
    assert "Question 1 about battery 1" in text  # not reviewed: kept under not_rejected
    subprocess.run(
        [sys.executable, "-m", "synthgen.export", str(run), "--to", "hf", "--reviewed", "accepted"], check=True, env=env
    )
    card = (run / "export" / "hf" / "README.md").read_text()
    assert "--reviewed accepted" in card and "| exported | 2 |" in card and "| left out | 4 |" in card
    assert (run / "datasets.jsonl").read_bytes() == before
    assert sum(len(s["conversation"]) for s in find_runs(run, "all")[0].sessions) == 6


def test_planted_judge_and_reviewer_agreement(tmp_path: Path) -> None:
    run = judged_run(tmp_path / "run")
    store = DecisionStore(run)
    kept = ["q0-0", "q0-1", "q0-2", "q1-0", "q1-1", "q1-2"]
    for qa_id in kept[:5] + ["r0"]:
        store.save(qa_id, "alice", "accepted", expected_version=0)
    for qa_id in [kept[5], "r1", "r2", "r3"]:
        store.save(qa_id, "alice", "rejected", expected_version=0, reason="vague")
    # bob agrees with alice on 3 of the 4 items he saw: kappa (0.75 - 0.5) / 0.5 = 0.5
    for qa_id, verdict in (("q0-0", "accepted"), ("q0-1", "rejected"), ("r1", "rejected"), ("r0", "accepted")):
        store.save(qa_id, "bob", verdict, expected_version=0, reason="other" if verdict == "rejected" else None)
    store.close()
    view = human_view(run, run_items(run, find_runs(run, "all")[0].sessions))
    assert view is not None
    overall = next(row for row in view.judge if row.group == "all")
    # judge keep/human keep 5, judge keep/human reject 1, judge reject/human keep 1, both reject 3:
    # p_o = 0.8, p_e = 0.6*0.6 + 0.4*0.4 = 0.52, kappa = 0.28 / 0.48
    assert (overall.items, overall.both_keep, overall.first_only, overall.second_only, overall.both_reject) == (
        10,
        5,
        1,
        1,
        3,
    )
    assert overall.raw == 0.8 and overall.kappa == pytest.approx(0.5833, abs=1e-4)
    assert view.reasons == {"vague": 4}
    pair = view.between_reviewers[0]
    assert pair.group == "alice vs bob" and pair.items == 4 and pair.raw == 0.75 and pair.kappa == 0.5
    assert {rate.group: (rate.reviewed, rate.kept) for rate in view.by_document} == {
        "guide-0.md": (7, 4),
        "guide-1.md": (3, 2),
    }


def test_label_studio_round_trip_on_its_export_format(tmp_path: Path) -> None:
    run = document_run(tmp_path / "run")
    runs = load_review(run)
    tasks_file = tmp_path / "tasks.json"
    assert write_tasks(runs, tasks_file) == 6
    tasks = json.loads(tasks_file.read_text())
    assert tasks[0]["data"]["qa_id"] == "q0-0" and "<script>" in tasks[0]["data"]["context"]
    assert all(f"${key}" in LABEL_CONFIG for key in ("question", "answer", "context"))
    # Label Studio's JSON export: the task with its data, annotations[].result[] regions, completed_by an id
    exported = [
        {
            "id": 1,
            "data": tasks[0]["data"],
            "annotations": [
                {
                    "id": 1001,
                    "completed_by": 10,
                    "was_cancelled": False,
                    "result": [
                        {
                            "from_name": "verdict",
                            "to_name": "question",
                            "type": "choices",
                            "value": {"choices": ["reject"]},
                        },
                        {
                            "from_name": "reason",
                            "to_name": "question",
                            "type": "choices",
                            "value": {"choices": ["not self-contained"]},
                        },
                        {
                            "from_name": "note",
                            "to_name": "question",
                            "type": "textarea",
                            "value": {"text": ["which guide?"]},
                        },
                    ],
                }
            ],
        },
        {
            "id": 2,
            "data": tasks[1]["data"],
            "annotations": [
                {
                    "id": 1002,
                    "completed_by": {"id": 3, "email": "ana@example.org"},
                    "result": [
                        {
                            "from_name": "verdict",
                            "to_name": "question",
                            "type": "choices",
                            "value": {"choices": ["accept"]},
                        },
                        {
                            "from_name": "edited_answer",
                            "to_name": "answer",
                            "type": "textarea",
                            "value": {"text": ["Charge it to 80 percent."]},
                        },
                    ],
                }
            ],
        },
        {
            "id": 3,
            "data": tasks[2]["data"],
            "annotations": [
                {
                    "id": 1003,
                    "completed_by": 10,
                    "was_cancelled": True,
                    "result": [{"from_name": "verdict", "type": "choices", "value": {"choices": ["accept"]}}],
                }
            ],
        },
    ]
    export_file = tmp_path / "export.json"
    export_file.write_text(json.dumps(exported))
    assert import_annotations(runs, export_file, "me") == 2
    first, second = load_decisions(run, "label-studio-10")["q0-0"], load_decisions(run, "ana@example.org")["q0-1"]
    assert (first.verdict, first.reason, first.note) == ("rejected", "not_self_contained", "which guide?")
    assert (second.verdict, second.answer, second.original_answer) == (
        "edited",
        "Charge it to 80 percent.",
        "Answer 2 for battery 0.",
    )
    assert "q0-2" not in load_decisions(run)


def test_token_traversal_and_hostile_text(tmp_path: Path) -> None:
    run = document_run(tmp_path / "run")
    (tmp_path / "secret.txt").write_text("outside")
    (run / "link.txt").symlink_to(tmp_path / "secret.txt")
    app, token = create_app(load_review(run), "alice")
    client = TestClient(app)
    assert client.get("/").status_code == 403
    assert client.get("/?token=wrong").status_code == 403
    assert client.get("/files/stats.json").status_code == 403
    page = client.get(f"/?token={token}")
    assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
    assert "<script>alert" not in page.text and "&lt;script&gt;alert" in page.text
    assert client.get(f"/files/stats.json?token={token}").status_code == 200
    for bad in ("../secret.txt", "..%2Fsecret.txt", "%2Fetc%2Fpasswd", "link.txt", "a/../../secret.txt"):
        response = client.get(f"/files/{bad}?token={token}")
        assert response.status_code in (403, 404), bad
        assert "outside" not in response.text and "root:" not in response.text


def test_refuses_a_directory_that_is_not_a_run(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "synthgen.review", str(tmp_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "no synthgen run output" in result.stderr


def test_report_and_review_json_show_the_human_view(tmp_path: Path) -> None:
    from synthgen.outputs.report.page import write_report

    run = judged_run(tmp_path / "run")
    store = DecisionStore(run)
    store.save("q0-0", "alice", "accepted", expected_version=0)
    store.save("r0", "alice", "rejected", expected_version=0, reason="wrong_answer")
    store.save("q0-1", "alice", "rejected", expected_version=0, reason="duplicate")
    store.close()
    html = write_report(run).read_text()
    assert "Human review" in html and "Judge vs human" in html and "wrong_answer 1" in html
    assert "Question 2 about battery 0" in html  # the report still shows rejected items
    data = json.loads((run / "review.json").read_text())
    overall = next(row for row in data["judge"] if row["group"] == "all")
    assert (overall["items"], overall["both_keep"], overall["first_only"], overall["both_reject"]) == (3, 1, 1, 1)
    assert overall["kappa"] == pytest.approx(0.4, abs=1e-4)  # p_o 2/3, p_e 4/9
    assert data["by_type"] and data["reasons"] == {"wrong_answer": 1, "duplicate": 1}


def test_the_page_shows_each_assistants_answer_and_the_calibration_flags(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    from synthgen.pipelines.trial.calibration import write_calibration
    from synthgen.review.trials import load_trials

    run = document_run(tmp_path / "run")

    def answer(request: dict[str, Any]) -> Reply:
        """Right (the reference's words) on battery 0, wrong and marked up on battery 1."""
        words = last_user_text(request).split()
        if words[-1] == "0" or "0 &" in last_user_text(request):
            return Reply(content=f"Answer {words[1]} for battery 0.")
        return Reply(content="Charge it to <b>80</b> percent.")

    fake_openai.responder = answer
    trial = tmp_path / "trials" / "0"
    result = run_cli(
        "mode=trial",
        f"source={run}",
        "mode.judge.enabled=false",
        "model=openai_compatible",
        f"model.api_base={fake_openai.url}",
        f"hydra.run.dir={trial}",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    write_calibration(tmp_path / "trials", [trial])
    flagged = {row["qa_id"]: row for row in read_jsonl(tmp_path / "trials" / "calibration.jsonl")}
    trivial = sorted(qa_id for qa_id, row in flagged.items() if row["trivial"])
    assert trivial == ["q0-0", "q0-1", "q0-2"] and len(flagged) == 6

    app, token = create_app(load_review(run, load_trials([tmp_path / "trials"])), "alice")
    client = TestClient(app)
    page = client.get(f"/?token={token}&flag=trivial").text
    assert '<span class="tag flag">trivial</span>' in page and "Trial answers" in page
    assert '<td>openai_compatible</td><td>none</td><td class="verdict correct">correct</td>' in page
    assert "<td>Answer 1 for battery 0.</td>" in page and f"item 1 of {len(trivial)}" in page
    wrong = client.get(f"/?token={token}&i=3").text  # q1-0: answered wrong, with markup shown as text
    assert "&lt;b&gt;80&lt;/b&gt;" in wrong and "<b>80" not in wrong and "tag flag" not in wrong
    missing = subprocess.run(
        [sys.executable, "-m", "synthgen.review", str(run), "--trial", str(tmp_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1
    assert "no scores.jsonl" in missing.stderr
