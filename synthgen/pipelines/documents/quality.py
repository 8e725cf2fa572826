"""quality.json: what a document run kept, what it rejected and why, how much of the source it covers, and how
varied its questions are. Computed from the written files, so a merge of shards computes it the same way."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from itertools import islice
from typing import Any

from rapidfuzz import fuzz, process

from synthgen.core.normalise import normalise

MAX_COMPARED = 600  # pairwise similarity over at most this many questions (the first ones): 179,700 pairs
MAX_LISTED = 5000  # raw similarity values listed for histograms (an even subsample beyond)


def quality_report(
    datasets: Sequence[dict[str, Any]],
    rejected: Sequence[dict[str, Any]],
    chunks: Sequence[tuple[str, str]],
    requested: int,
) -> dict[str, Any]:
    """The figures of quality.json; `chunks` are the (chunk id, document) pairs the run generated from."""
    turns = [turn for dataset in datasets for turn in dataset["conversation"]]
    questions = [turn["query"] for turn in turns]
    covered = {chunk for turn in turns for chunk in turn["agentic"]["source_chunks"]}
    documents: dict[str, list[str]] = {}
    for chunk_id, document in chunks:
        documents.setdefault(document, []).append(chunk_id)
    lengths = [len(_words(question)) for question in questions]
    similarities = pairwise_similarities(questions[:MAX_COMPARED])
    return {
        "kept": len(turns),
        "requested": requested,
        "kept_by_type": dict(Counter(turn["agentic"]["question_type"] for turn in turns)),
        "kept_by_difficulty": dict(Counter(str(turn["agentic"]["difficulty"]) for turn in turns)),
        "rejected_by_stage": dict(Counter(row["stage"] for row in rejected)),
        "rejected_by_reason": dict(Counter(row["reason"] for row in rejected)),
        "coverage": _share(sum(chunk in covered for chunk, _ in chunks), len(chunks)),
        "chunks": len(chunks),
        "chunks_covered": sum(chunk in covered for chunk, _ in chunks),
        "coverage_by_document": {
            document: _share(sum(chunk in covered for chunk in ids), len(ids)) for document, ids in documents.items()
        },
        "duplicates_removed": sum(row["stage"] == "dedup" for row in rejected),
        "distinct_1": distinct_n(questions, 1),
        "distinct_2": distinct_n(questions, 2),
        "similarity_mean": round(sum(similarities) / len(similarities), 4) if similarities else 0.0,
        "similarity_max": round(max(similarities), 4) if similarities else 0.0,
        "question_length_mean": round(sum(lengths) / len(lengths), 2) if lengths else 0.0,
        "question_lengths": lengths,
        "similarities": _subsample(similarities, MAX_LISTED),
    }


def distinct_n(texts: Sequence[str], n: int) -> float:
    """Distinct word n-grams over all n-grams of the texts (1.0: no n-gram repeats; 0.0 for no n-gram)."""
    grams = [tuple(words[i : i + n]) for words in map(_words, texts) for i in range(len(words) - n + 1)]
    return round(len(set(grams)) / len(grams), 4) if grams else 0.0


def pairwise_similarities(texts: Sequence[str]) -> list[float]:
    """rapidfuzz `fuzz.ratio` (0-1) of every pair of normalised texts."""
    keys = [normalise(text) for text in texts]
    values: list[float] = []
    for i, key in enumerate(keys[:-1]):
        values += [
            round(score / 100, 4) for _, score, _ in process.extract(key, keys[i + 1 :], scorer=fuzz.ratio, limit=None)
        ]
    return values


def headline(quality: dict[str, Any]) -> str:
    """The run's quality in one line, for the final log line."""
    rejected = quality["rejected_by_stage"]
    stages = ", ".join(f"{stage} {count}" for stage, count in sorted(rejected.items()))
    return (
        f"kept {quality['kept']}/{quality['requested']}, coverage {quality['coverage']:.0%}, "
        f"distinct-2 {quality['distinct_2']:.2f}, similarity mean {quality['similarity_mean']:.2f}, "
        f"rejected {sum(rejected.values())}" + (f" ({stages})" if stages else "")
    )


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _subsample(values: list[float], most: int) -> list[float]:
    step = max(1, -(-len(values) // most))
    return list(islice(values, 0, None, step))
