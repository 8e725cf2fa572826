"""Near-duplicate questions across a whole document run: by their words (see synthgen.pipelines.dedup) and, with
mode.dedup.embedding_model, by the cosine similarity of their embeddings.

Queries: every question against every question that passed this check before it, in plan order.
Conversations: opening turns against every earlier opening turn (follow-ups such as "why?" are fine in
different conversations), and each turn against the turns of its own conversation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from synthgen.core.errors import UserError
from synthgen.models.options import load_model_option
from synthgen.models.providers.base import LiteLLMModel
from synthgen.pipelines.dedup import KeptTexts, KeptVectors
from synthgen.pipelines.documents.items import Item

EMBEDDING_STAGE = "embeddings"
_SETTING = "mode.dedup.embedding_model"


def embedding_provider(name: str) -> LiteLLMModel:
    """The `model` group option `name`, checked to be one litellm's embedding call reaches."""
    provider = load_model_option(name, _SETTING)
    if not provider.embeds:
        raise UserError(
            f"{_SETTING}={name}: {type(provider).__name__} has no embedding call (fix: choose an embedding model, "
            "e.g. openai_embedding, or an openai_compatible option of a server that serves /v1/embeddings)"
        )
    return provider


@dataclass(frozen=True)
class Repeat:
    """The kept item a new one repeats, how similar they are, and the rejection reason that says how."""

    original: Item
    similarity: float
    reason: str  # exact_duplicate, near_duplicate or semantic_duplicate


class _Pool:
    """The kept questions an item is compared with: their words and, when embeddings are on, their vectors."""

    def __init__(self, threshold: float, embedding_threshold: float | None) -> None:
        self.texts = KeptTexts(threshold, by_words=True)
        self.vectors = KeptVectors(embedding_threshold) if embedding_threshold is not None else None


class RunDuplicates:
    """The questions that passed so far; `repeats` finds the one a new item repeats, `add` keeps an item.

    `embedding_threshold` (None: words only) is the cosine similarity at which an item whose words passed
    repeats a kept one by their embeddings; items come with their vector, or None when it could not be had.
    """

    def __init__(self, threshold: float, embedding_threshold: float | None = None) -> None:
        self.threshold = threshold
        self.embedding_threshold = embedding_threshold
        self._items: list[Item] = []
        self._run = _Pool(threshold, embedding_threshold)
        self._conversations: dict[str, _Pool] = {}

    def repeats(self, item: Item, vector: Sequence[float] | None = None) -> Repeat | None:
        """The kept item `item` repeats, by words in any of its pools first, then by embeddings; or None."""
        pools = self._pools(item)
        for pool in pools:
            found = pool.texts.match(item.question)
            if found is not None:
                reason = "exact_duplicate" if found[1] == 1.0 else "near_duplicate"
                return Repeat(self._items[found[0]], found[1], reason)
        if vector is None:
            return None
        for pool in pools:
            found = pool.vectors.match(vector) if pool.vectors is not None else None
            if found is not None:
                return Repeat(self._items[found[0]], found[1], "semantic_duplicate")
        return None

    def add(self, item: Item, vector: Sequence[float] | None = None) -> None:
        """Keep `item` (and its vector, if it has one) for the comparisons that follow."""
        number = len(self._items)
        self._items.append(item)
        if item.unit.conversation and item.unit.key not in self._conversations:
            self._conversations[item.unit.key] = _Pool(self.threshold, self.embedding_threshold)
        for pool in self._pools(item):
            pool.texts.add(item.question, number)
            if vector is not None and pool.vectors is not None:
                pool.vectors.add(vector, number)

    def _pools(self, item: Item) -> list[_Pool]:
        """Its conversation's questions (conversation turns), then the run's (queries and opening turns)."""
        pools = [self._conversations[item.unit.key]] if item.unit.key in self._conversations else []
        if not item.unit.conversation or item.slot.number == 1:
            pools.append(self._run)
        return pools
