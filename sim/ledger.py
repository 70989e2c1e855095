"""The firms' ledger: chips on their way and servers leased abroad, as arrays."""

from __future__ import annotations

from functools import cache
from typing import NamedTuple, Self

import numpy as np
from numba import njit


def _row(block: str, index: int, doc: str) -> property:
    """A column of a ledger table, stored as row ``index`` of its block ``block``."""
    return property(lambda table: getattr(table, block)[index], doc=doc)


class Shipments(NamedTuple):
    """Chips on their way to firms' stock, one entry per shipment, as blocks of columns."""

    indices: np.ndarray  # (3 x shipments) firm, source and due month
    amounts: np.ndarray  # (2 x shipments) H100e, and what the firm paid for them (USD)
    inference_only: np.ndarray  # inference chips: they serve inference demand only

    firm_index = _row("indices", 0, "Each shipment's firm.")
    source = _row("indices", 1, "Each shipment's source.")
    due_month = _row("indices", 2, "The month each arrives.")
    quantity_h100e = _row("amounts", 0, "Each shipment's chips.")
    value_usd = _row("amounts", 1, "What the firm paid for each.")

    @classmethod
    @cache
    def empty(cls) -> Self:
        """No shipment (one shared instance: arrays of no entries)."""
        return cls(np.zeros((3, 0), np.intp), np.zeros((2, 0)), np.zeros(0, bool))


class Leases(NamedTuple):
    """Servers leased abroad, each delivering a flow of compute from its start to its end month (exclusive)."""

    indices: np.ndarray  # (5 x leases) firm, source, operator row (whose capacity it holds), start and end month
    quantity_h100e: np.ndarray

    firm_index = _row("indices", 0, "Each lease's firm.")
    source = _row("indices", 1, "Each lease's source.")
    operator = _row("indices", 2, "The row of the operator whose capacity each lease holds.")
    start_month = _row("indices", 3, "The first month each delivers.")
    end_month = _row("indices", 4, "The month each has ended by.")

    @classmethod
    @cache
    def empty(cls) -> Self:
        """No lease (one shared instance: arrays of no entries)."""
        return cls(np.zeros((5, 0), np.intp), np.zeros(0))


def _split[T: (Shipments, Leases)](rows: T, taken: np.ndarray) -> tuple[T, T]:
    """The entries of ``rows`` where ``taken`` holds, and the others (blocks kept C-contiguous)."""
    if not taken.any():
        return type(rows).empty(), rows
    entries, others = taken.nonzero()[0], (~taken).nonzero()[0]
    return (
        type(rows)(*(block.take(entries, axis=-1) for block in rows)),
        type(rows)(*(block.take(others, axis=-1) for block in rows)),
    )


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
        self._booked_usd = np.zeros((0, 0))  # (sources x months of the run) value queued, grown as sources queue

    def schedule(self, orders: Scheduled, lease_months: int, months: int) -> None:
        """Record orders: chips on their way (queued behind a vendor's supply where it has one), or leases.

        A vendor's queue is first come, first served: laid end to end by value, a source's
        orders due in a month fill each month's room (supply less what is booked) from their due
        month on; an order that does not fit in one month is split, each part carrying its share
        of the value. What does not fit before the run's end is due after it: on order, never
        delivered.

        Args:
            orders: The orders, in the order they were placed (first come, first served).
            lease_months: How long a lease runs.
            months: Months in the run; a vendor queue stops there.
        """
        booked, queues = self._booked_usd, int(orders.source.max(initial=-1)) + 1
        if queues > len(booked) or booked.shape[1] != months:  # a row for every source ordered from
            self._booked_usd = np.zeros((max(queues, len(booked)), months))
            self._booked_usd[: len(booked), : booked.shape[1]] = booked[:, :months]
        shipments, leases = _schedule(
            tuple(orders), tuple(self.shipments), tuple(self.leases), self._booked_usd, lease_months
        )  # plain tuples: numba types a named one slowly
        self.shipments, self.leases = Shipments(*shipments), Leases(*leases)

    def cancel(self, sources: np.ndarray) -> Shipments:
        """Take shipments from ``sources`` (a flag per source) off the ledger, never delivered; empty their queues."""
        removed, self.shipments = _split(self.shipments, sources[self.shipments.source])
        self._booked_usd[sources[: len(self._booked_usd)]] = 0.0
        return removed

    def on_order_h100e(self, n_firms: int, sources: np.ndarray) -> np.ndarray:
        """What each firm has ordered from ``sources`` (a flag per source) and not yet received."""
        mine = sources[self.shipments.source]
        return np.bincount(self.shipments.firm_index[mine], self.shipments.quantity_h100e[mine], minlength=n_firms)

    def end_leases(self, month: int) -> Leases:
        """Take the leases that ran their term by ``month`` off the ledger and return them."""
        over, self.leases = _split(self.leases, self.leases.end_month <= month)
        return over

    def arrivals(self, month: int) -> Shipments:
        """Take the shipments due by ``month`` off the ledger and return them."""
        arriving, self.shipments = _split(self.shipments, self.shipments.due_month <= month)
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
        any_work, inference_only = _covered(
            stock_h100e, inference_stock_h100e, tuple(self.shipments), tuple(self.leases)
        )  # plain tuples: numba types a named one slowly
        return any_work, inference_only


