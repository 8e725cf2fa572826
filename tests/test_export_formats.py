"""The export formats, written from run directories made in the test and read back with the real libraries."""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path
from typing import Any

# The evaluation libraries must not phone home from a test (they are only loaded here when installed).
os.environ["DEEPEVAL_TELEMETRY_OPT_OUT"] = "YES"
os.environ["RAGAS_DO_NOT_TRACK"] = "true"
os.environ["HF_HUB_OFFLINE"] = "1"

import datasets
import pytest
import yaml

from synthgen.core.errors import UserError
from synthgen.outputs.export import build_exporter
from synthgen.outputs.export.alpaca import AlpacaExporter
from synthgen.outputs.export.deepeval import DeepEvalExporter
from synthgen.outputs.export.hf import HuggingFaceExporter
from synthgen.outputs.export.hf_features import DOCUMENT_FEATURES, FACT_FEATURES
from synthgen.outputs.export.openai import OpenAIChatExporter
from synthgen.outputs.export.ragas import RagasExporter
from synthgen.outputs.export.run_files import AGENTIC_DEFAULTS
from synthgen.outputs.export.sharegpt import ShareGPTExporter
from synthgen.outputs.export.split import Split
from synthgen.outputs.export.text import TextExporter
from tests.run_dirs import SECRET_API_KEY, context_text, document_run, facts_run


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def card_header(card: Path) -> dict[str, Any]:
    _, header, _ = card.read_text(encoding="utf-8").split("---\n", 2)
    return yaml.safe_load(header)


# --- hf ---------------------------------------------------------------------------------------------------------


def test_hf_parquet_of_a_queries_run_and_an_older_conversation_run_load_together(tmp_path: Path) -> None:
    queries = document_run(tmp_path / "queries", mode="queries", schema="target")
    conversation = document_run(tmp_path / "conversation", mode="conversation", schema="legacy", answers=False)
    for run in (queries, conversation):
        HuggingFaceExporter().write(run)
    files = [str(run / "export/hf/documents/train.parquet") for run in (queries, conversation)]

    loaded = datasets.load_dataset("parquet", data_files=files, split="train", cache_dir=str(tmp_path / "cache"))

    assert loaded.features == DOCUMENT_FEATURES
    assert [row["run"] for row in loaded] == ["queries", "queries", "conversation", "conversation"]
    assert all(set(turn["agentic"]) == set(AGENTIC_DEFAULTS) for row in loaded for turn in row["conversation"])
    turns = {
        row["run"]: [turn["agentic"] for turn in row["conversation"]] for row in loaded if row["session_id"] == "s1"
    }
    assert [a["turn_number"] for a in turns["queries"]] == [None, None, None]
    assert [a["question_type"] for a in turns["queries"]] == ["reasoning", "procedural", "multi_hop"]
    assert turns["queries"][0]["evidence"] == [{"quote": "the battery stores energy", "chunk_id": "c1", "score": 0.97}]
    assert [a["turn_number"] for a in turns["conversation"]] == [1, 2, 3]
    assert [a["builds_on"] for a in turns["conversation"]] == [None, "q1-0", "q1-1"]
    assert turns["conversation"][0]["question_type"] is None and turns["conversation"][0]["evidence"] == []
    assert loaded[0]["context"] == context_text(0)


