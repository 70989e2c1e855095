"""What a run measures: the monthly tally, the monthly row and the per-run summary.

``column_docs()`` describes each column pattern (docs/ODD.md, section 4, observation).
"""

from __future__ import annotations

import math
from functools import cache
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd
from numba import njit
from pandas.api.internals import create_dataframe_from_blocks

from sim.channels import CHANNEL_NAMES, ILLICIT_CHANNELS
from sim.levers import LEVERS
from sim.sources import STOCKPILE
from sim.timeline import month_labels

if TYPE_CHECKING:
    from sim.ledger import Shipments
    from sim.levers.base import Lever
    from sim.option_table import OptionTable
    from sim.sources import Sources
    from sim.transactions import Orders, Transaction

COLUMN_DOCS: dict[str, str] = {
    "month": "Month, YYYY-MM.",
    "demand_h100e_months": "Compute the firms wanted this month.",
    "access_h100e_months": "Compute the firms used this month (stock and leases, up to demand).",
    "access_ratio": "access / demand, in [0, 1].",
    "access_<source>": "Compute used by where it came from: stockpile or a channel.",
    "access_hub_<hub>": "Compute used that came through a hub (smuggled stock and leases).",
    "orders_hub_<hub>_h100e": "Volume ordered through a hub this month, all offshore channels.",
    "smuggled_hub_<hub>_h100e": "Chips shipped by smugglers through a hub this month.",
    "imports_hub_<hub>_h100e": "Chips imported into a hub this month: operators' new capacity and smuggling orders.",
    "attempts_<channel>": "Transactions placed through a channel, refused ones included.",
    "orders_<channel>_h100e": "Compute ordered through a channel this month, refused orders excluded (H100e of work).",
    "spend_<channel>_usd": "Money committed to a channel this month (chips' price, whole leases), refusals excluded.",
    "refusals_<channel>": "Orders refused by a screening that only refuses (no rule makes them illicit).",
    "delivered_<channel>_usd": "Value (order price) of the chips of a channel that reached firms this month.",
    "cancelled_<channel>_usd": "Value of chips ordered but never delivered because their channel closed.",
    "detections_<channel>": "Transactions detected (illicit channels).",
    "detection_rate": "Detections / attempts over the illicit channels (NaN with no attempt).",
    "detection_rate_<channel>": "Detections / attempts of an illicit channel (NaN with no attempt).",
    "smuggled_h100e": "Chips shipped by smugglers this month (seized or not).",
    "seized_h100e": "Smuggled chips seized this month.",
    "delivered_smuggled_h100e": "Smuggled chips that reached a firm this month.",
    "listed_entities": "Intermediaries and firms entity-listed so far.",
    "active_intermediaries": "Intermediaries registered, unlisted and usable.",
    "price_<channel>_usd_per_h100e_month": "Mean offered cost of a channel's options (NaN when closed).",
    "legit_denied_h100e_months": "Legitimate demand refused by KYC or lost to capacity cuts.",
    "domestic_supply_h100e": "Domestic accelerators supplied this month, bought by the modelled firms or not.",
    "gray_price_usd_per_h100e": "Gray-market price of an H100e of chips in a hub, before fees and shipping.",
    "list_price_usd_per_h100e": "List price of an H100e of Nvidia's chips outside China.",
    "audits": "End-use checks carried out by the regulator.",
    "fines_usd": "Fines levied this month on firms and operators.",
}


def column_docs() -> dict[str, str]:
    """Every time-series column pattern with its meaning, the levers' own columns included."""
    return COLUMN_DOCS | {name: doc for lever in LEVERS.values() for name, doc in lever.columns.items()}


