"""The month's orders: placing them commits capacity; resolving them passes their checkpoints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.channels import Checkpoint, Option

if TYPE_CHECKING:
    from sim.protocols import Venue


@dataclass(slots=True)
class Transaction:
    """One order a firm placed this month through one option."""

    firm_index: int
    option: Option
    quantity_h100e: float
    spend_usd: float
    checkpoints: tuple[Checkpoint, ...]


class OrderBook:
    """The orders of one month, in the order they were placed."""

    def __init__(self, authorities: dict[str, Venue]) -> None:
        self.authorities = authorities
        self.transactions: list[Transaction] = []

    def place(self, firm_index: int, option: Option, quantity_h100e: float, spend_usd: float, trips: int) -> None:
        """Record an order; it commits the intermediary's, the operator's and the quota's capacity."""
        checkpoints = with_trips(option.checkpoints, trips)
        self.transactions.append(Transaction(firm_index, option, quantity_h100e, spend_usd, checkpoints))
        if option.intermediary is not None:
            option.intermediary.record_order(quantity_h100e)
        if option.operator is not None:
            option.operator.lease(quantity_h100e)
        if option.channel.uses_import_quota:
            self.authorities[option.hub].import_h100e(quantity_h100e)


def with_trips(checkpoints: tuple[Checkpoint, ...], trips: int) -> tuple[Checkpoint, ...]:
    """Checkpoints of one transaction: a per-trip check passed ``trips`` times becomes one check."""
    if not any(c.per_trip for c in checkpoints):
        return checkpoints
    return tuple(c._replace(p=1.0 - (1.0 - c.p) ** trips, per_trip=False) if c.per_trip else c for c in checkpoints)


def first_detection(checkpoints: tuple[Checkpoint, ...], rng: np.random.Generator) -> Checkpoint | None:
    """Pass the checkpoints in order; return the one that detects, or None."""
    for checkpoint in checkpoints:
        if checkpoint.p > 0 and rng.random() < checkpoint.p:
            return checkpoint
    return None
