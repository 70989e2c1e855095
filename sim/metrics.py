"""What a run measures: the monthly tally, the monthly row and the per-run summary.

``column_docs()`` describes each column pattern (docs/ODD.md, section 4, observation).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd

from sim.channels import CHANNEL_NAMES, ILLICIT_CHANNELS
from sim.levers import LEVERS
from sim.sources import STOCKPILE

if TYPE_CHECKING:
    from sim.ledger import Shipment
    from sim.option_table import OptionTable
    from sim.sources import Sources
    from sim.transactions import Transaction

COLUMN_DOCS: dict[str, str] = {
    "month": "Month, YYYY-MM.",
    "demand_h100e_months": "Compute the firms wanted this month.",
    "access_h100e_months": "Compute the firms used this month (stock and leases, up to demand).",
    "access_ratio": "access / demand, in [0, 1].",
    "access_<source>": "Compute used by where it came from: stockpile or a channel.",
    "access_hub_<hub>": "Compute used that came through a hub (smuggled stock and leases).",
    "orders_hub_<hub>_h100e": "Volume ordered through a hub this month, all offshore channels.",
    "smuggled_hub_<hub>_h100e": "Chips shipped by smugglers through a hub this month.",
    "attempts_<channel>": "Transactions placed through a channel.",
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
    """Counters of one month, filled while the month's phases run."""

    def __init__(self, sources: Sources, n_firms: int) -> None:
        n_cells = len(sources.cells)
        self.sources = sources
        self._smuggled_source = sources.smuggled
        self.attempts = dict.fromkeys(CHANNEL_NAMES, 0)
        self.refusals = dict.fromkeys(CHANNEL_NAMES, 0)
        self.detections = dict.fromkeys(CHANNEL_NAMES, 0)
        self.orders_h100e = dict.fromkeys(CHANNEL_NAMES, 0.0)
        self.spend_usd = dict.fromkeys(CHANNEL_NAMES, 0.0)
        self.delivered_usd = dict.fromkeys(CHANNEL_NAMES, 0.0)
        self.cancelled_usd = dict.fromkeys(CHANNEL_NAMES, 0.0)
        self.orders_hub_h100e = dict.fromkeys(sources.hubs, 0.0)
        self.smuggled_hub_h100e = dict.fromkeys(sources.hubs, 0.0)
        self.own_detected = np.zeros((n_firms, n_cells))
        self.own_passed = np.zeros((n_firms, n_cells))
        self.public_detections = np.zeros(n_cells)
        self.smuggled_h100e = 0.0
        self.seized_h100e = 0.0
        self.delivered_smuggled_h100e = 0.0
        self.fines_usd = 0.0
        self.demand_h100e_months = 0.0
        self.access_by_source = np.zeros(len(sources.all))

    def record_attempt(self, t: Transaction, detected: bool, refused: bool = False) -> None:
        """Count a transaction that passed its checkpoints, was detected at one, or was refused."""
        channel = t.option.channel
        self.attempts[channel.name] += 1
        if refused:
            self.refusals[channel.name] += 1
            return
        self.orders_h100e[channel.name] += t.quantity_h100e
        self.spend_usd[channel.name] += t.spend_usd
        if t.option.hub is None:
            return
        self.detections[channel.name] += int(detected)
        self.orders_hub_h100e[t.option.hub] += t.quantity_h100e
        if channel.smuggles_chips():
            self.smuggled_h100e += t.quantity_h100e
            self.smuggled_hub_h100e[t.option.hub] += t.quantity_h100e
        if not channel.illicit:
            return
        cell = self.sources.cell(t.option.source)
        if detected:
            self.own_detected[t.firm_index, cell] += 1
            self.public_detections[cell] += 1
        else:
            self.own_passed[t.firm_index, cell] += 1

    def record_seizure(self, t: Transaction) -> None:
        """Count chips seized (smuggled chips only; a lost lease seizes no chips)."""
        if t.option.channel.smuggles_chips():
            self.seized_h100e += t.quantity_h100e

    def record_arrivals(self, shipments: list[Shipment]) -> None:
        """Count chips arriving in firms' stock: smuggled volume, and the value by channel."""
        for shipment in shipments:
            if self._smuggled_source[shipment.source]:
                self.delivered_smuggled_h100e += shipment.quantity_h100e
            self.delivered_usd[self.sources.all[shipment.source].channel] += shipment.value_usd

    def record_cancellations(self, shipments: list[Shipment]) -> None:
        """Count the value of chips never delivered because their channel closed."""
        for shipment in shipments:
            self.cancelled_usd[self.sources.all[shipment.source].channel] += shipment.value_usd

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
        return self.seized_h100e / self.smuggled_h100e if self.smuggled_h100e > 0 else 0.0


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
    lever_columns: dict[str, float]