class MonthTally:
    """Counters of one month, filled while the month's phases run.

    Per-channel counters are arrays in ``CHANNEL_NAMES`` order; per-hub ones in hub order.
    """

    def __init__(self, sources: Sources, n_firms: int) -> None:
        n_cells, n_channels, n_hubs = len(sources.cells), len(CHANNEL_NAMES), len(sources.hubs)
        self.sources = sources
        self.attempts = np.zeros(n_channels, dtype=int)
        self.refusals = np.zeros(n_channels, dtype=int)
        self.detections = np.zeros(n_channels, dtype=int)
        self.orders_h100e = np.zeros(n_channels)
        self.spend_usd = np.zeros(n_channels)
        self.delivered_usd = np.zeros(n_channels)
        self.cancelled_usd = np.zeros(n_channels)
        self.orders_hub_h100e = np.zeros(n_hubs)
        self.smuggled_hub_h100e = np.zeros(n_hubs)
        self.imports_hub_h100e = np.zeros(n_hubs)
        self.own_detected = np.zeros((n_firms, n_cells))
        self.own_passed = np.zeros((n_firms, n_cells))
        self.public_detections = np.zeros(n_cells)
        self.seized_h100e = 0.0
        self.delivered_smuggled_h100e = 0.0
        self.fines_usd = 0.0
        self.demand_h100e_months = 0.0
        self.access_by_source = np.zeros(len(sources.all))

    @property
    def smuggled_h100e(self) -> float:
        """Chips shipped by smugglers this month."""
        return float(self.smuggled_hub_h100e.sum())

    def record_attempts(self, orders: Orders, table: OptionTable, detected: np.ndarray, refused: np.ndarray) -> None:
        """Count the month's transactions: refused, detected at a checkpoint, or passed.

        Args:
            orders: The month's orders.
            table: The option table they were placed through.
            detected: Which were detected at a penalising checkpoint.
            refused: Which a refusal-only screening refused (not counted further).
        """
        _count_attempts(
            (orders.option, orders.firm_index, orders.quantity_h100e, orders.spend_usd, detected, refused),
            (table.channel, table.hub, table.cell, table.smuggles, table.illicit),
            (self.attempts, self.refusals, self.detections),
            (self.orders_h100e, self.spend_usd, self.orders_hub_h100e, self.smuggled_hub_h100e),
            (self.own_detected, self.own_passed, self.public_detections),
        )

    def record_seizure(self, t: Transaction) -> None:
        """Count chips seized (smuggled chips only; a lost lease seizes no chips)."""
        if t.channel.smuggles_chips():
            self.seized_h100e += t.quantity_h100e

    def _by_channel_usd(self, shipments: Shipments) -> np.ndarray:
        by_source = np.bincount(shipments.source, shipments.value_usd, minlength=len(self.sources.all))
        return self.sources.per_channel(by_source)

    def record_arrivals(self, shipments: Shipments) -> None:
        """Count chips arriving in firms' stock: smuggled volume, and the value by channel."""
        smuggled = self.sources.smuggled[shipments.source]
        self.delivered_smuggled_h100e += float(shipments.quantity_h100e[smuggled].sum())
        self.delivered_usd += self._by_channel_usd(shipments)

    def record_cancellations(self, shipments: Shipments) -> None:
        """Count the value of chips never delivered because their channel closed."""
        self.cancelled_usd += self._by_channel_usd(shipments)

    def record_use(self, demand: np.ndarray, used: np.ndarray) -> None:
        """Record demand and the compute used, by firm and source."""
        self.demand_h100e_months = float(demand.sum())
        self.access_by_source = used.sum(axis=0)

    def access_ratio(self) -> float:
        """Compute used over compute wanted (1 when nothing is wanted)."""
        if self.demand_h100e_months <= 0:
            return 1.0
        return min(1.0, float(self.access_by_source.sum()) / self.demand_h100e_months)

    def seized_share(self) -> float:
        """Share of this month's smuggled chips that were seized."""
        smuggled = self.smuggled_h100e
        return self.seized_h100e / smuggled if smuggled > 0 else 0.0


@njit(cache=True)
def _count_attempts(orders, options, counts, volumes, learned):
    """The loop of :meth:`MonthTally.record_attempts`, compiled: each order in turn adds to the counters.

    Every order is an attempt of its channel; a refused one counts as refused and nothing
    more. The others count their volume and spend by channel; offshore, their volume by hub
    (and the smuggled volume), their detections by channel; in an illicit channel, the
    firm's own detections or passes in the option's belief cell, and public detections.
    """
    option, firm, quantity_h100e, spend_usd, detected, refused = orders
    channel_of, hub_of, cell_of, smuggles, illicit = options
    attempts, refusals, detections = counts
    orders_h100e, channel_spend_usd, orders_hub_h100e, smuggled_hub_h100e = volumes
    own_detected, own_passed, public_detections = learned
    for k in range(option.size):
        o = option[k]
        channel, hub, cell = channel_of[o], hub_of[o], cell_of[o]
        attempts[channel] += 1
        if refused[k]:
            refusals[channel] += 1
            continue
        orders_h100e[channel] += quantity_h100e[k]
        channel_spend_usd[channel] += spend_usd[k]
        if hub < 0:
            continue
        orders_hub_h100e[hub] += quantity_h100e[k]
        if smuggles[o]:
            smuggled_hub_h100e[hub] += quantity_h100e[k]
        if detected[k]:
            detections[channel] += 1
        if illicit[o] and detected[k]:
            own_detected[firm[k], cell] += 1
            public_detections[cell] += 1
        elif illicit[o]:
            own_passed[firm[k], cell] += 1


