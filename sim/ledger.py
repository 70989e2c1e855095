"""The firms' ledger: chips on their way and servers leased abroad."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.channels import Delivery

if TYPE_CHECKING:
    from sim.protocols import Party
    from sim.transactions import Transaction


@dataclass(frozen=True, slots=True)
class Shipment:
    """Chips on their way to a firm's stock."""

    firm_index: int
    source: int
    quantity_h100e: float
    due_month: int
    value_usd: float = 0.0  # what the firm paid for it
    inference_only: bool = False  # an inference chip: it serves inference demand only


@dataclass(frozen=True, slots=True)
class Lease:
    """Servers leased abroad, delivering a flow of compute from ``start`` to ``end`` (exclusive)."""

    firm_index: int
    source: int
    operator: Party
    quantity_h100e: float
    start_month: int
    end_month: int


class Ledger:
    """Every firm's shipments under way and leases running.

    Attributes:
        shipments: Chips ordered and not yet arrived.
        leases: Leases not yet ended (some may start later).
    """

    def __init__(self) -> None:
        self.shipments: list[Shipment] = []
        self.leases: list[Lease] = []
        self._booked_usd: dict[int, dict[int, float]] = {}  # source -> due month -> value queued

    def ship(self, shipment: Shipment) -> None:
        """Record chips on their way."""
        self.shipments.append(shipment)

    def lease(self, lease: Lease) -> None:
        """Record a lease; its operator's capacity was committed when the order was placed."""
        self.leases.append(lease)

    def schedule(self, t: Transaction, source: int, month: int, cfg: Any) -> None:
        """Record an order that passed (or was not stopped): chips on their way, or a lease."""
        option, firm_index, quantity_h100e = t.option, t.firm_index, t.quantity_h100e
        start = month + option.channel.lead_time_months(cfg)
        if option.channel.delivers is Delivery.STOCK:
            inference_only = option.chip in cfg.world.inference_chips
            order = Shipment(firm_index, source, quantity_h100e, start, t.spend_usd, inference_only)
            supply_usd = option.channel.supply_usd_per_month(cfg)
            if supply_usd is None or t.spend_usd <= 0:
                self.ship(order)
            else:
                self._queue(order, supply_usd, cfg.months)
        else:
            end = start + cfg.world.market.lease_months
            self.lease(Lease(firm_index, source, option.operator, quantity_h100e, start, end))

    def _queue(self, order: Shipment, supply_usd_per_month: float, months: int) -> None:
        """Ship an order in the first months, from its due month, with vendor supply left (first come, first served).

        An order that does not fit in one month is split; each part carries its share of the value.
        What does not fit before the run's end (``months``) is due after it: on order, never delivered.
        """
        booked = self._booked_usd.setdefault(order.source, {})
        left_usd, month = order.value_usd, order.due_month
        while left_usd > 0:
            room_usd = supply_usd_per_month - booked.get(month, 0.0) if month < months else left_usd
            part_usd = min(left_usd, room_usd)
            if part_usd > 0:
                booked[month] = booked.get(month, 0.0) + part_usd
                share = part_usd / order.value_usd
                self.ship(
                    replace(order, quantity_h100e=order.quantity_h100e * share, due_month=month, value_usd=part_usd)
                )
                left_usd -= part_usd
            month += 1

    def cancel(self, sources: set[int]) -> list[Shipment]:
        """Take the shipments from ``sources`` off the ledger (never delivered), empty their queues, return them."""
        cancelled = [s for s in self.shipments if s.source in sources]
        self.shipments = [s for s in self.shipments if s.source not in sources]
        for source in sources:
            self._booked_usd.pop(source, None)
        return cancelled

    def on_order_h100e(self, firm_index: int, sources: set[int]) -> float:
        """What a firm has ordered from ``sources`` and not yet received."""
        return sum(s.quantity_h100e for s in self.shipments if s.firm_index == firm_index and s.source in sources)

    def end_leases(self, month: int) -> None:
        """Leases that ran their term free their operators' capacity."""
        for lease in self.leases:
            if lease.end_month <= month:
                lease.operator.release(lease.quantity_h100e)
        self.leases = [lease for lease in self.leases if lease.end_month > month]

    def arrivals(self, month: int) -> list[Shipment]:
        """Take the shipments due by ``month`` off the ledger and return them."""
        arriving = [s for s in self.shipments if s.due_month <= month]
        self.shipments = [s for s in self.shipments if s.due_month > month]
        for booked in self._booked_usd.values():
            for due in [m for m in booked if m <= month]:
                del booked[due]
        return arriving

    def covered_h100e(
        self, stock_h100e: np.ndarray, inference_stock_h100e: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per firm, what covers its demand: stock plus compute leased or on its way, split by use.

        Args:
            stock_h100e: Per firm, all its chips.
            inference_stock_h100e: Per firm, its inference chips (part of ``stock_h100e``).

        Returns:
            What can serve any work (leases included), and what serves inference only.
        """
        any_work = stock_h100e - inference_stock_h100e
        inference = inference_stock_h100e.copy()
        for lease in self.leases:
            any_work[lease.firm_index] += lease.quantity_h100e
        for shipment in self.shipments:
            (inference if shipment.inference_only else any_work)[shipment.firm_index] += shipment.quantity_h100e
        return any_work, inference

    def leased_flow(self, month: int, shape: tuple[int, int]) -> np.ndarray:
        """(firms x sources) compute flowing from leases that have started by ``month``."""
        flow = np.zeros(shape)
        for lease in self.leases:
            if lease.start_month <= month:
                flow[lease.firm_index, lease.source] += lease.quantity_h100e
        return flow