def month_row(tally: MonthTally, table: OptionTable, state: MonthState) -> dict[str, float]:
    """The month's row of the time series (docs/ODD.md, section 4, observation)."""
    sources = tally.sources
    row: dict[str, float] = {
        "demand_h100e_months": tally.demand_h100e_months,
        "access_h100e_months": float(tally.access_by_source.sum()),
        "access_ratio": tally.access_ratio(),
    }
    row["access_stockpile"] = float(tally.access_by_source[sources.index(STOCKPILE)])
    for channel, value in zip(CHANNEL_NAMES, sources.by_channel @ tally.access_by_source, strict=True):
        row[f"access_{channel}"] = float(value)
    for hub, value in zip(sources.hubs, sources.by_hub @ tally.access_by_source, strict=True):
        row[f"access_hub_{hub}"] = float(value)
    for hub in sources.hubs:
        row[f"orders_hub_{hub}_h100e"] = tally.orders_hub_h100e[hub]
    for hub in sources.hubs:
        row[f"smuggled_hub_{hub}_h100e"] = tally.smuggled_hub_h100e[hub]
    per_channel = (
        ("attempts_{}", tally.attempts),
        ("orders_{}_h100e", tally.orders_h100e),
        ("spend_{}_usd", tally.spend_usd),
        ("refusals_{}", tally.refusals),
        ("delivered_{}_usd", tally.delivered_usd),
        ("cancelled_{}_usd", tally.cancelled_usd),
    )
    for pattern, counts in per_channel:
        for channel in CHANNEL_NAMES:
            row[pattern.format(channel)] = counts[channel]
    for channel in ILLICIT_CHANNELS:
        row[f"detections_{channel}"] = tally.detections[channel]
    row["detection_rate"] = _rate(
        sum(tally.detections[c] for c in ILLICIT_CHANNELS), sum(tally.attempts[c] for c in ILLICIT_CHANNELS)
    )
    for channel in ILLICIT_CHANNELS:
        row[f"detection_rate_{channel}"] = _rate(tally.detections[channel], tally.attempts[channel])
    row["smuggled_h100e"] = tally.smuggled_h100e
    row["seized_h100e"] = tally.seized_h100e
    row["delivered_smuggled_h100e"] = tally.delivered_smuggled_h100e
    row["listed_entities"] = state.listed_entities
    row["active_intermediaries"] = state.active_intermediaries
    for channel in CHANNEL_NAMES:
        row[f"price_{channel}_usd_per_h100e_month"] = table.mean_cost_usd_per_h100e_month(channel)
    row["legit_denied_h100e_months"] = state.legit_denied_h100e_months
    row["domestic_supply_h100e"] = state.domestic_supply_h100e
    row["gray_price_usd_per_h100e"] = state.gray_price_usd_per_h100e
    row["list_price_usd_per_h100e"] = state.list_price_usd_per_h100e
    row["audits"] = state.audits
    row["fines_usd"] = tally.fines_usd
    row.update(state.lever_columns)
    return row


def summarise(timeseries: pd.DataFrame, seed: int, first_detection_month: int) -> dict[str, float | int]:
    """Per-run metrics: totals and means of the monthly series, shares and rates.

    Args:
        timeseries: The run's monthly rows.
        seed: The run's seed.
        first_detection_month: Month index of the first detection, -1 if none.
    """
    ts = timeseries
    not_summed = ("price_", "gray_price_", "list_price_", "detection_rate")  # prices and rates
    total = {c: float(ts[c].sum()) for c in ts.columns if c != "month" and not c.startswith(not_summed)}
    summary: dict[str, float | int] = {"seed": seed, "months": len(ts)}
    for column in ("demand_h100e_months", "access_h100e_months", "smuggled_h100e", "seized_h100e"):
        summary[f"{column}_total"] = total[column]
    summary["access_ratio"] = (
        total["access_h100e_months"] / total["demand_h100e_months"] if total["demand_h100e_months"] > 0 else 1.0
    )
    summary["access_ratio_mean"] = float(ts["access_ratio"].mean())
    summary["access_ratio_final"] = float(ts["access_ratio"].iloc[-1])
    access = total["access_h100e_months"]
    for source in ("stockpile", *CHANNEL_NAMES):
        summary[f"access_{source}_total"] = total[f"access_{source}"]
        summary[f"channel_share_{source}"] = total[f"access_{source}"] / access if access > 0 else 0.0
    for column in ts.columns:
        if column.startswith(("access_hub_", "orders_", "spend_", "refusals_", "smuggled_hub_", "cancelled_")) or (
            column.startswith("delivered_") and column.endswith("_usd")
        ):
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
    summary["listed_entities_final"] = int(ts["listed_entities"].iloc[-1])
    summary["legit_denied_h100e_months_total"] = total["legit_denied_h100e_months"]
    summary["audits_total"] = total["audits"]
    summary["fines_usd_total"] = total["fines_usd"]
    summary["first_detection_month"] = first_detection_month
    return summary
