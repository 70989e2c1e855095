"""The firms' ledger: chips on their way and servers leased abroad, as arrays."""

from __future__ import annotations

from typing import NamedTuple, Self

import numpy as np
from numba import njit


class Shipments(NamedTuple):
    """Chips on their way to firms' stock, one entry per shipment."""

    firm_index: np.ndarray
    source: np.ndarray
    quantity_h100e: np.ndarray
    due_month: np.ndarray
    value_usd: np.ndarray  # what the firm paid for it
    inference_only: np.ndarray  # inference chips: they serve inference demand only

    @classmethod
    def empty(cls) -> Self:
        """No shipment."""
        return cls(*(np.zeros(0, dtype) for dtype in (np.intp, np.intp, float, np.intp, float, bool)))


class Leases(NamedTuple):
    """Servers leased abroad, each delivering a flow of compute from its start to its end month (exclusive)."""

    firm_index: np.ndarray
    source: np.ndarray
    operator: np.ndarray  # the row of the operator whose capacity each lease holds
    quantity_h100e: np.ndarray
    start_month: np.ndarray
    end_month: np.ndarray

    @classmethod
    def empty(cls) -> Self:
        """No lease."""
        return cls(*(np.zeros(0, dtype) for dtype in (np.intp, np.intp, np.intp, float, np.intp, np.intp)))


def _select[T: (Shipments, Leases)](rows: T, keep: np.ndarray) -> T:
    """The entries of ``rows`` where ``keep`` holds."""
    return type(rows)(*(column[keep] for column in rows))


def _join[T: (Shipments, Leases)](rows: T, *more: T) -> T:
    """``rows`` followed by the entries of ``more``, in order."""
    more = tuple(part for part in more if len(part[0]))
    if not more:
        return rows
    return type(rows)(*(np.concatenate(columns) for columns in zip(rows, *more, strict=True)))


class Scheduled(NamedTuple):
    """Orders that passed (or were not stopped), with what their options deliver."""

    firm_index: np.ndarray
    source: np.ndarray
    quantity_h100e: np.ndarray
    spend_usd: np.ndarray
    due_month: np.ndarray  # first month of delivered compute
    stock: np.ndarray  # chips for the stock (else a lease)
    inference_only: np.ndarray
    operator: np.ndarray  # the operator row of a lease (-1 for chips)
    supply_usd_per_month: np.ndarray  # the vendor's supply of the channel; NaN: no vendor queue


