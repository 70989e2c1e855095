"""What the parts of a run need of each other, as protocols, so none imports the model.

Channels read the month's :class:`Market`; agents read the :class:`Run` they belong to; levers
act on the :class:`MonthView` of a month. ``sim.model.ExportControlModel`` satisfies all three.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from sim.channels import IntermediaryKind, Pool
    from sim.config import Config
    from sim.ledger import Shipment
    from sim.sources import Source, Sources


class Party(Protocol):
    """An intermediary or operator as an option sees it."""

    operator: Party

    def pool(self) -> Pool:
        """Its capacity this month."""
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


class Venue(Protocol):
    """A hub's customs and import quota (its local authority)."""

    hub: str

    def cargo_inspection_rate(self) -> float:
        """Share of outbound cargo inspected this month."""
        ...

    def passenger_inspection_rate(self) -> float:
        """Share of travellers searched this month."""
        ...

    def quota_pool(self) -> Pool | None:
        """Import room left this year as a pool; None without a cap."""
        ...


class Run(Protocol):
    """What agents read of the run they belong to."""

    cfg: Config
    month: int
    rng: np.random.Generator
    scarcity: float


class Market(Run, Protocol):
    """The month's state the channels list their options from."""

    domestic_supply_h100e: float
    gray_price_usd_per_h100e: float

    def venues(self) -> Iterable[Venue]:
        """Every hub's local authority."""
        ...

    def usable(self, kind: IntermediaryKind | None, hub: str) -> list[Party]:
        """Unlisted intermediaries of a kind in a hub, registered long enough to trade."""
        ...

    def check_probability(self, channel: str, hub: str) -> float:
        """Probability that the regulator's checks detect one illicit transaction in a cell."""
        ...


class MonthView(Run, Protocol):
    """What a lever acting on its own sees of a month, and what it may do."""

    sources: Sources
    arrivals: list[Shipment]
    firm_value_usd: np.ndarray
    firm_risk_aversion: np.ndarray

    def detected(self, firm_index: int, source: Source, quantity_h100e: float, months_delivered: int) -> None:
        """Fine, list and make news of a detection of a firm's compute from ``source``, as at a checkpoint."""
        ...

    def seize_stock(self, firm_index: int, source: Source, quantity_h100e: float) -> float:
        """Remove up to ``quantity_h100e`` of a firm's chips from ``source``; return what was removed."""
        ...
