"""Reading a sweep back as tidy tables: runs, per-point means, paired contrasts, time series.

Summaries are read from the runs parts only; time series are read column by column with
``pyarrow.dataset``, so a sweep of any size is summarised without loading its monthly rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from sim.intervals import clip_bounds, mean_ci, never_negative, t_half_width
from sim.schema import ConfigError, suggest
from sim.sweep.designs import POINT_ID, REPLICATION, RUN_ID
from sim.sweep.experiment import matches
from sim.sweep.store import MANIFEST_FILE, RUNS_DIR, TIMESERIES_DIR, SweepStore, resume_command

#: Columns of the runs table that are not metrics.
RUN_COLUMNS = (RUN_ID, POINT_ID, REPLICATION, "seed", "wall_time_s")


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
    return params.merge(clip_bounds(table, table["metric"], never_negative(runs, metrics)), on=POINT_ID)


def _refuse_unknown(names: list[str], allowed: list[str], noun: str) -> None:
    """Raise :class:`ConfigError` naming the first of ``names`` not ``allowed``: the closest allowed one, then all."""
    unknown = [n for n in names if n not in allowed]
    if unknown:
        hint = suggest(unknown[0], allowed) or f" It is none of this sweep's {noun}s."
        raise ConfigError(
            f"unknown {noun} {unknown[0]!r}.{hint} The sweep's {len(allowed)} {noun}s: {', '.join(allowed)}."
        )


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

    def check_metrics(self, metrics: list[str]) -> None:
        """Raise :class:`ConfigError` naming the first of ``metrics`` not in the runs, and the closest one that is.

        A sweep with no finished run has no metric yet: the error says so, and how to resume it.
        """
        if self.runs.empty:
            raise ConfigError(
                f"{self.path}: no run of this sweep has finished yet (status {self.manifest.get('status')}); "
                f"continue it with: {resume_command(self.path)}"
            )
        _refuse_unknown(metrics, self.metrics, "metric")

    @cached_property
    def failures(self) -> pd.DataFrame:
        """One row per failed run: ids, seed, scenario, settings and error."""
        return pd.DataFrame(self._store.failures())

    def points(self, metrics: list[str] | None = None, confidence: float = 0.95) -> pd.DataFrame:
        """Per-point means of the metrics (all when None) with t-based confidence intervals."""
        return point_means(self.runs, self.factors, metrics or self.metrics, confidence)

    def contrast(
        self, a: dict[str, Any], b: dict[str, Any], metrics: list[str], confidence: float = 0.95
    ) -> pd.DataFrame:
        """Paired differences a - b of run metrics, replication by replication (``sim.sweep.contrast``)."""
        return contrast(self, a, b, metrics, confidence)

    @cached_property
    def timeseries_columns(self) -> list[str]:
        """Columns of the monthly time series, ``run_id`` and ``month`` left out."""
        dataset = self._store.dataset(TIMESERIES_DIR)
        names = [] if dataset is None else dataset.schema.names
        return [c for c in names if c not in (RUN_ID, "month")]

    def timeseries(
        self, columns: list[str] | None = None, run_ids: list[int] | None = None, factors: bool = False
    ) -> pd.DataFrame:
        """Monthly rows of the chosen columns (all when None), for some runs (all when None).

        Only the requested columns are read from the Parquet parts. With ``factors``, each row
        also carries its run's ``point_id``, ``replication``, seed and factor values.
        """
        dataset = self._store.dataset(TIMESERIES_DIR)
        if dataset is None:
            return pd.DataFrame(columns=[RUN_ID, "month", *(columns or [])])
        if columns is not None:
            _refuse_unknown(columns, self.timeseries_columns, "time-series column")
        wanted = None if columns is None else list(dict.fromkeys([RUN_ID, "month", *columns]))
        where = None if run_ids is None else pc.field(RUN_ID).isin(run_ids)
        table = dataset.to_table(columns=wanted, filter=where).to_pandas()
        if factors:
            keys = self.runs[[RUN_ID, POINT_ID, REPLICATION, "seed", *self.factors]]
            table = keys.merge(table, on=RUN_ID)
        return table.sort_values([RUN_ID, "month"], ignore_index=True)


def load(path: Path | str) -> Sweep:
    """Open a sweep folder for analysis."""
    return Sweep(path)


# --------------------------------------------------------------------------- paired contrasts
# Replication r of every point runs with the same seed (``sim.sweep.designs.run_seed``), so the
# runs of two points pair up by replication and their difference gets a paired t interval.


def runs_at(sweep: Sweep, point: Mapping[str, Any], side: str) -> pd.DataFrame:
    """The runs whose factors have the point's values; errors name the point as ``side``."""
    runs = sweep.runs
    unknown = [f for f in point if f not in sweep.factors]
    if unknown:
        raise ConfigError(f"{side}: {unknown[0]} is not a factor of this sweep; factors: {', '.join(sweep.factors)}")
    keep = np.ones(len(runs), dtype=bool)
    for factor, value in point.items():
        equal = matches(runs[factor], value)
        if not equal.any():
            levels = ", ".join(str(v) for v in dict.fromkeys(sweep.design[factor]))
            raise ConfigError(f"{side}: {factor}={value!r} is not in the design; its values: {levels}")
        keep &= equal
    return runs[keep]


