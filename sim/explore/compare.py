"""Runs of a config over seeds, its reference on the same seeds, and their paired differences.

Run r of both sides uses seed ``config.seed + r`` (common random numbers), so the two sides
pair up seed by seed and "what did my change do?" gets a paired t interval. Every number is
taken from :func:`sim.run.run`'s results unchanged; runs go to any
:class:`concurrent.futures.Executor` (the sweep's local worker pool on the page) or run here.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, as_completed
from dataclasses import dataclass
from threading import Lock
from typing import Any

import numpy as np
import pandas as pd

from sim.channels import CHANNEL_NAMES, ILLICIT_CHANNELS
from sim.config import Config
from sim.intervals import CONFIDENCE, clip_bounds, mean_ci, never_negative, t_half_width
from sim.report.names import SOURCE_ORDER
from sim.run import RunResult, run
from sim.schema import with_settings

DEFAULT_SEEDS = 5
#: Run metrics of the comparison table, in page order (keys of ``RunResult.summary``).
KEY_METRICS: tuple[str, ...] = (
    "access_ratio",
    "access_h100e_months_total",
    *(f"access_{source}_total" for source in SOURCE_ORDER),
    "smuggled_h100e_total",
    "seized_h100e_total",
    "detection_rate",
    *(f"detection_rate_{channel}" for channel in ILLICIT_CHANNELS),
    "detections_total",
    "listed_entities_final",
    "fines_usd_total",
    "legit_denied_h100e_months_total",
)


def seeds(config: Config, n: int) -> list[int]:
    """Seeds of ``n`` runs of a config: its own seed and the ``n - 1`` after it."""
    return [config.seed + r for r in range(n)]


def seeded(config: Config, seed_list: Sequence[int]) -> list[Config]:
    """The config once per seed (validated copies)."""
    return [with_settings(config, {"seed": s}) for s in seed_list]


class ResultCache:
    """Finished runs by config hash (the seed is part of the config), the oldest dropped first."""

    def __init__(self, size: int = 500) -> None:
        self.size = size
        self._results: OrderedDict[str, RunResult] = OrderedDict()
        self._lock = Lock()

    def get(self, config: Config) -> RunResult | None:
        """The stored result of a config, or None."""
        with self._lock:
            return self._results.get(config.config_hash())

    def put(self, result: RunResult) -> None:
        """Store a result."""
        with self._lock:
            self._results[result.config.config_hash()] = result
            while len(self._results) > self.size:
                self._results.popitem(last=False)


def run_all(
    configs: Sequence[Config],
    executor: Executor | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    cache: ResultCache | None = None,
) -> list[RunResult]:
    """Run every config, in parallel on ``executor`` (here, one by one, without), in order.

    Args:
        configs: Validated configs.
        executor: Where runs go; None runs them in this process.
        on_progress: Called with (runs done, runs in all) as runs finish.
        cache: Results reused and stored by config hash.
    """
    results: list[RunResult | None] = [cache.get(c) if cache else None for c in configs]
    todo = [i for i, r in enumerate(results) if r is None]
    total, done = len(configs), len(configs) - len(todo)
    if on_progress:
        on_progress(done, total)

    def finished(i: int, result: RunResult) -> None:
        nonlocal done
        results[i] = result
        if cache:
            cache.put(result)
        done += 1
        if on_progress:
            on_progress(done, total)

    if executor is None:
        for i in todo:
            finished(i, run(configs[i]))
    else:
        futures = {executor.submit(run, configs[i]): i for i in todo}
        for future in as_completed(futures):
            finished(futures[future], future.result())
    return results  # type: ignore[return-value]


@dataclass(frozen=True)
class Batch:
    """One config's runs, one per seed.

    Attributes:
        config: The config as chosen (its seed the first run's).
        results: The runs, in seed order.
    """

    config: Config
    results: tuple[RunResult, ...]

    @property
    def seeds(self) -> list[int]:
        """The runs' seeds."""
        return [r.config.seed for r in self.results]

    def summaries(self) -> pd.DataFrame:
        """One row per run: ``seed`` and every summary metric, as ``run()`` gave them."""
        return pd.DataFrame([r.summary for r in self.results])

    def long(self, columns: Sequence[str]) -> pd.DataFrame:
        """Monthly values of some columns: ``seed``, ``month``, ``column``, ``value``."""
        frames = [
            r.timeseries[["month", *columns]]
            .melt(id_vars="month", var_name="column", value_name="value")
            .assign(seed=r.config.seed)
            for r in self.results
        ]
        return pd.concat(frames, ignore_index=True)[["seed", "month", "column", "value"]]


def t_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[int, float, float, float]:
    """(n, mean, low, high) of the values' mean with a t interval; NaN values left out, NaN bounds for n < 2."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = len(x)
    if n == 0:
        return 0, float("nan"), float("nan"), float("nan")
    mean = float(x.mean())
    if n < 2:
        return n, mean, float("nan"), float("nan")
    half = float(t_half_width(x.std(ddof=1), n, confidence))
    return n, mean, mean - half, mean + half


def metric_table(batch: Batch, metrics: Sequence[str] = KEY_METRICS, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Mean of each run metric with its t interval: ``metric``, ``n``, ``mean``, ``ci_low``, ``ci_high``.

    Intervals are clipped to what each metric can take, as in the sweep's tables (:func:`sim.intervals.clip_bounds`).
    """
    runs = batch.summaries()
    rows = [
        dict(zip(("n", "mean", "ci_low", "ci_high"), t_interval(runs[m], confidence), strict=True)) for m in metrics
    ]
    table = pd.DataFrame(rows).assign(metric=list(metrics))[["metric", "n", "mean", "ci_low", "ci_high"]]
    return clip_bounds(table, table["metric"], never_negative(runs, metrics))


def paired_table(
    a: Batch, b: Batch, metrics: Sequence[str] = KEY_METRICS, confidence: float = CONFIDENCE
) -> pd.DataFrame:
    """Paired differences a - b of run metrics, seed by seed, with t intervals.

    Pairs with a NaN on either side (a rate with no attempt) are left out.

    Returns:
        ``metric``, ``n`` pairs, ``mean_a``, ``mean_b`` (over those pairs), ``difference``,
        ``ci_low``, ``ci_high``.

    Raises:
        ValueError: The two sides were not run on the same seeds.
    """
    if a.seeds != b.seeds:
        raise ValueError(f"paired differences need the same seeds on both sides: {a.seeds} and {b.seeds}")
    left, right = a.summaries(), b.summaries()
    rows = []
    for metric in metrics:
        va, vb = left[metric].to_numpy(dtype=float), right[metric].to_numpy(dtype=float)
        keep = ~(np.isnan(va) | np.isnan(vb))
        n, difference, low, high = t_interval(va[keep] - vb[keep], confidence)
        mean_a = float(va[keep].mean()) if n else float("nan")
        mean_b = float(vb[keep].mean()) if n else float("nan")
        rows.append(
            {"metric": metric, "n": n, "mean_a": mean_a, "mean_b": mean_b, "difference": difference}
            | {"ci_low": low, "ci_high": high}
        )
    return pd.DataFrame(rows)


def bands(batch: Batch, columns: Sequence[str], confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Monthly means and t intervals: ``column``, ``month``, ``n``, ``mean``, ``std``, ``ci_low``, ``ci_high``.

    Columns a run does not have (a lever's own) are left out; NaN months (a rate with no attempt) are left out of
    that month's mean; intervals are clipped to what each column can take (:func:`sim.intervals.clip_bounds`).
    """
    present = [c for c in columns if c in batch.results[0].timeseries.columns]
    long = batch.long(present)
    table = mean_ci(long, ["column", "month"], "value", confidence)
    return clip_bounds(table, table["column"], never_negative(long, present, "column"))


def paired_bands(a: Batch, b: Batch, columns: Sequence[str], confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Monthly paired differences a - b: ``column``, ``month``, ``n``, ``difference``, ``ci_low``, ``ci_high``.

    Months that only one side simulates are left out, as are pairs with a NaN.
    """
    if a.seeds != b.seeds:
        raise ValueError(f"paired differences need the same seeds on both sides: {a.seeds} and {b.seeds}")
    joined = a.long(columns).merge(b.long(columns), on=["seed", "month", "column"], suffixes=("_a", "_b"))
    joined = joined.dropna(subset=["value_a", "value_b"])
    rows = []
    for (column, month), group in joined.groupby(["column", "month"], sort=True):
        n, difference, low, high = t_interval(group["value_a"] - group["value_b"], confidence)
        rows.append(
            {"column": column, "month": month, "n": n, "difference": difference, "ci_low": low, "ci_high": high}
        )
    return pd.DataFrame(rows, columns=["column", "month", "n", "difference", "ci_low", "ci_high"])


#: The time-series columns each chart draws, by chart.
CHART_COLUMNS: dict[str, tuple[str, ...]] = {
    "access": (*(f"access_{source}" for source in SOURCE_ORDER), "demand_h100e_months"),
    "hubs": (),  # filled per config: orders_hub_<hub>_h100e
    "detection": tuple(f"detection_rate_{channel}" for channel in ILLICIT_CHANNELS),
    "prices": tuple(f"price_{channel}_usd_per_h100e_month" for channel in CHANNEL_NAMES),
}


def chart_columns(config: Config) -> dict[str, tuple[str, ...]]:
    """The columns of each chart for a config (its hubs' flows included)."""
    hubs = tuple(f"orders_hub_{hub}_h100e" for hub in config.world.hubs)
    return CHART_COLUMNS | {"hubs": hubs}


@dataclass(frozen=True)
class Comparison:
    """The chosen config and its reference, run on the same seeds, and what the page shows of them.

    Attributes:
        chosen: The chosen config's runs.
        reference: The reference's runs.
        metrics: :func:`metric_table` of each side, keyed ``chosen`` and ``reference``.
        paired: :func:`paired_table` of chosen - reference.
        bands: :func:`bands` of each side, every chart's columns.
        paired_access: :func:`paired_bands` of compute access by source, chosen - reference.
    """

    chosen: Batch
    reference: Batch
    metrics: dict[str, pd.DataFrame]
    paired: pd.DataFrame
    bands: dict[str, pd.DataFrame]
    paired_access: pd.DataFrame


def compare(
    chosen: Config,
    reference: Config,
    n_seeds: int = DEFAULT_SEEDS,
    executor: Executor | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    cache: ResultCache | None = None,
) -> Comparison:
    """Run the chosen config and the reference on the chosen config's seeds and compare them.

    Args:
        chosen: The config explored; its seed is the first run's.
        reference: The config compared against (its own seed is replaced by the chosen seeds).
        n_seeds: Runs per side.
        executor: Where runs go (None: in this process).
        on_progress: Called with (runs done, runs in all).
        cache: Finished runs to reuse.
    """
    seed_list = seeds(chosen, n_seeds)
    configs = [*seeded(chosen, seed_list), *seeded(reference, seed_list)]
    results = run_all(configs, executor, on_progress, cache)
    a = Batch(chosen, tuple(results[:n_seeds]))
    b = Batch(reference, tuple(results[n_seeds:]))
    columns = [c for cols in chart_columns(chosen).values() for c in cols]
    ref_columns = [c for cols in chart_columns(reference).values() for c in cols]
    access = [f"access_{source}" for source in SOURCE_ORDER]
    return Comparison(
        chosen=a,
        reference=b,
        metrics={"chosen": metric_table(a), "reference": metric_table(b)},
        paired=paired_table(a, b),
        bands={"chosen": bands(a, columns), "reference": bands(b, ref_columns)},
        paired_access=paired_bands(a, b, access),
    )


def run_rows(comparison: Comparison, metrics: Sequence[str] = KEY_METRICS) -> list[dict[str, Any]]:
    """The per-run table: one row per seed with each side's metrics, as ``run()`` gave them."""
    left, right = comparison.chosen.summaries(), comparison.reference.summaries()
    rows = []
    for i, seed in enumerate(comparison.chosen.seeds):
        row: dict[str, Any] = {"seed": seed}
        for metric in metrics:
            row[f"chosen.{metric}"] = left[metric].iloc[i]
            row[f"reference.{metric}"] = right[metric].iloc[i]
        rows.append(row)
    return rows