class Ledger:
    """Every firm's shipments under way and leases running.

    Attributes:
        shipments: Chips ordered and not yet arrived.
        leases: Leases not yet ended (some may start later).
    """

    def __init__(self) -> None:
        self.shipments = Shipments.empty()
        self.leases = Leases.empty()
        self._booked_usd: dict[int, np.ndarray] = {}  # source -> value queued for each month of the run

    def schedule(self, orders: Scheduled, lease_months: int, months: int) -> None:
        """Record orders: chips on their way (queued behind a vendor's supply where it has one), or leases.

        Args:
            orders: The orders, in the order they were placed (first come, first served).
            lease_months: How long a lease runs.
            months: Months in the run; a vendor queue stops there.
        """
        stock = orders.stock
        queued = stock & ~np.isnan(orders.supply_usd_per_month) & (orders.spend_usd > 0)
        direct = stock & ~queued
        parts = [
            Shipments(
                orders.firm_index[direct],
                orders.source[direct],
                orders.quantity_h100e[direct],
                orders.due_month[direct],
                orders.spend_usd[direct],
                orders.inference_only[direct],
            )
        ]
        keys = sorted(set(zip(orders.source[queued].tolist(), orders.due_month[queued].tolist(), strict=True)))
        for source, due in keys:
            group = np.nonzero(queued & (orders.source == source) & (orders.due_month == due))[0]
            parts.append(self._queue(orders, group, source, due, months))
        lease = ~stock
        start = orders.due_month[lease]
        leased = Leases(
            orders.firm_index[lease],
            orders.source[lease],
            orders.operator[lease],
            orders.quantity_h100e[lease],
            start,
            start + lease_months,
        )
        self.shipments = _join(self.shipments, *parts)
        self.leases = _join(self.leases, leased)

    def _queue(self, orders: Scheduled, group: np.ndarray, source: int, due_month: int, months: int) -> Shipments:
        """Ship a source's orders due in one month (rows ``group`` of ``orders``) in the first months with supply left.

        First come, first served: laid end to end by value, the orders fill each month's room
        (supply less what is booked) from their due month on; an order that does not fit in one
        month is split, each part carrying its share of the value. What does not fit before the
        run's end (``months``) is due after it: on order, never delivered.
        """
        booked = self._booked_usd.setdefault(source, np.zeros(months))
        rooms_usd = np.maximum(0.0, float(orders.supply_usd_per_month[group[0]]) - booked[due_month:])
        spend_usd = orders.spend_usd[group]
        part_of, after, parts_usd = _fill(spend_usd, rooms_usd)
        order = group[part_of]
        due = due_month + after
        in_run = due < months
        np.add.at(booked, due[in_run], parts_usd[in_run])
        return Shipments(
            orders.firm_index[order],
            np.full(len(order), source),
            orders.quantity_h100e[order] * (parts_usd / spend_usd[part_of]),
            due,
            parts_usd,
            orders.inference_only[order],
        )

    def cancel(self, sources: set[int]) -> Shipments:
        """Take the shipments from ``sources`` off the ledger (never delivered), empty their queues, return them."""
        cancelled = np.isin(self.shipments.source, list(sources))
        removed = _select(self.shipments, cancelled)
        self.shipments = _select(self.shipments, ~cancelled)
        for source in sources:
            self._booked_usd.pop(source, None)
        return removed

    def on_order_h100e(self, n_firms: int, sources: set[int]) -> np.ndarray:
        """What each firm has ordered from ``sources`` and not yet received."""
        mine = np.isin(self.shipments.source, list(sources))
        return np.bincount(self.shipments.firm_index[mine], self.shipments.quantity_h100e[mine], minlength=n_firms)

    def end_leases(self, month: int) -> Leases:
        """Take the leases that ran their term by ``month`` off the ledger and return them."""
        ended = self.leases.end_month <= month
        over = _select(self.leases, ended)
        self.leases = _select(self.leases, ~ended)
        return over

    def arrivals(self, month: int) -> Shipments:
        """Take the shipments due by ``month`` off the ledger and return them."""
        due = self.shipments.due_month <= month
        arriving = _select(self.shipments, due)
        self.shipments = _select(self.shipments, ~due)
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
        n = len(stock_h100e)
        s, leases = self.shipments, self.leases
        inference = s.inference_only
        any_work = (
            stock_h100e
            - inference_stock_h100e
            + np.bincount(leases.firm_index, leases.quantity_h100e, minlength=n)
            + np.bincount(s.firm_index[~inference], s.quantity_h100e[~inference], minlength=n)
        )
        return any_work, inference_stock_h100e + np.bincount(
            s.firm_index[inference], s.quantity_h100e[inference], minlength=n
        )

    def leased_flow(self, month: int, shape: tuple[int, int]) -> np.ndarray:
        """(firms x sources) compute flowing from leases that have started by ``month``."""
        flow = np.zeros(shape)
        started = self.leases.start_month <= month
        np.add.at(
            flow, (self.leases.firm_index[started], self.leases.source[started]), self.leases.quantity_h100e[started]
        )
        return flow


@njit(cache=True)
def _fill(spend_usd: np.ndarray, rooms_usd: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lay orders end to end into monthly rooms, first come first served (compiled).

    Args:
        spend_usd: Each order's value, in the order placed (all positive).
        rooms_usd: Room left in each month from the due month on; unlimited after the last.

    Returns:
        For each part: the order it belongs to, its month (months after the due month), its value.
    """
    most = spend_usd.size + rooms_usd.size
    order, after, part_usd = np.empty(most, np.int64), np.empty(most, np.int64), np.empty(most)
    parts, k, m = 0, 0, 0
    order_left = spend_usd[0]
    room_left = rooms_usd[0] if rooms_usd.size else np.inf
    while k < spend_usd.size:
        take = min(order_left, room_left)
        if take > 0:
            order[parts], after[parts], part_usd[parts] = k, m, take
            parts += 1
        order_left -= take
        room_left -= take
        if order_left <= 0:
            k += 1
            if k < spend_usd.size:
                order_left = spend_usd[k]
        if room_left <= 0:
            m += 1
            room_left = rooms_usd[m] if m < rooms_usd.size else np.inf
    return order[:parts], after[:parts], part_usd[:parts]
