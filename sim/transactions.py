"""The month's orders as arrays: placed firm after firm, they pass their checkpoints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from numba import njit

if TYPE_CHECKING:
    from sim.channels import Channel
    from sim.option_table import OptionTable


class Orders(NamedTuple):
    """The month's orders, one entry per (firm, option) order, firm after firm in the order they decided."""

    firm_index: np.ndarray
    option: np.ndarray  # index into the option table
    quantity_h100e: np.ndarray
    spend_usd: np.ndarray


@dataclass(slots=True)
class Transaction:
    """One order detected at a checkpoint, as its consequences read it."""

    firm_index: int
    channel: type[Channel]
    intermediary: int  # its row, -1: none
    operator: int  # its row, -1: none
    quantity_h100e: float
    spend_usd: float


def place(decided: tuple[np.ndarray, np.ndarray, np.ndarray], table: OptionTable) -> Orders:
    """The month's orders from the firms' decisions (firm, option, H100e), with the money each commits.

    They stay in the order decided: firm after firm, each firm's orders for this month's demand
    before those bought ahead, the order in which a vendor's queue serves them.
    """
    firm, option, quantity = decided
    return Orders(firm, option, quantity, quantity * table.upfront_usd_per_h100e[firm, option])


def first_detections(orders: Orders, table: OptionTable, trips: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Pass every order's checkpoints in order; the index of the first that detects it, -1 for none.

    One uniform draw per order and check; a per-trip check passed ``trips`` times detects with
    ``1 - (1 - p) ** trips``.
    """
    draws = rng.random((len(orders.option), table.checkpoint_p.shape[1]))
    return _first_hits(orders.option, trips[orders.firm_index], table.checkpoint_p, table.checkpoint_per_trip, draws)


@njit(cache=True)
def _first_hits(option, trips, p, per_trip, draws):
    """For each order, the first check whose draw falls below its probability (-1: none), compiled."""
    at = np.full(option.size, -1, np.int64)
    for k in range(option.size):
        o = option[k]
        for c in range(p.shape[1]):
            detect = 1.0 - (1.0 - p[o, c]) ** trips[k] if per_trip[o, c] else p[o, c]
            if draws[k, c] < detect:
                at[k] = c
                break
    return at
