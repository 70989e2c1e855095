"""Capacity pools: what options draw on and firms compete for within a month.

A pool is any limited quantity shared by options: an intermediary's monthly capacity, a
hub's remaining import quota, an operator's free servers, the vendor's supply of compliant
chips, a firm's domestic ration. Every option draws on at most two pools; index 0 is an
unlimited pool that pads options drawing on fewer.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import NamedTuple

import numpy as np

UNLIMITED = 0


class Pool(NamedTuple):
    """A limited quantity that options share this month."""

    key: Hashable
    capacity_h100e: float | None  # None: unlimited


class Pools:
    """The pools of the month's options, with what is left of each as an array.

    Attributes:
        left: Remaining capacity per pool index; drawn in place as firms order.
        index: (options x 2) pool indices each option draws on.
    """

    def __init__(self, pools_per_option: Sequence[tuple[Pool, ...]]) -> None:
        self._index: dict[Hashable, int] = {}
        capacity = [np.inf]
        rows = []
        for pools in pools_per_option:
            row = [UNLIMITED, UNLIMITED]
            for column, (key, capacity_h100e) in enumerate(pools):
                i = self._index.get(key)
                if i is None:
                    i = self._index[key] = len(capacity)
                    capacity.append(np.inf if capacity_h100e is None else max(0.0, capacity_h100e))
                row[column] = i
            rows.append(row)
        self.index = np.array(rows, dtype=np.intp).reshape(len(rows), 2)
        self.left = np.array(capacity)

    def position(self, key: Hashable) -> int:
        """Index of a pool in ``left``; -1 when no option draws on it."""
        return self._index.get(key, -1)
