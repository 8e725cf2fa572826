"""Near-duplicate questions across a whole document run (lexical, word by word: see synthgen.pipelines.dedup).

Queries: every question against every question that passed this check before it, in plan order.
Conversations: opening turns against every earlier opening turn (follow-ups such as "why?" are fine in
different conversations), and each turn against the turns of its own conversation.
"""

from __future__ import annotations

from synthgen.pipelines.dedup import KeptTexts
from synthgen.pipelines.documents.items import Item


class RunDuplicates:
    """The questions that passed so far; `repeats` finds the one a new item repeats, `add` keeps an item."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self._items: list[Item] = []
        self._run = KeptTexts(threshold, by_words=True)
        self._conversations: dict[str, KeptTexts] = {}

    def repeats(self, item: Item) -> tuple[Item, float] | None:
        """The kept item `item` repeats, with the similarity, or None."""
        pools = [self._conversations.get(item.unit.key)] if item.unit.conversation else []
        if not item.unit.conversation or item.slot.number == 1:
            pools.append(self._run)
        for pool in pools:
            found = pool.match(item.question) if pool is not None else None
            if found is not None:
                return self._items[found[0]], found[1]
        return None

    def add(self, item: Item) -> None:
        """Keep `item` for the comparisons that follow."""
        number = len(self._items)
        self._items.append(item)
        if item.unit.conversation:
            pool = self._conversations.setdefault(item.unit.key, KeptTexts(self.threshold, by_words=True))
            pool.add(item.question, number)
        if not item.unit.conversation or item.slot.number == 1:
            self._run.add(item.question, number)
