"""Tidy tables for the figure functions, from sweep results, and the sample behind each.

Every number a report figure plots comes from one of these tables, which the report writes
beside the figure as CSV. A figure *shows* some factors (its panels, axes or lines). Every
other factor that varies is *held* at one value (by default its first in the design) or, only
when asked, *pooled*: each replication is averaged over the pooled factors' points (they share
the replication's seed), a marginal mean. Intervals are t intervals of the mean over the
replications, never over pooled runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from sim.channels import CHANNEL_NAMES, ILLICIT_CHANNELS
from sim.intervals import clip_bounds, mean_ci, never_negative
from sim.report.names import SOURCE_ORDER
from sim.schema import ConfigError
from sim.sweep.analysis import Sweep
from sim.sweep.designs import REPLICATION, RUN_ID
from sim.sweep.experiment import matches

SCENARIO = "scenario"
#: How the intervals of every table are computed.
INTERVAL = (
    "95% t-interval of the mean over replications, clipped to what the quantity can take "
    "(shares to [0, 1], volumes and prices at 0)"
)


@dataclass(frozen=True, eq=False)
class Selection:
    """The runs a figure's numbers come from.

    Attributes:
        shown: Factors the figure shows (panels, axes, lines).
        held: Factors fixed at one value, with the value.
        pooled: Factors averaged over within each replication, with their number of values.
        runs: The selected runs: ``run_id``, ``replication``, the shown and pooled factors.
    """

    shown: tuple[str, ...]
    held: dict[str, Any] = field(default_factory=dict)
    pooled: dict[str, int] = field(default_factory=dict)
    runs: pd.DataFrame = field(default_factory=pd.DataFrame)

    def sample(self, table: pd.DataFrame) -> dict[str, Any]:
        """What a table over this selection is computed from: n, what is held and pooled, the interval."""
        n = table["n"] if "n" in table.columns else pd.Series(dtype=float)
        if "mean" in table.columns:
            n = n[table["mean"].notna()]  # the values plotted: a mean of no replication is not drawn
        return {
            "n_min": int(n.min()) if n.notna().any() else None,
            "n_max": int(n.max()) if n.notna().any() else None,
            "shown": list(self.shown),
            "held": self.held,
            "pooled": self.pooled,
            "interval": INTERVAL,
        }


def run_scenarios(sweep: Sweep) -> pd.Series:
    """The scenario of every run, by run id: the design's ``scenario`` factor or the base one."""
    runs = sweep.runs.set_index(RUN_ID)
    if SCENARIO in runs.columns:
        return runs[SCENARIO].astype(str)
    return pd.Series(sweep.manifest["experiment"][SCENARIO], index=runs.index, name=SCENARIO)


def varying(sweep: Sweep) -> list[str]:
    """Factors with more than one value in the design, in design order."""
    return [f for f in sweep.factors if sweep.design[f].nunique() > 1]


def select(
    sweep: Sweep, shown: Iterable[str], pool: Iterable[str] = (), hold: Mapping[str, Any] | None = None
) -> Selection:
    """The runs behind a figure that shows ``shown``: other varying factors held or pooled.

    Args:
        sweep: The sweep.
        shown: Factors the figure shows.
        pool: Factors to average over (marginal means); the others not shown are held.
        hold: Values to hold factors at; a held factor not named here is held at its first value.

    Raises:
        ConfigError: A pooled or held name is no factor, a factor is both, or a held value is
            not in the design.
    """
    hold = dict(hold or {})
    pool = list(pool)
    for name in [*pool, *hold]:
        if name not in sweep.factors:
            raise ConfigError(f"{name} is not a factor of this sweep; factors: {', '.join(sweep.factors)}")
    both = sorted(set(pool) & set(hold))
    if both:
        raise ConfigError(f"{both[0]} is both pooled and held; pick one")
    shown = tuple(shown)
    runs = sweep.runs.assign(**{SCENARIO: run_scenarios(sweep).to_numpy()})
    held, pooled = {}, {}
    for factor in varying(sweep):
        if factor in shown:
            continue
        levels = list(dict.fromkeys(sweep.design[factor]))
        if factor in pool:
            pooled[factor] = len(levels)
            continue
        value = hold.get(factor, levels[0])
        chosen = matches(runs[factor], value)
        if not chosen.any():
            raise ConfigError(f"{factor}={value!r} is not in the design; its values: {', '.join(map(str, levels))}")
        held[factor] = _plain(value)
        runs = runs[chosen]
    columns = list(dict.fromkeys([RUN_ID, REPLICATION, SCENARIO, *shown, *pooled]))
    return Selection(shown, held, pooled, runs[columns].reset_index(drop=True))


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def summarise(frame: pd.DataFrame, by: list[str], value: str) -> pd.DataFrame:
    """Mean and interval of ``value`` per group, over replications (pooled points averaged first)."""
    per_replication = frame.groupby([*by, REPLICATION], sort=True, observed=True)[value].mean().reset_index()
    return mean_ci(per_replication, by, value)


