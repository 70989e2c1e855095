"""What the parts of a run need of each other, as protocols, so that none imports the model.

This module imports nothing from ``sim``: the config is built from the levers (``sim.levers``),
which act on a :class:`MonthView`, so a config here is typed ``Any`` (a ``sim.config.Config``).
Channels read the month's :class:`ChannelView`; agents read the :class:`Run` they belong to;
levers act on the :class:`MonthView` of a month. ``sim.model.ExportControlModel`` is all three.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, Protocol

import numpy as np


class Run(Protocol):
    """What agents read of the run they belong to."""

    cfg: Any
    month: int
    rng: np.random.Generator
    scarcity: float
    hub_columns: Any  # every hub's parameters as arrays (``sim.world.HubColumns``)


class Parties(Protocol):
    """The intermediaries of a run as the regulator counts them."""

    def usable_count(self, kind: Hashable) -> np.ndarray:
        """Per hub, the usable intermediaries of a kind."""
        ...


class Screeners(Protocol):
    """The data-centre operators of a run, one row each, hub after hub."""

    hub: np.ndarray
    kyc_strictness: np.ndarray  # each one's probability of refusing a customer with red flags this month

    def __len__(self) -> int: ...


class Customs(Protocol):
    """The hubs' local authorities."""

    def cargo_inspection_rate(self) -> np.ndarray:
        """Share of each hub's outbound cargo inspected this month."""
        ...

    def passenger_inspection_rate(self) -> np.ndarray:
        """Share of travellers searched in each hub this month."""
        ...


class Checks(Protocol):
    """The US regulator's end-use checks."""

    def check_probability(self, channel: str) -> np.ndarray:
        """Per hub, the probability that this month's checks detect one illicit transaction of a channel."""
        ...


class ChannelView(Run, Protocol):
    """The month's state the channels list their options from."""

    domestic_supply_h100e: float
    gray_price_usd_per_h100e: float
    list_price_usd_per_h100e: float
    capacities: Any  # the month's pools (``sim.capacity.Capacities``)
    parties: Any  # the month's usable intermediaries and their terms (``sim.agents.PartyTerms``)
    operators: Screeners
    authorities: Customs
    regulator: Checks


class Options(Protocol):
    """The month's option table as a lever reads it: one entry per option."""

    smuggles: np.ndarray  # which options bring controlled chips into China


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