def _rate(detections: int, attempts: int) -> float:
    return detections / attempts if attempts else float("nan")


class MonthState(NamedTuple):
    """Month-end values read off the agents for the month's row."""

    listed_entities: int
    active_intermediaries: int
    legit_denied_h100e_months: float
    domestic_supply_h100e: float
    gray_price_usd_per_h100e: float
    list_price_usd_per_h100e: float
    audits: float
    lever_values: list[float]  # the levers' columns, in ``RowLayout.columns`` order


#: The illicit channels' indices in ``CHANNEL_NAMES``.
_ILLICIT = np.array([CHANNEL_NAMES.index(c) for c in ILLICIT_CHANNELS], dtype=np.intp)


class RowLayout:
    """The time series' columns in order (docs/ODD.md, section 4, observation): what each month's row holds.

    A layout is never changed: runs with the same hubs and levers share one (:func:`row_layout`).

    Attributes:
        columns: Column names, in row order; the levers' own columns last.
        counts: The columns that count (integers in the time series).
    """

    def __init__(self, hubs: tuple[str, ...], levers: tuple[type[Lever], ...]) -> None:
        channels, illicit = CHANNEL_NAMES, ILLICIT_CHANNELS

        def each(pattern: str, names: tuple[str, ...]) -> list[str]:
            return [pattern.format(name) for name in names]

        counts = [*each("attempts_{}", channels), *each("refusals_{}", channels), *each("detections_{}", illicit)]
        self.counts = (
            *counts,
            "listed_entities",
            "active_intermediaries",
            *(c for lever in levers for c in lever.counts),
        )
        self.columns = (
            "demand_h100e_months",
            "access_h100e_months",
            "access_ratio",
            "access_stockpile",
            *each("access_{}", channels),
            *each("access_hub_{}", hubs),
            *each("orders_hub_{}_h100e", hubs),
            *each("smuggled_hub_{}_h100e", hubs),
            *each("imports_hub_{}_h100e", hubs),
            *each("attempts_{}", channels),
            *each("orders_{}_h100e", channels),
            *each("spend_{}_usd", channels),
            *each("refusals_{}", channels),
            *each("delivered_{}_usd", channels),
            *each("cancelled_{}_usd", channels),
            *each("detections_{}", illicit),
            "detection_rate",
            *each("detection_rate_{}", illicit),
            "smuggled_h100e",
            "seized_h100e",
            "delivered_smuggled_h100e",
            "listed_entities",
            "active_intermediaries",
            *each("price_{}_usd_per_h100e_month", channels),
            "legit_denied_h100e_months",
            "domestic_supply_h100e",
            "gray_price_usd_per_h100e",
            "list_price_usd_per_h100e",
            "audits",
            "fines_usd",
            *(column for lever in levers for column in lever.columns),
        )
        self._is_count = np.isin(self.columns, self.counts)
        place = np.arange(1, 1 + len(self.columns))
        self._places = place[~self._is_count], place[self._is_count]
        for shared in (self._is_count, *self._places):
            shared.flags.writeable = False  # shared by every run with this layout (``row_layout``)
        self._frame_columns = pd.Index(["month", *self.columns])

    def frame(self, start: str, values: np.ndarray) -> pd.DataFrame:
        """The months simulated from ``start`` as a DataFrame: ``month`` (YYYY-MM) first, then ``values``.

        ``values`` is (months x columns); counts become integers. The frame is made of its three
        blocks (labels, values, counts) as pandas would lay them out, without a step per column.
        """
        is_count, (amount_places, count_places) = self._is_count, self._places
        return create_dataframe_from_blocks(
            [
                (pd.array(month_labels(start, len(values)), dtype="str"), np.array([0])),
                (values.T[~is_count].copy(), amount_places),
                (values.T[is_count].astype(np.int64), count_places),
            ],
            index=pd.RangeIndex(len(values)),
            columns=self._frame_columns,
        )


@cache
def row_layout(hubs: tuple[str, ...], levers: tuple[type[Lever], ...]) -> RowLayout:
    """The layout of runs with these hubs and levers (lever classes, in registry order), built once per process."""
    return RowLayout(hubs, levers)


