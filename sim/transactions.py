"""Transactions, shipments and leases, and the passage of a transaction through checkpoints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.channels import Checkpoint, Option

if TYPE_CHECKING:
    from sim.agents import AIFirm, Operator


@dataclass(slots=True)
class Transaction:
    """One order a firm placed this month through one option."""

    firm: AIFirm
    option: Option
    quantity_h100e: float
    checkpoints: tuple[Checkpoint, ...]


@dataclass(frozen=True, slots=True)
class Shipment:
    """Chips on their way to a firm's stock."""

    firm_index: int
    source: int
    quantity_h100e: float
    due_month: int


@dataclass(frozen=True, slots=True)
class Lease:
    """Servers leased abroad, delivering a flow of compute from ``start`` to ``end`` (exclusive)."""

    firm_index: int
    source: int
    operator: Operator
    quantity_h100e: float
    start_month: int
    end_month: int


def with_trips(checkpoints: tuple[Checkpoint, ...], trips: int) -> tuple[Checkpoint, ...]:
    """Checkpoints of one transaction: a per-trip check passed ``trips`` times becomes one check."""
    if not any(c.per_trip for c in checkpoints):
        return checkpoints
    return tuple(Checkpoint(c.name, 1.0 - (1.0 - c.p) ** trips) if c.per_trip else c for c in checkpoints)


def first_detection(checkpoints: tuple[Checkpoint, ...], rng: np.random.Generator) -> Checkpoint | None:
    """Pass the checkpoints in order; return the one that detects, or None."""
    for checkpoint in checkpoints:
        if checkpoint.p > 0 and rng.random() < checkpoint.p:
            return checkpoint
    return None
