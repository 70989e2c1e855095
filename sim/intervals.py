"""Means over replications with t intervals, clipped to what each metric can take.

One rule for every table of the project (a run's replications, a sweep's points, the
explorer): shares (access ratios, detection rates, channel shares) stay in [0, 1], and a metric
no run has below zero (a volume, a count) has no interval below zero.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import numpy as np
import pandas as pd

#: Two-sided confidence level of the intervals over seeds.
CONFIDENCE = 0.95


def is_share(metric: str) -> bool:
    """Whether a metric is a share in [0, 1] (access ratios, detection rates, channel shares)."""
    return metric.startswith(("access_ratio", "detection_rate", "channel_share_"))


def never_negative(
    frame: pd.DataFrame, metrics: Collection[str], key: str | None = None, value: str = "value"
) -> frozenset[str]:
    """The metrics among ``metrics`` that no row of ``frame`` has below zero.

    ``frame`` has a column per metric, or with ``key`` is long: the metric's name in ``key``,
    its values in ``value``. A metric with no value at all is not counted as never negative.
    """
    if key is not None:
        lowest = frame.groupby(key, observed=True)[value].min()
        return frozenset(m for m in metrics if m in lowest.index and lowest[m] >= 0)
    return frozenset(m for m in metrics if (frame[m].dropna() >= 0).all())


def t_half_width(std: Any, n: Any, confidence: float = CONFIDENCE) -> Any:
    """Half-width of the t interval of the mean of ``n`` values of standard deviation ``std`` (NaN for n < 2).

    Scalars, arrays or Series, element by element.
    """
    from scipy import stats  # a single run needs no interval: ``python -m sim`` starts faster without

    dof = np.where(np.asarray(n) > 1, np.asarray(n) - 1, np.nan)
    return stats.t.ppf(0.5 + confidence / 2, dof) * std / np.sqrt(n)


def mean_ci(frame: pd.DataFrame, by: list[str], value: str, confidence: float = CONFIDENCE) -> pd.DataFrame:
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
    table = frame.groupby(by, sort=True, observed=True)[value].agg(n="count", mean="mean", std="std").reset_index()
    half = t_half_width(table["std"], table["n"], confidence)
    table["ci_low"] = table["mean"] - half
    table["ci_high"] = table["mean"] + half
    return table


def clip_bounds(table: pd.DataFrame, metric: str | pd.Series, nonnegative: Collection[str] = ()) -> pd.DataFrame:
    """Clip interval bounds to what each row's metric can take, where a t interval overshoots.

    Args:
        table: Rows with ``ci_low`` and ``ci_high``.
        metric: The metric of every row: one name, or a column of names.
        nonnegative: Metrics that cannot be negative (:func:`never_negative`): their ``ci_low``
            is at least 0. Shares are clipped to [0, 1] whatever this says.
    """
    names = metric if isinstance(metric, pd.Series) else pd.Series(metric, index=table.index)
    shares = names.map(is_share).to_numpy(dtype=bool)
    floor = shares | names.isin(nonnegative).to_numpy(dtype=bool)
    table["ci_low"] = table["ci_low"].where(~floor, table["ci_low"].clip(lower=0.0))
    table["ci_high"] = table["ci_high"].where(~shares, table["ci_high"].clip(upper=1.0))
    return table