@njit(cache=True)
def _covered(stock_h100e, inference_stock_h100e, shipments, leases):
    """The loop of :meth:`Ledger.covered_h100e`, compiled: (2 x firms) what serves any work, and inference only."""
    n = stock_h100e.size
    leased_h100e, coming_h100e, coming_inference_h100e = np.zeros(n), np.zeros(n), np.zeros(n)
    for k in range(leases[1].size):
        leased_h100e[leases[0][0, k]] += leases[1][k]
    firm, quantity_h100e, inference_only = shipments[0][0], shipments[1][0], shipments[2]
    for k in range(firm.size):
        if inference_only[k]:
            coming_inference_h100e[firm[k]] += quantity_h100e[k]
        else:
            coming_h100e[firm[k]] += quantity_h100e[k]
    covered = np.empty((2, n))
    covered[0] = stock_h100e - inference_stock_h100e + leased_h100e + coming_h100e
    covered[1] = inference_stock_h100e + coming_inference_h100e
    return covered


@njit(cache=True)
def _schedule(orders, shipments, leases, booked_usd, lease_months):
    """The ledger with the month's orders added (compiled; see :meth:`Ledger.schedule`).

    Shipments under way are followed by the orders shipped directly, in the order placed,
    then by those queued behind a vendor's supply: by source and due month, each group laid
    into the months with room (:func:`_fill`, ``booked_usd`` updated). Leases under way are
    followed by the new leases, in the order placed.

    Returns:
        The shipments' blocks and the leases' blocks, as in :class:`Shipments` and :class:`Leases`.
    """
    firm, source, quantity_h100e, spend_usd, due_month, stock, inference_only, operator, supply_usd = orders
    months = booked_usd.shape[1]
    queued = stock & ~np.isnan(supply_usd) & (spend_usd > 0)
    waiting = np.nonzero(queued)[0]
    key = source[waiting] * (due_month.max() + 1 if firm.size else 1) + due_month[waiting]
    by_key = np.argsort(key, kind="mergesort")  # by source, then due month; in the order placed within
    waiting, key = waiting[by_key], key[by_key]
    most = shipments[2].size + firm.size + len(waiting) * (months + 1)
    s_indices, s_values, s_inference = np.empty((3, most), np.int64), np.empty((2, most)), np.empty(most, np.bool_)
    s_firm, s_source, s_due = s_indices[0], s_indices[1], s_indices[2]
    s_quantity, s_value = s_values[0], s_values[1]
    count = shipments[2].size
    s_indices[:, :count], s_values[:, :count], s_inference[:count] = shipments[0], shipments[1], shipments[2]
    for k in range(firm.size):
        if stock[k] and not queued[k]:
            s_firm[count], s_source[count], s_quantity[count] = firm[k], source[k], quantity_h100e[k]
            s_due[count], s_value[count], s_inference[count] = due_month[k], spend_usd[k], inference_only[k]
            count += 1
    start = 0
    while start < len(waiting):
        first = waiting[start]
        end = start + 1
        while end < len(waiting) and key[end] == key[start]:
            end += 1
        group = waiting[start:end]
        booked = booked_usd[source[first]]
        rooms_usd = np.maximum(0.0, supply_usd[first] - booked[due_month[first] :])
        part_of, after, parts_usd = _fill(spend_usd[group], rooms_usd)
        for j in range(part_of.size):
            k = group[part_of[j]]
            due = due_month[first] + after[j]
            if due < months:
                booked[due] += parts_usd[j]
            s_firm[count], s_source[count] = firm[k], source[first]
            s_quantity[count] = quantity_h100e[k] * (parts_usd[j] / spend_usd[k])
            s_due[count], s_value[count], s_inference[count] = due, parts_usd[j], inference_only[k]
            count += 1
        start = end
    lease = np.nonzero(~stock)[0]
    before = leases[1].size
    l_indices, l_quantity = np.empty((5, before + lease.size), np.int64), np.empty(before + lease.size)
    l_indices[:, :before], l_quantity[:before] = leases[0], leases[1]
    l_indices[0, before:], l_indices[1, before:], l_indices[2, before:] = firm[lease], source[lease], operator[lease]
    l_indices[3, before:], l_indices[4, before:] = due_month[lease], due_month[lease] + lease_months
    l_quantity[before:] = quantity_h100e[lease]
    shipped = (np.ascontiguousarray(s_indices[:, :count]), np.ascontiguousarray(s_values[:, :count]))
    return (*shipped, s_inference[:count]), (l_indices, l_quantity)


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
