"""Reading a sweep back as tidy tables: runs, per-point means with confidence intervals, time series.

Summaries are read from the runs parts only; time series are read column by column with
``pyarrow.dataset``, so a sweep of any size is summarised without loading its monthly rows.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.compute as pc
from scipy import stats

from sim.sweep.designs import POINT_ID, REPLICATION, RUN_ID
from sim.sweep.store import MANIFEST_FILE, RUNS_DIR, TIMESERIES_DIR, SweepStore

#: Columns of the runs table that are not metrics.
RUN_COLUMNS = (RUN_ID, POINT_ID, REPLICATION, "seed", "wall_time_s")


def mean_ci(frame: pd.DataFrame, by: list[str], value: str, confidence: float = 0.95) -> pd.DataFrame:
    """Mean of a column per group, with a t-based confidence interval of the mean.

    Args:
        frame: One row per replication (and month, hub, ... as ``by`` says).
        by: Group columns.
        value: Column to average; NaN values are left out.
        confidence: Two-sided confidence level.

    Returns:
        The ``by`` columns, ``n``, ``mean``, ``std``, ``ci_low`` and ``ci_high`` (NaN bounds
        with one value in a group).
    """
    table = frame.groupby(by, sort=True)[value].agg(n="count", mean="mean", std="std").reset_index()
    dof = (table["n"] - 1).where(table["n"] > 1)
    half = stats.t.ppf(0.5 + confidence / 2, dof) * table["std"] / np.sqrt(table["n"])
    table["ci_low"] = table["mean"] - half
    table["ci_high"] = table["mean"] + half
    return table


def point_means(runs: pd.DataFrame, factors: list[str], metrics: list[str], confidence: float = 0.95) -> pd.DataFrame:
    """Mean of each metric per point across replications, with a t-based confidence interval.

    Args:
        runs: One row per run with ``point_id``, the factor columns and the metrics.
        factors: Factor columns carried to the result.
        metrics: Metric columns to average.
        confidence: Two-sided confidence level of the interval.

    Returns:
        Tidy table, one row per point and metric: ``point_id``, factors, ``metric``, ``n``,
        ``mean``, ``std``, ``ci_low``, ``ci_high`` (NaN bounds with one replication).
    """
    long = runs.melt(id_vars=[POINT_ID], value_vars=metrics, var_name="metric", value_name="value")
    long["metric"] = pd.Categorical(long["metric"], categories=metrics)
    table = mean_ci(long, [POINT_ID, "metric"], "value", confidence)
    table["metric"] = table["metric"].astype(str)
    params = runs[[POINT_ID, *factors]].drop_duplicates(POINT_ID)
    return params.merge(table, on=POINT_ID)


class Sweep:
    """A sweep folder read back: its design, runs, failures and time series.

    Attributes:
        path: The sweep folder.
        manifest: The experiment, SALib problem, counts and provenance.
    """

    def __init__(self, path: Path | str):
        self.path = Path(path)
        if not (self.path / MANIFEST_FILE).is_file():
            raise FileNotFoundError(f"{self.path} is not a sweep folder (no {MANIFEST_FILE})")
        self._store = SweepStore(self.path)
        self._store.verify()
        self.manifest: dict[str, Any] = self._store.manifest()

    @cached_property
    def design(self) -> pd.DataFrame:
        """One row per point: ``point_id`` and the factor columns."""
        return self._store.design()

    @property
    def factors(self) -> list[str]:
        """Factor columns of the design."""
        return [c for c in self.design.columns if c != POINT_ID]

    @cached_property
    def runs(self) -> pd.DataFrame:
        """One row per finished run: ids, factors, seed, metrics and wall time, by run id."""
        first = [RUN_ID, POINT_ID, REPLICATION, *self.factors]
        dataset = self._store.dataset(RUNS_DIR)
        if dataset is None:
            return pd.DataFrame(columns=first)
        runs = dataset.to_table().to_pandas().sort_values(RUN_ID, ignore_index=True)
        merged = runs.merge(self.design, on=POINT_ID, how="left")
        return merged[first + [c for c in merged.columns if c not in first]]

    @property
    def metrics(self) -> list[str]:
        """Metric columns of the runs table."""
        skip = {*RUN_COLUMNS, *self.factors}
        return [c for c in self.runs.columns if c not in skip]

    @cached_property
    def failures(self) -> pd.DataFrame:
        """One row per failed run: ids, seed, scenario, settings and error."""
        return pd.DataFrame(self._store.failures())

    def points(self, metrics: list[str] | None = None, confidence: float = 0.95) -> pd.DataFrame:
        """Per-point means of the metrics (all when None) with t-based confidence intervals."""
        return point_means(self.runs, self.factors, metrics or self.metrics, confidence)

    def timeseries(self, columns: list[str] | None = None, run_ids: list[int] | None = None) -> pd.DataFrame:
        """Monthly rows of the chosen columns (all when None), for some runs (all when None).

        Only the requested columns are read from the Parquet parts.
        """
        dataset = self._store.dataset(TIMESERIES_DIR)
        if dataset is None:
            return pd.DataFrame(columns=[RUN_ID, "month", *(columns or [])])
        wanted = None if columns is None else list(dict.fromkeys([RUN_ID, "month", *columns]))
        where = None if run_ids is None else pc.field(RUN_ID).isin(run_ids)
        table = dataset.to_table(columns=wanted, filter=where)
        return table.to_pandas().sort_values([RUN_ID, "month"], ignore_index=True)


def load(path: Path | str) -> Sweep:
    """Open a sweep folder for analysis."""
    return Sweep(path)
