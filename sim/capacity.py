"""Capacity pools: what options draw on and firms compete for within a month.

A pool is any limited quantity shared by options: an intermediary's monthly capacity,
a hub's remaining import quota, an operator's free servers, the vendor's supply of
compliant chips. Every option draws on at most two pools; index 0 is an unlimited pool
that pads options drawing on fewer.
"""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np

UNLIMITED = 0


class Pools:
    """Named capacities for one month, with their remaining amounts as an array."""

    def __init__(self) -> None:
        self._index: dict[Hashable, int] = {}
        self._capacity: list[float] = [np.inf]
        self.left = np.array(self._capacity)

    def add(self, key: Hashable, capacity_h100e: float | None) -> int:
        """Register a pool (None for unlimited) once a month and return its index."""
        if key in self._index:
            return self._index[key]
        self._index[key] = len(self._capacity)
        self._capacity.append(np.inf if capacity_h100e is None else max(0.0, capacity_h100e))
        return self._index[key]

    def freeze(self) -> None:
        """Fix the registered capacities as this month's remaining amounts."""
        self.left = np.array(self._capacity)

    def refill(self, key: Hashable, capacity_h100e: float) -> None:
        """Set what is left of a registered pool (a per-firm ration in a shared pool)."""
        i = self._index.get(key)
        if i is not None:
            self.left[i] = capacity_h100e

    def index_matrix(self, pools_per_option: list[tuple[int, ...]]) -> np.ndarray:
        """An (options x 2) array of pool indices, padded with the unlimited pool."""
        matrix = np.full((len(pools_per_option), 2), UNLIMITED, dtype=np.intp)
        for row, pools in enumerate(pools_per_option):
            matrix[row, : len(pools)] = pools
        return matrix
