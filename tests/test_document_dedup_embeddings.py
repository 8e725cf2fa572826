"""Embedding-based dedup (mode.dedup.embedding_model) end to end: the real CLI, a `model` option of the user's
own for the embedding server, and the real litellm embedding call against the fake server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import math
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from synthgen.config.schema import validate_settings
from synthgen.config.tree import compose_config, to_plain
from synthgen.core.errors import CallsStopped
from synthgen.models.cache import CallCache
from synthgen.models.client import EMBEDDING_BATCH, ModelClient
from synthgen.models.providers.base import as_provider
from synthgen.models.usage import Usage
from synthgen.pipelines.dedup import KeptTexts
from tests.cli import read_jsonl, run_cli
from tests.fake_documents import DocumentModel
from tests.fake_openai import FakeOpenAI, Reply, digest_vector
from tests.test_cli import DOC, ONLY_FACTUAL

CHUNK_WORDS = ("Moon orbits", "tidal bulges", "astronauts")  # a words of each chunk of DOC, in order
SERVER_ERROR = Reply(status=500, body='{"error": {"message": "embedding server hiccup"}}')


def topics(paraphrases: dict[str, str]) -> Callable[[str], list[float]]:
    """An embedder that maps each text containing a key of `paraphrases` near the vector of its topic (the value):
    the n-th marker of a topic is its vector moved by 0.5·n along the first axis, so paraphrases of one topic have
    a cosine similarity of about 0.98, however different their words; other texts get vectors of their own."""
    seen: Counter[str] = Counter()
    moves: dict[str, float] = {}
    for marker, topic in paraphrases.items():
        moves[marker] = 0.5 * seen[topic]
        seen[topic] += 1

    def embed(text: str) -> list[float]:
        for marker, topic in paraphrases.items():
            if marker in text:
                vector = digest_vector(topic)
                return [vector[0] + moves[marker], *vector[1:]]
        return digest_vector(text)

    return embed


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def first_round(prompt: str) -> bool:
    """A first question call: nothing listed as already written (top-ups list them)."""
    return "already written" not in prompt and "conversation so far" not in prompt


def chunk_of(prompt: str) -> int:
    return next(i for i, words in enumerate(CHUNK_WORDS) if words in prompt)


@pytest.fixture
def doc(tmp_path: Path) -> Path:
    path = tmp_path / "moon.md"
    path.write_text(DOC)
    return path


@pytest.fixture
def model(fake_openai: FakeOpenAI) -> DocumentModel:
    scripted = DocumentModel()
    fake_openai.responder = scripted
    return scripted


@pytest.fixture
def conf(fake_openai: FakeOpenAI, tmp_path: Path) -> Path:
    """A config folder of the user's own with `fake_embedding`: an openai_compatible option for the fake server."""
    option = tmp_path / "conf" / "model" / "fake_embedding.yaml"
    option.parent.mkdir(parents=True)
    option.write_text(
        "defaults: [openai_compatible, _self_]\nname: fake_embedding\nmodel: openai/fake-embedding\n"
        f"api_base: {fake_openai.url}\nretries: 2\nbackoff_base: 0.01\n"
    )
    return option.parent.parent


def cli_args(server: FakeOpenAI, conf: Path, doc: Path, out: Path, *extra: str) -> list[str]:
    return [
        "--config-dir",
        str(conf),
        "model=openai_compatible",
        f"model.api_base={server.url}",
        "model.retries=0",
        f"source={doc}",
        "loader.min_chunk_size=50",
        f"hydra.run.dir={out}",
        "mode.dedup.embedding_model=fake_embedding",
        *extra,
    ]


def stats_of(out: Path) -> dict[str, Any]:
    return json.loads((out / "stats.json").read_text())


def queries(out: Path) -> list[str]:
    return [turn["query"] for dataset in read_jsonl(out / "datasets.jsonl") for turn in dataset["conversation"]]


# the second asked of the tides chunk: it shares a word with its evidence (the tides), none with the first
PARAPHRASES = (
    "How far is the Moon from the Earth?",
    "What distance separates our planet and the satellite raising its tides?",
)


