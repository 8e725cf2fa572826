"""A deterministic train/validation split by group, so related rows never straddle the two files."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

Item = TypeVar("Item")


class Split(BaseModel):
    """The `split` option: the share of groups held out for validation, and the shuffle seed."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    validation: float = Field(gt=0, lt=1)
    seed: int = 0


def split_by_group(items: Sequence[Item], groups: Sequence[str], split: Split) -> tuple[list[Item], list[Item]]:
    """(train, validation): whole groups go to validation, `round(share x groups)` of them (at least one when
    there are two or more groups), chosen by shuffling the sorted group names with the seed. Items keep their
    order. The same items, groups and options always give the same split.
    """
    names = sorted(set(groups))
    random.Random(split.seed).shuffle(names)
    count = max(1, round(split.validation * len(names))) if len(names) > 1 else 0
    held_out = set(names[:count])
    train = [item for item, group in zip(items, groups) if group not in held_out]
    validation = [item for item, group in zip(items, groups) if group in held_out]
    return train, validation
