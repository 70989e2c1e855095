"""What the parts of a run need of each other, as protocols, so that none imports the model.

This module imports nothing from ``sim``: the config is built from the levers (``sim.levers``),
which act on a :class:`MonthView`, so a config here is typed ``Any`` (a ``sim.config.Config``).
Channels read the month's :class:`ChannelView`; agents read the :class:`Run` they belong to;
levers act on the :class:`MonthView` of a month. ``sim.model.ExportControlModel`` is all three.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Any, Protocol

import numpy as np


class Run(Protocol):
    """What agents read of the run they belong to."""

    cfg: Any
    month: int
    rng: np.random.Generator
    scarcity: float


class Party(Protocol):
    """An intermediary or operator as options, orders and leases see it."""

    def pool(self) -> Any:
        """Its capacity this month (a ``sim.capacity.Pool``)."""
        ...

    def red_flags(self) -> float:
        """Multiplier on the detection probability of checks that involve it."""
        ...

    def red_flag_probability(self) -> float:
        """Probability that it shows red flags to a screener."""
        ...

    def fee_share(self) -> float:
        """Its fee as a share of the price."""
        ...

    def believed_risk_factor(self) -> float:
        """What firms know of its red flags."""
        ...

    def kyc_strictness(self) -> float:
        """Probability of refusing a customer with red flags (operators)."""
        ...

    def record_order(self, quantity_h100e: float) -> None:
        """Handle an order (intermediaries)."""
        ...

    def lease(self, quantity_h100e: float) -> None:
        """Commit capacity to a lease (operators)."""
        ...

    def release(self, quantity_h100e: float) -> None:
        """Free the capacity of a lease (operators)."""
        ...


class Venue(Protocol):
    """A hub's customs and import quota (its local authority)."""

    hub: str

    def cargo_inspection_rate(self) -> float:
        """Share of outbound cargo inspected this month."""
        ...

    def passenger_inspection_rate(self) -> float:
        """Share of travellers searched this month."""
        ...

    def quota_pool(self) -> Any:
        """Import room left this year as a ``sim.capacity.Pool``; None without a cap."""
        ...

    def import_h100e(self, wanted_h100e: float) -> float:
        """Import up to ``wanted_h100e`` within the quota and return what was granted."""
        ...


class Registry(Protocol):
    """The intermediaries of a run, by kind and hub."""

    def usable(self, kind: Hashable, hub: str) -> list[Any]:
        """Unlisted intermediaries of a kind in a hub, registered long enough to trade."""
        ...


class ChannelView(Run, Protocol):
    """The month's state the channels list their options from."""

    domestic_supply_h100e: float
    gray_price_usd_per_h100e: float
    list_price_usd_per_h100e: float

    def venues(self) -> Iterable[Venue]:
        """Every hub's local authority."""
        ...

    def usable(self, kind: Hashable, hub: str) -> list[Any]:
        """Unlisted intermediaries of a kind in a hub, registered long enough to trade."""
        ...

    def operators(self, hub: str) -> Sequence[Party]:
        """The data-centre operators of a hub."""
        ...

    def check_probability(self, channel: str, hub: str) -> float:
        """Probability that the regulator's checks detect one illicit transaction in a cell."""
        ...


class Delivered(Protocol):
    """Chips that reached firms' stock this month, one entry per shipment."""

    firm_index: np.ndarray
    source: np.ndarray
    quantity_h100e: np.ndarray


class SourceIndex(Protocol):
    """The run's sources of compute, in column order."""

    all: tuple[Any, ...]
    smuggled: np.ndarray  # which sources bring controlled chips into China


class MonthView(Run, Protocol):
    """What a lever acting on its own sees of a month, and what it may do."""

    sources: SourceIndex
    arrivals: Delivered
    firm_value_usd: np.ndarray
    firm_risk_aversion: np.ndarray

    def detected(self, firm_index: int, source: Any, quantity_h100e: float, months_delivered: int) -> None:
        """Fine, list and make news of a detection of a firm's compute from ``source``, as at a checkpoint."""
        ...

    def seize_stock(self, firm_index: int, source: Any, quantity_h100e: float) -> float:
        """Remove up to ``quantity_h100e`` of a firm's chips from ``source``; return what was removed."""
        ...