def test_hf_writes_an_arrow_copy_and_a_card_the_hub_can_read(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    document_run(sweep / "0", mode="queries")
    facts_run(sweep / "1", items=3)
    out = tmp_path / "out"

    written = HuggingFaceExporter(license="cc-by-4.0").write(sweep, out)

    assert written[-1] == out / "README.md"
    documents = datasets.load_from_disk(str(out / "arrow/documents"))
    facts = datasets.load_from_disk(str(out / "arrow/facts"))
    assert (len(documents), len(facts)) == (2, 3)
    assert facts.features == FACT_FEATURES
    assert facts[0]["messages"][0] == {"role": "system", "content": "You are helpful."}
    assert json.loads(facts[0]["validation"]) == {"inclusion": {"passed": True}}
    header = card_header(out / "README.md")
    assert header["pretty_name"] == "synthgen: sweep"
    assert header["language"] == ["en"]
    assert header["license"] == "cc-by-4.0"
    assert header["task_categories"] == ["question-answering", "text-generation"]
    assert header["size_categories"] == ["n<1K"]
    assert header["tags"] == ["synthetic", "synthgen"]
    assert [(c["config_name"], c["data_files"][0]["path"]) for c in header["configs"]] == [
        ("documents", "documents/train.parquet"),
        ("facts", "facts/train.parquet"),
    ]
    assert all((out / c["data_files"][0]["path"]).is_file() for c in header["configs"])
    body = (out / "README.md").read_text(encoding="utf-8")
    for expected in (
        "| 0 | queries | gpt41 | openai/gpt41-2025 | 6 | 6 |",
        "| chunk coverage | 75.0% |",
        "| cost (USD) | $0.0123 |",
        "| factual | 4 |",
        "kind: facts",
        "api_key: '[redacted]'",
    ):
        assert expected in body
    assert SECRET_API_KEY not in body


def test_hf_card_language_follows_the_rows_or_the_option(tmp_path: Path) -> None:
    run = document_run(tmp_path / "run")
    rows = read_jsonl(run / "datasets.jsonl")
    (run / "datasets.jsonl").write_text("".join(json.dumps({**r, "language": "German"}) + "\n" for r in rows))

    HuggingFaceExporter(save_to_disk=False).write(run)
    assert card_header(run / "export/hf/README.md")["language"] == ["de"]
    assert not (run / "export/hf/arrow").exists()
    HuggingFaceExporter(language=["de", "en"], save_to_disk=False).write(run)
    assert card_header(run / "export/hf/README.md")["language"] == ["de", "en"]


def test_hf_names_a_row_that_does_not_fit_the_schema(tmp_path: Path) -> None:
    run = document_run(tmp_path / "run")
    rows = (run / "datasets.jsonl").read_text().replace('"chunk_index": 1', '"chunk_index": "one"', 1)
    (run / "datasets.jsonl").write_text(rows)

    with pytest.raises(UserError, match=r"does not fit the hf documents schema \(.*'one'.*\) \(fix: ") as caught:
        HuggingFaceExporter().write(run)
    assert "\n" not in str(caught.value) and not (run / "export").exists()


# --- ragas and deepeval ----------------------------------------------------------------------------------------


def test_evaluation_rows_use_the_published_field_names(tmp_path: Path) -> None:
    run = document_run(tmp_path / "run", mode="conversation", answers=True)

    ragas = read_jsonl(RagasExporter().write(run)[0])
    goldens = read_jsonl(DeepEvalExporter().write(run)[0])

    assert len(ragas) == len(goldens) == 6
    assert ragas[1]["user_input"] == "Question 2 about battery 0"
    assert ragas[1]["reference"] == "Answer 2 for battery 0."
    assert ragas[1]["reference_contexts"] == [context_text(0)]
    assert ragas[1]["persona_name"] == "installer"
    assert ragas[1]["history"] == [
        {"role": "user", "content": "Question 1 about battery 0"},
        {"role": "assistant", "content": "Answer 1 for battery 0."},
    ]
    assert (ragas[1]["question_type"], ragas[1]["difficulty"], ragas[1]["turn_number"]) == ("reasoning", "medium", 2)
    assert goldens[1]["input"] == ragas[1]["user_input"]
    assert goldens[1]["expected_output"] == ragas[1]["reference"]
    assert goldens[1]["context"] == [context_text(0)]
    assert goldens[1]["source_file"] == "guide-0.md"
    metadata = goldens[1]["additional_metadata"]
    assert (metadata["qa_id"], metadata["persona"], metadata["history"]) == ("q0-1", "installer", ragas[1]["history"])


def test_answered_only_keeps_questions_with_a_reference(tmp_path: Path) -> None:
    run = document_run(tmp_path / "run", mode="conversation", unanswered_last_turn=True)

    rows = read_jsonl(RagasExporter(answered_only=True).write(run)[0])

    assert [row["qa_id"] for row in rows] == ["q0-0", "q0-1", "q1-0", "q1-1"]
    unanswered = document_run(tmp_path / "unanswered", answers=False)
    with pytest.raises(UserError, match="no answered questions from documents"):
        DeepEvalExporter(answered_only=True).write(unanswered)


def test_ragas_loads_the_samples(tmp_path: Path) -> None:
    schema = pytest.importorskip(
        "ragas.dataset_schema", reason="ragas cannot be imported (pip install -e '.[export-check]')"
    )
    run = document_run(tmp_path / "run", mode="conversation")

    dataset = schema.EvaluationDataset.from_jsonl(str(RagasExporter().write(run)[0]))

    assert len(dataset) == 6 and not dataset.is_multi_turn()
    sample = dataset[3]
    assert isinstance(sample, schema.SingleTurnSample)
    assert (sample.user_input, sample.reference) == ("Question 1 about battery 1", "Answer 1 for battery 1.")
    assert sample.reference_contexts == [context_text(1)]


def test_deepeval_loads_the_goldens(tmp_path: Path) -> None:
    dataset_module = pytest.importorskip(
        "deepeval.dataset", reason="deepeval cannot be imported (pip install -e '.[export-check]')"
    )
    run = document_run(tmp_path / "run", answers=False)

    dataset = dataset_module.EvaluationDataset()
    dataset.add_goldens_from_jsonl_file(str(DeepEvalExporter().write(run)[0]))

    assert len(dataset.goldens) == 6
    golden = dataset.goldens[5]
    assert (golden.input, golden.expected_output) == ("Question 3 about battery 1 & <tags>?", None)
    assert golden.context == [context_text(1)]
    assert golden.source_file == "guide-1.md"
    assert golden.additional_metadata["question_type"] == "multi_hop"


def test_evaluation_formats_leave_out_facts_runs_and_say_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    sweep = tmp_path / "sweep"
    document_run(sweep / "a", sessions=1)
    facts_run(sweep / "b")

    with caplog.at_level(logging.WARNING, logger="synthgen.export"):
        rows = read_jsonl(RagasExporter().write(sweep)[0])

    assert [row["run"] for row in rows] == ["a", "a", "a"]
    assert "left out facts run b" in caplog.text
    with pytest.raises(UserError, match="no questions from documents"):
        DeepEvalExporter().write(sweep / "b")


# --- fine-tuning formats ---------------------------------------------------------------------------------------


def fine_tuning_sweep(tmp_path: Path) -> Path:
    """A facts run, a conversation run whose last turns lack answers, and a queries run without answers."""
    sweep = tmp_path / "sweep"
    facts_run(sweep / "0", items=2)
    document_run(sweep / "1", mode="conversation", unanswered_last_turn=True)
    document_run(sweep / "2", mode="queries", answers=False, sessions=1)
    return sweep


def test_openai_rows_are_facts_chats_and_answered_conversations(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sweep = fine_tuning_sweep(tmp_path)

    with caplog.at_level(logging.WARNING, logger="synthgen.export"):
        paths = OpenAIChatExporter(system_prompt="Answer from the guide.").write(sweep)

    assert paths == [sweep / "export/openai/train.jsonl"]
    rows = read_jsonl(paths[0])
    assert len(rows) == 4
    assert rows[0]["messages"] == json.loads((sweep / "0/ft.jsonl").read_text().splitlines()[0])["messages"]
    assert rows[2]["messages"] == [
        {"role": "system", "content": "Answer from the guide."},
        {"role": "user", "content": "Question 1 about battery 0"},
        {"role": "assistant", "content": "Answer 1 for battery 0."},
        {"role": "user", "content": "Question 2 about battery 0"},
        {"role": "assistant", "content": "Answer 2 for battery 0."},
    ]
    assert "left out 5 questions without a ground-truth answer" in caplog.text  # 2 last turns + 3 unanswered


def test_sharegpt_alpaca_and_text_rows(tmp_path: Path) -> None:
    sweep = fine_tuning_sweep(tmp_path)

    sharegpt = read_jsonl(ShareGPTExporter(include_context=True).write(sweep)[0])
    alpaca = read_jsonl(AlpacaExporter(include_context=True).write(sweep)[0])
    text = read_jsonl(TextExporter().write(sweep)[0])

    assert [turn["from"] for turn in sharegpt[0]["conversations"]] == ["system", "human", "gpt"]
    conversation = sharegpt[2]["conversations"]
    assert [turn["from"] for turn in conversation] == ["system", "human", "gpt", "human", "gpt"]
    assert conversation[0]["value"] == f"Context:\n{context_text(0)}"
    assert alpaca[0] == {
        "instruction": "Where does the blue honeyeater nest, case 0?",
        "input": "",
        "output": "It nests in reeds (0).",
        "system": "You are helpful.",
    }
    assert alpaca[2] == {
        "instruction": "Question 2 about battery 0",
        "input": context_text(0),
        "output": "Answer 2 for battery 0.",
        "history": [["Question 1 about battery 0", "Answer 1 for battery 0."]],
    }
    assert text[0] == {"text": "<DOC> It nests in reeds (0)."}
    assert text[2] == {"text": "Answer 1 for battery 0.\n\nAnswer 2 for battery 0."}


def battery_of(row: dict[str, Any]) -> str:
    """The session a chat row came from (its questions name "battery <session>")."""
    match = re.search(r"battery (\d+)", row["messages"][0]["content"])
    assert match
    return match.group(1)


def test_split_keeps_sessions_whole_and_is_deterministic(tmp_path: Path) -> None:
    run = document_run(tmp_path / "run", mode="queries", sessions=20, turns=3)
    exporter = OpenAIChatExporter(split=Split(validation=0.25, seed=7))

    first = [path.read_bytes() for path in exporter.write(run)]
    second = [path.read_bytes() for path in exporter.write(run)]
    other_seed = OpenAIChatExporter(split=Split(validation=0.25, seed=8)).write(run, tmp_path / "other")

    assert first == second
    train, validation = (read_jsonl(run / f"export/openai/{part}.jsonl") for part in ("train", "validation"))
    train_sessions, validation_sessions = {battery_of(r) for r in train}, {battery_of(r) for r in validation}
    assert len(validation) == 15 and len(train) == 45  # 5 of 20 sessions, 3 questions each
    assert not train_sessions & validation_sessions
    assert validation != read_jsonl(other_seed[1])
    OpenAIChatExporter().write(run)
    assert not (run / "export/openai/validation.jsonl").exists()


def test_chat_formats_need_answers(tmp_path: Path) -> None:
    run = document_run(tmp_path / "run", answers=False)
    with pytest.raises(UserError, match=r"no answered questions to export as sharegpt \(fix: .*mode.answers=true\)"):
        ShareGPTExporter().write(run)


# --- configs ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["alpaca", "deepeval", "hf", "openai", "ragas", "sharegpt", "text"])
def test_every_shipped_config_builds_its_exporter(name: str) -> None:
    config = yaml.safe_load((Path(__file__).parents[1] / f"conf/export/{name}.yaml").read_text())
    assert build_exporter(config).name == name


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"_target_": "synthgen.outputs.export.openai.OpenAIChatExporter", "spilt": 0.1}, r"spilt: Extra inputs"),
        (
            {"_target_": "synthgen.outputs.export.text.TextExporter", "split": {"validation": 2}},
            r"split.validation: Input",
        ),
        (
            {"_target_": "synthgen.outputs.export.nope.Missing"},
            r"cannot import synthgen.outputs.export.nope.Missing .*No module named 'synthgen.outputs.export.nope'",
        ),
        ({"_target_": "pathlib.Path"}, r"is not a synthgen.outputs.export.base.ExporterOptions"),
        ({"split": None}, r"has no `_target_`"),
    ],
)
def test_a_bad_export_config_is_one_line_naming_the_fix(config: dict[str, Any], message: str) -> None:
    with pytest.raises(UserError, match=message) as caught:
        build_exporter(config)
    assert "\n" not in str(caught.value) and "(fix: " in str(caught.value)