def test_a_paraphrase_is_a_semantic_duplicate_replaced_by_a_top_up_and_a_rerun_replays_the_embeddings(
    fake_openai: FakeOpenAI, model: DocumentModel, conf: Path, doc: Path, tmp_path: Path
) -> None:
    other = "How many astronauts walked on the Moon?"  # neither lexically nor semantically close to the others

    def first_questions(prompt: str, questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if first_round(prompt):
            questions[0]["question"] = (*PARAPHRASES, other)[chunk_of(prompt)]
        return questions

    model.edit = first_questions
    fake_openai.embedder = embedder = topics({"How far": "moon distance", "distance separates": "moon distance"})
    similarity = round(cosine(embedder(PARAPHRASES[0]), embedder(PARAPHRASES[1])), 3)
    assert 0.9 <= similarity < 0.99
    fake_openai.embedding_replies.append(SERVER_ERROR)  # the first embedding request fails once and is retried
    words = KeptTexts(0.92, by_words=True)
    words.add(PARAPHRASES[0], 0)
    assert words.match(PARAPHRASES[1]) is None  # lexically far apart: only the embeddings can tell

    out = tmp_path / "run"
    result = run_cli(
        *cli_args(fake_openai, conf, doc, out, *ONLY_FACTUAL, "mode.num_queries_per_chunk=2"), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    [rejected] = read_jsonl(out / "rejected.jsonl")
    kept = {turn["query"]: turn for dataset in read_jsonl(out / "datasets.jsonl") for turn in dataset["conversation"]}
    assert (rejected["stage"], rejected["reason"], rejected["query"]) == ("dedup", "semantic_duplicate", PARAPHRASES[1])
    original = kept[PARAPHRASES[0]]
    assert rejected["detail"] == f"repeats {original['qa_id']} (cosine similarity {similarity}): {PARAPHRASES[0]}"
    assert len(kept) == 6 and PARAPHRASES[0] in kept and other in kept  # the count held by a top-up
    assert all(turn["agentic"]["checks"] == ["evidence_check", "dedup", "roundtrip"] for turn in kept.values())
    # One request per round with every question of the round (the first one failed once): 6, then the top-up's 1.
    assert [len(request["input"]) for request in fake_openai.embedding_requests] == [6, 6, 1]
    assert {request["model"] for request in fake_openai.embedding_requests} == {"fake-embedding"}
    stats = stats_of(out)
    embeddings = stats["stages"]["embeddings"]
    assert (embeddings["calls"], embeddings["retries"], embeddings["cache_hits"]) == (2, 1, 0)
    assert embeddings["prompt_tokens"] == sum(len(question.split()) for question in [*kept, PARAPHRASES[1]])
    assert stats["duplicates_removed"] == 1 and stats["rejected"] == {"dedup": {"factual": 1}}

    chats, embedded = len(fake_openai.requests), len(fake_openai.embedding_requests)
    again = tmp_path / "again"
    result = run_cli(
        *cli_args(fake_openai, conf, doc, again, *ONLY_FACTUAL, "mode.num_queries_per_chunk=2"), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert (len(fake_openai.requests), len(fake_openai.embedding_requests)) == (chats, embedded)  # all from cache
    assert read_jsonl(again / "rejected.jsonl") == read_jsonl(out / "rejected.jsonl")
    assert queries(again) == queries(out)
    embeddings = stats_of(again)["stages"]["embeddings"]
    assert (embeddings["calls"], embeddings["cache_hits"]) == (0, 7)


def test_conversations_compare_later_turns_within_their_conversation_only(
    fake_openai: FakeOpenAI, model: DocumentModel, conf: Path, doc: Path, tmp_path: Path
) -> None:
    scripted = [
        ("How far away is the Moon?", "What is the distance to the Moon?"),  # the same question twice
        ("Why are there two tides a day?", "Tell me more about that."),
        ("Who walked on the Moon?", "Could you explain that further?"),  # a follow-up like another conversation's
    ]

    def turns(prompt: str, questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if first_round(prompt):
            for question, text in zip(questions, scripted[chunk_of(prompt)]):
                question["question"] = text
        return questions

    model.edit = turns
    fake_openai.embedder = topics(
        {
            "How far away": "moon distance",
            "distance to the Moon": "moon distance",
            "Tell me more": "say more",
            "explain that further": "say more",
        }
    )
    out = tmp_path / "run"
    args = cli_args(fake_openai, conf, doc, out, "mode=conversation", "mode.num_turns=2")
    result = run_cli(*args, "~mode.question_types", "+mode.question_types={factual:1}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    [rejected] = read_jsonl(out / "rejected.jsonl")
    assert (rejected["reason"], rejected["query"]) == ("semantic_duplicate", "What is the distance to the Moon?")
    datasets = read_jsonl(out / "datasets.jsonl")
    assert [len(dataset["conversation"]) for dataset in datasets] == [2, 2, 2]  # the rejected turn rewritten
    assert {"Tell me more about that.", "Could you explain that further?"} <= set(queries(out))


def test_an_embedding_call_that_fails_for_good_is_recorded_and_dedup_falls_back_to_words(
    fake_openai: FakeOpenAI, model: DocumentModel, conf: Path, doc: Path, tmp_path: Path
) -> None:
    def first_questions(prompt: str, questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if first_round(prompt) and chunk_of(prompt) < 2:
            questions[0]["question"] = PARAPHRASES[chunk_of(prompt)]
        return questions

    model.edit = first_questions
    fake_openai.embedder = topics({"How far": "moon distance", "distance separates": "moon distance"})
    fake_openai.embedding_replies.extend([SERVER_ERROR] * 3)  # the option's 2 retries are not enough
    out = tmp_path / "run"
    result = run_cli(*cli_args(fake_openai, conf, doc, out, *ONLY_FACTUAL), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    [failure] = read_jsonl(out / "failures.jsonl")
    assert (failure["stage"], failure["round"]) == ("embeddings", 0) and "embedding server hiccup" in failure["error"]
    assert set(PARAPHRASES) <= set(queries(out)) and read_jsonl(out / "rejected.jsonl") == []
    assert stats_of(out)["stages"]["embeddings"]["failures"] == 1


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("nope", "mode.dedup.embedding_model: unknown model 'nope' (fix: use null or an option of the model group:"),
        ("local", "mode.dedup.embedding_model=local: EmbeddedModel has no embedding call (fix: choose an embedding"),
    ],
)
def test_an_embedding_model_that_cannot_embed_is_one_error_line(
    name: str, message: str, doc: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    result = run_cli(f"source={doc}", f"mode.dedup.embedding_model={name}", f"hydra.run.dir={out}", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"synthgen: error: {message}"), line
    assert not out.exists()


def test_the_dry_run_prices_the_embeddings_on_the_embedding_model(doc: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ("model=gpt41_mini", "mode.dedup.embedding_model=openai_embedding", "mode.num_queries_per_chunk=2")
    result = run_cli(
        f"source={doc}",
        "loader.min_chunk_size=50",
        *args,
        "dry_run=true",
        f"hydra.run.dir={out}",
        cwd=tmp_path,
        env={"OPENAI_API_KEY": None},
    )
    assert result.returncode == 0, result.stderr
    [row] = [line.split() for line in (out / "plan.txt").read_text().splitlines() if line.startswith("embeddings")]
    assert row[:4] == ["embeddings", "1", str(6 * 30), "0"]  # 6 questions of ~30 tokens in one request
    assert row[4] == "$0.0000"  # text-embedding-3-small: $0.02 per million tokens


def test_embed_batches_in_order_replays_from_the_cache_and_stops_with_the_run(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    config = compose_config(["model=openai_compatible", f"model.api_base={fake_openai.url}"], bundled=True)
    provider = as_provider(validate_settings(to_plain(config)).model)
    texts = [f"question number {i}" for i in range(EMBEDDING_BATCH + 44)] + ["question number 3"]
    cache = CallCache(tmp_path / "calls.sqlite", "use")
    try:
        client = ModelClient(provider, Usage(), cache)
        vectors = asyncio.run(client.embed(texts, stage="embeddings"))
        assert vectors == [pytest.approx(digest_vector(text)) for text in texts]
        assert sorted(len(request["input"]) for request in fake_openai.embedding_requests) == [44, EMBEDDING_BATCH]
        counters = client.stats.stage("embeddings")
        assert (counters.calls, counters.cache_hits) == (2, 0)

        replayed = ModelClient(provider, Usage(), cache)
        assert asyncio.run(replayed.embed(texts[::-1], stage="embeddings")) == vectors[::-1]
        assert len(fake_openai.embedding_requests) == 2
        assert (replayed.stats.stage("embeddings").calls, replayed.stats.stage("embeddings").cache_hits) == (0, 300)

        stopped = ModelClient(provider, Usage(), cache)
        stopped.stop()
        with pytest.raises(CallsStopped):
            asyncio.run(stopped.embed(["a question never embedded"], stage="embeddings"))
        assert len(fake_openai.embedding_requests) == 2
    finally:
        cache.close()