def paired_runs(
    sweep: Sweep, a: Mapping[str, Any], b: Mapping[str, Any], sides: tuple[str, str] = ("a", "b")
) -> tuple[pd.DataFrame, list[str]]:
    """The runs of a and b side by side, one row per pair, and the factors the pairs are split by.

    Runs pair up by replication and by every other factor that varies (held equal on both
    sides): a contrast is between points that differ only in the factors a and b name. Errors
    about either point call it by its name in ``sides``.

    Returns:
        A frame with ``replication``, the splitting factors, ``run_id_a`` and ``run_id_b``, and the
        names of the splitting factors.

    Raises:
        ConfigError: a or b names no factor, a value not in the design, or its runs do not pair up
            (different seeds: a sweep made before common random numbers).
    """
    if not a or not b:
        raise ConfigError("a contrast needs two points, each with at least one factor=value")
    if set(a) != set(b):
        raise ConfigError(f"a and b must set the same factors: a sets {sorted(a)}, b sets {sorted(b)}")
    split = [f for f in sweep.factors if f not in a and sweep.design[f].nunique() > 1]
    keys = [REPLICATION, *split]
    left = runs_at(sweep, a, sides[0])[[*keys, RUN_ID, "seed"]]
    right = runs_at(sweep, b, sides[1])[[*keys, RUN_ID, "seed"]]
    pairs = left.merge(right, on=keys, suffixes=("_a", "_b"))
    if pairs.empty:
        raise ConfigError("a and b have no runs in common replications; nothing to pair")
    if (pairs["seed_a"] != pairs["seed_b"]).any():
        raise ConfigError(
            "the runs of a and b have different seeds, so they do not pair up (a sweep made before "
            "replications shared seeds across points); rerun it to contrast points"
        )
    return pairs.drop(columns=["seed_a", "seed_b"]), split


def _paired_statistics(frame: pd.DataFrame, by: list[str], confidence: float) -> pd.DataFrame:
    """Paired-difference statistics of ``value_a - value_b`` per group (NaN pairs left out)."""
    frame = frame.dropna(subset=["value_a", "value_b"]).assign(diff=lambda f: f["value_a"] - f["value_b"])
    table = (
        frame.groupby(by, sort=False)
        .agg(
            n=("diff", "count"),
            mean_a=("value_a", "mean"),
            mean_b=("value_b", "mean"),
            difference=("diff", "mean"),
            sd=("diff", "std"),
        )
        .reset_index()
    )
    half = t_half_width(table["sd"], table["n"], confidence)
    table["ci_low"] = table["difference"] - half
    table["ci_high"] = table["difference"] + half
    return table


def contrast(
    sweep: Sweep, a: Mapping[str, Any], b: Mapping[str, Any], metrics: list[str], confidence: float = 0.95
) -> pd.DataFrame:
    """Paired differences a - b of run metrics, with t intervals over the pairs.

    Args:
        sweep: The sweep.
        a: Factor values of the first point, e.g. ``{"scenario": "crackdown_singapore"}``.
        b: Factor values of the second point, the same factors.
        metrics: Run metrics (columns of ``sweep.runs``).
        confidence: Two-sided level of the intervals.

    Returns:
        One row per metric (and per level of every other varying factor): ``metric``, those
        factors, ``n`` pairs, ``mean_a``, ``mean_b``, ``difference`` (mean of a - b), ``sd`` of the
        differences, ``ci_low`` and ``ci_high``.
    """
    sweep.check_metrics(metrics)
    pairs, split = paired_runs(sweep, a, b)
    runs = sweep.runs.set_index(RUN_ID)
    frames = [
        pairs.assign(
            metric=metric,
            value_a=runs.loc[pairs["run_id_a"], metric].to_numpy(dtype=float),
            value_b=runs.loc[pairs["run_id_b"], metric].to_numpy(dtype=float),
        )
        for metric in metrics
    ]
    return _paired_statistics(pd.concat(frames, ignore_index=True), ["metric", *split], confidence)


def contrast_timeseries(
    sweep: Sweep, a: Mapping[str, Any], b: Mapping[str, Any], columns: list[str], confidence: float = 0.95
) -> pd.DataFrame:
    """Paired differences a - b of monthly time-series columns, month by month.

    Returns:
        One row per column and month (and per level of every other varying factor): ``column``,
        ``month``, those factors and the statistics of :func:`contrast`.
    """
    pairs, split = paired_runs(sweep, a, b)
    ids = [*pairs["run_id_a"], *pairs["run_id_b"]]
    ts = sweep.timeseries(columns, run_ids=[int(i) for i in ids])
    missing = [c for c in columns if c not in ts.columns]
    if missing:
        raise ConfigError(f"unknown time-series column {missing[0]!r}")
    long = ts.melt(id_vars=[RUN_ID, "month"], value_vars=columns, var_name="column", value_name="value")
    joined = pairs.merge(long.rename(columns={RUN_ID: "run_id_a", "value": "value_a"}), on="run_id_a").merge(
        long.rename(columns={RUN_ID: "run_id_b", "value": "value_b"}), on=["run_id_b", "month", "column"]
    )
    return _paired_statistics(joined, ["column", "month", *split], confidence)
