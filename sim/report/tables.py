"""Tidy tables for the figure functions, from sweep results (one run's table: ``sim.report.one_run``).

Every number a report figure plots comes from one of these tables, which the report writes beside
the figure as CSV. Means and 95% intervals are across the replications of a point; factors
a table does not show are pooled (their runs count as further replications).
"""

from __future__ import annotations

import pandas as pd

from sim.channels import CHANNEL_NAMES, ILLICIT_CHANNELS
from sim.report.names import SOURCE_ORDER
from sim.sweep.analysis import Sweep, mean_ci
from sim.sweep.designs import RUN_ID

SCENARIO = "scenario"


def run_scenarios(sweep: Sweep) -> pd.Series:
    """The scenario of every run, by run id: the design's ``scenario`` factor or the base one."""
    runs = sweep.runs.set_index(RUN_ID)
    if SCENARIO in runs.columns:
        return runs[SCENARIO].astype(str)
    return pd.Series(sweep.manifest["experiment"][SCENARIO], index=runs.index, name=SCENARIO)


def _monthly(sweep: Sweep, columns: dict[str, str], key: str) -> pd.DataFrame:
    """Monthly means with intervals per scenario of time-series columns renamed to ``key`` values.

    Args:
        sweep: The sweep.
        columns: Time-series column -> value of the ``key`` column in the result.
        key: Name of the column that tells the series apart (source, channel, hub).
    """
    scenarios = run_scenarios(sweep)
    ts = sweep.timeseries(list(columns))
    ts[SCENARIO] = ts[RUN_ID].map(scenarios)
    long = ts.melt(id_vars=[RUN_ID, SCENARIO, "month"], value_vars=list(columns), var_name=key, value_name="value")
    long[key] = long[key].map(columns)
    table = mean_ci(long, [SCENARIO, key, "month"], "value")
    order = {s: i for i, s in enumerate(dict.fromkeys(scenarios))}
    return table.sort_values([SCENARIO, key, "month"], key=lambda c: c.map(order) if c.name == SCENARIO else c)


def access_table(sweep: Sweep) -> pd.DataFrame:
    """Compute used per scenario, month and source (``total`` and ``demand`` included)."""
    columns = {f"access_{s}": s for s in SOURCE_ORDER}
    columns |= {"access_h100e_months": "total", "demand_h100e_months": "demand"}
    return _monthly(sweep, columns, "source")


def prices_table(sweep: Sweep) -> pd.DataFrame:
    """Offered price of an H100e-month per scenario, month and channel (NaN while a channel is closed)."""
    columns = {f"price_{c}_usd_per_h100e_month": c for c in CHANNEL_NAMES}
    return _monthly(sweep, columns, "channel")


def hub_flows_table(sweep: Sweep) -> pd.DataFrame:
    """Volume ordered through each hub per scenario and month."""
    hubs = [
        c.removeprefix("orders_hub_").removesuffix("_h100e_total") for c in sweep.metrics if c.startswith("orders_hub_")
    ]
    return _monthly(sweep, {f"orders_hub_{h}_h100e": h for h in hubs}, "hub")


def metric_grid_table(sweep: Sweep, x: str, y: str, metrics: list[str]) -> pd.DataFrame:
    """Mean of run metrics over a two-factor grid: ``metric``, ``x``, ``y`` and the statistics."""
    long = sweep.runs.melt(id_vars=[x, y], value_vars=metrics, var_name="metric", value_name="value")
    return mean_ci(long, ["metric", y, x], "value")


def detection_curves_table(sweep: Sweep, x: str) -> pd.DataFrame:
    """Mean detection rate of each illicit channel against a factor (others pooled)."""
    columns = {f"detection_rate_{c}": c for c in ILLICIT_CHANNELS}
    long = sweep.runs.melt(id_vars=[x], value_vars=list(columns), var_name="channel", value_name="value")
    long["channel"] = long["channel"].map(columns)
    return mean_ci(long, ["channel", x], "value")
