"""Capacity pools: what options draw on and firms compete for within a month.

A pool is any limited quantity shared by options: an intermediary's monthly capacity, an
operator's free servers, a hub's remaining import quota, a firm's domestic ration or inference
demand. The month's pools are one array laid out in segments (one pool per intermediary row,
per operator row, per hub, then the rations); every option draws on at most two, and index 0
is an unlimited pool that pads options drawing on fewer.
"""

from __future__ import annotations

import numpy as np

UNLIMITED = 0

#: Per-firm rations, refilled with each firm's before it decides: its share of domestic
#: supply, and its inference demand (which inference chips draw on).
RATIONS = ("domestic_ration", "inference_need")


class Capacities:
    """The month's pools as one array, with the index of each party's and hub's pool and of the rations.

    Attributes:
        left: Remaining capacity per pool; drawn in place as firms order.
    """

    def __init__(self, intermediary_h100e: np.ndarray, operator_h100e: np.ndarray, quota_h100e: np.ndarray) -> None:
        """Lay out the month's pools (the rations empty until a firm's are set).

        Args:
            intermediary_h100e: Capacity of each intermediary row.
            operator_h100e: Free capacity of each operator row.
            quota_h100e: Import room left in each hub (inf: no cap).
        """
        self._operators = 1 + len(intermediary_h100e)
        self._quotas = self._operators + len(operator_h100e)
        self._rations = self._quotas + len(quota_h100e)
        self._capped = np.isfinite(quota_h100e)
        parts = ([np.inf], intermediary_h100e, operator_h100e, quota_h100e, np.zeros(len(RATIONS)))
        self.left = np.maximum(0.0, np.concatenate(parts, dtype=float))

    def intermediary(self, rows: np.ndarray) -> np.ndarray:
        """Pools of intermediaries, by row."""
        return 1 + rows

    def operator(self, rows: np.ndarray) -> np.ndarray:
        """Pools of operators, by row."""
        return self._operators + rows

    def quota(self, hubs: np.ndarray) -> np.ndarray:
        """Import quota pools of hubs, by hub index (``UNLIMITED`` for a hub without a cap)."""
        return np.where(self._capped[hubs], self._quotas + hubs, UNLIMITED)

    def ration(self, key: str) -> int:
        """Index of one of the ``RATIONS``."""
        return self._rations + RATIONS.index(key)