def month_row(tally: MonthTally, table: OptionTable, state: MonthState) -> np.ndarray:
    """The month's row of the time series, in ``RowLayout.columns`` order."""
    sources, access = tally.sources, tally.access_by_source
    detections, attempts = tally.detections[_ILLICIT], tally.attempts[_ILLICIT]
    rates = np.divide(detections, attempts, out=np.full(len(attempts), np.nan), where=attempts > 0)
    return np.concatenate(
        [
            [tally.demand_h100e_months, access.sum(), tally.access_ratio(), access[sources.index(STOCKPILE)]],
            sources.per_channel(access),
            sources.per_hub(access),
            tally.orders_hub_h100e,
            tally.smuggled_hub_h100e,
            tally.imports_hub_h100e,
            tally.attempts,
            tally.orders_h100e,
            tally.spend_usd,
            tally.refusals,
            tally.delivered_usd,
            tally.cancelled_usd,
            detections,
            [_rate(int(detections.sum()), int(attempts.sum()))],
            rates,
            [tally.smuggled_h100e, tally.seized_h100e, tally.delivered_smuggled_h100e],
            [state.listed_entities, state.active_intermediaries],
            table.mean_cost_usd_per_h100e_month(),
            [state.legit_denied_h100e_months, state.domestic_supply_h100e, state.gray_price_usd_per_h100e],
            [state.list_price_usd_per_h100e, state.audits, tally.fines_usd],
            state.lever_values,
        ],
        dtype=float,
    )


def summarise(columns: list[str], values: np.ndarray, seed: int, first_detection_month: int) -> dict[str, float | int]:
    """Per-run metrics: totals and means of the monthly series, shares and rates.

    Args:
        columns: The time series' columns (``RowLayout.columns``).
        values: (months x columns) the monthly rows.
        seed: The run's seed.
        first_detection_month: Month index of the first detection, -1 if none (NaN in the summary,
            so that a mean over runs is over the runs with a detection).
    """
    values = np.asfortranarray(values)  # each column contiguous: summed pairwise, as one array
    series = dict(zip(columns, values.T, strict=True))
    not_summed = ("price_", "gray_price_", "list_price_", "detection_rate")  # prices and rates
    sums = np.nansum(values, axis=0)  # one pass over every column (NaN skipped)
    total = {c: float(v) for c, v in zip(columns, sums, strict=True) if not c.startswith(not_summed)}
    summary: dict[str, float | int] = {"seed": seed, "months": len(values)}
    for column in ("demand_h100e_months", "access_h100e_months", "smuggled_h100e", "seized_h100e"):
        summary[f"{column}_total"] = total[column]
    summary["access_ratio"] = (
        total["access_h100e_months"] / total["demand_h100e_months"] if total["demand_h100e_months"] > 0 else 1.0
    )
    summary["access_ratio_mean"] = float(np.nanmean(series["access_ratio"]))
    summary["access_ratio_final"] = float(series["access_ratio"][-1])
    access = total["access_h100e_months"]
    for source in ("stockpile", *CHANNEL_NAMES):
        summary[f"access_{source}_total"] = total[f"access_{source}"]
        summary[f"channel_share_{source}"] = total[f"access_{source}"] / access if access > 0 else 0.0
    for column in columns:
        if column.startswith(
            ("access_hub_", "orders_", "spend_", "refusals_", "smuggled_hub_", "imports_hub_", "cancelled_")
        ) or (column.startswith("delivered_") and column.endswith("_usd")):
            summary[f"{column}_total"] = total[column]
    illicit_attempts = sum(total[f"attempts_{c}"] for c in ILLICIT_CHANNELS)
    illicit_detections = sum(total[f"detections_{c}"] for c in ILLICIT_CHANNELS)
    summary["attempts_illicit_total"] = int(illicit_attempts)
    summary["detections_total"] = int(illicit_detections)
    summary["detection_rate"] = _rate(illicit_detections, illicit_attempts)
    for channel in ILLICIT_CHANNELS:
        summary[f"attempts_{channel}_total"] = int(total[f"attempts_{channel}"])
        summary[f"detections_{channel}_total"] = int(total[f"detections_{channel}"])
        summary[f"detection_rate_{channel}"] = _rate(total[f"detections_{channel}"], total[f"attempts_{channel}"])
    for lever in LEVERS.values():
        for column in lever.columns:
            summary[f"{column}_total"] = total[column]
    summary["listed_entities_final"] = int(series["listed_entities"][-1])
    summary["legit_denied_h100e_months_total"] = total["legit_denied_h100e_months"]
    summary["audits_total"] = total["audits"]
    summary["fines_usd_total"] = total["fines_usd"]
    summary["first_detection_month"] = first_detection_month if first_detection_month >= 0 else math.nan
    return summary