def _long_timeseries(sweep: Sweep, selection: Selection, columns: Mapping[str, str], key: str) -> pd.DataFrame:
    """The selected runs' monthly values of ``columns``, long, the column's name mapped into ``key``."""
    ts = sweep.timeseries(list(columns), run_ids=selection.runs[RUN_ID].tolist())
    ts = ts.merge(selection.runs, on=RUN_ID)
    ids = [c for c in ts.columns if c not in columns]
    long = ts.melt(id_vars=ids, value_vars=list(columns), var_name=key, value_name="value")
    long[key] = long[key].map(columns)
    return long


def _scenario_order(sweep: Sweep) -> dict[str, int]:
    return {s: i for i, s in enumerate(dict.fromkeys(run_scenarios(sweep)))}


def _monthly(sweep: Sweep, selection: Selection, columns: Mapping[str, str], key: str) -> pd.DataFrame:
    """Monthly means with intervals per scenario of time-series columns renamed to ``key`` values."""
    long = _long_timeseries(sweep, selection, columns, key)
    table = summarise(long, [SCENARIO, key, "month"], "value")
    floor = never_negative(long, set(columns.values()), key)
    table = clip_bounds(table, table[key], floor)
    order = _scenario_order(sweep)
    return table.sort_values(
        [SCENARIO, key, "month"], key=lambda c: c.map(order) if c.name == SCENARIO else c, ignore_index=True
    )


def access_table(sweep: Sweep, selection: Selection) -> pd.DataFrame:
    """Compute used per scenario, month and source (``total`` and ``demand`` included)."""
    columns = {f"access_{s}": s for s in SOURCE_ORDER}
    columns |= {"access_h100e_months": "total", "demand_h100e_months": "demand"}
    return _monthly(sweep, selection, columns, "source")


def prices_table(sweep: Sweep, selection: Selection) -> pd.DataFrame:
    """Offered price of an H100e-month per scenario, month and channel (NaN while a channel is closed)."""
    columns = {f"price_{c}_usd_per_h100e_month": c for c in CHANNEL_NAMES}
    return _monthly(sweep, selection, columns, "channel")


def _hub_columns(sweep: Sweep) -> dict[str, str]:
    hubs = [
        c.removeprefix("orders_hub_").removesuffix("_h100e_total") for c in sweep.metrics if c.startswith("orders_hub_")
    ]
    return {f"orders_hub_{h}_h100e": h for h in hubs}


def hub_flows_table(sweep: Sweep, selection: Selection) -> pd.DataFrame:
    """Volume ordered through each hub per scenario and month."""
    return _monthly(sweep, selection, _hub_columns(sweep), "hub")


def hub_differences_table(sweep: Sweep, selection: Selection) -> pd.DataFrame:
    """Each scenario minus the first, per hub and month: paired by replication (the same seed).

    Returns:
        ``scenario`` (the one the first is subtracted from), ``reference``, ``hub``, ``month`` and
        the statistics of :func:`~sim.intervals.mean_ci` of the paired differences.
    """
    long = _long_timeseries(sweep, selection, _hub_columns(sweep), "hub")
    per_replication = long.groupby([SCENARIO, "hub", "month", REPLICATION])["value"].mean()
    wide = per_replication.unstack(SCENARIO)
    scenarios = list(_scenario_order(sweep))
    reference = scenarios[0]
    frames = [
        (wide[s] - wide[reference]).rename("value").reset_index().assign(**{SCENARIO: s})
        for s in scenarios[1:]
        if s in wide.columns
    ]
    table = mean_ci(pd.concat(frames, ignore_index=True), [SCENARIO, "hub", "month"], "value")
    return table.assign(reference=reference)


def metric_grid_table(sweep: Sweep, selection: Selection, x: str, y: str, metrics: list[str]) -> pd.DataFrame:
    """Mean of run metrics over a two-factor grid: ``metric``, ``x``, ``y`` and the statistics."""
    runs = selection.runs.merge(sweep.runs[[RUN_ID, *metrics]], on=RUN_ID)
    ids = [c for c in runs.columns if c not in metrics]
    long = runs.melt(id_vars=ids, value_vars=metrics, var_name="metric", value_name="value")
    long["metric"] = pd.Categorical(long["metric"], categories=metrics)  # panels in the order asked for
    table = summarise(long, ["metric", y, x], "value")
    table["metric"] = table["metric"].astype(str)
    return clip_bounds(table, table["metric"], never_negative(runs, metrics))


def detection_curves_table(sweep: Sweep, selection: Selection, x: str) -> pd.DataFrame:
    """Mean detection rate of each illicit channel against a factor."""
    columns = {f"detection_rate_{c}": c for c in ILLICIT_CHANNELS}
    runs = selection.runs.merge(sweep.runs[[RUN_ID, *columns]], on=RUN_ID)
    ids = [c for c in runs.columns if c not in columns]
    long = runs.melt(id_vars=ids, value_vars=list(columns), var_name="channel", value_name="value")
    long["channel"] = long["channel"].map(columns)
    return clip_bounds(summarise(long, ["channel", x], "value"), "detection_rate")
