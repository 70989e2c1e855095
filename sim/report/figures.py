"""Figure functions: each takes a tidy table and returns a matplotlib Figure.

None reads files or runs simulations, so authors can call them on their own tables and
restyle the result. Tables carry a ``mean`` and, where replications allow, ``ci_low`` and
``ci_high`` (a 95% confidence interval of the mean); bands are drawn when those are present.
"""

from __future__ import annotations

import itertools

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sim.report.names import SOURCE_ORDER, label
from sim.report.style import WIDTHS_IN, colour

BAND_ALPHA = 0.25


def _months(values: pd.Series | pd.Index) -> pd.DatetimeIndex:
    return pd.to_datetime(pd.Index(values), format="%Y-%m")


def _year_axis(ax: Axes) -> None:
    """Label a monthly time axis by year."""
    ax.xaxis.set_major_locator(mdates.YearLocator())
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    ax.xaxis.set_minor_locator(mdates.MonthLocator(bymonth=(4, 7, 10)))


def _band(ax: Axes, x: object, rows: pd.DataFrame, colour_: str) -> None:
    if {"ci_low", "ci_high"} <= set(rows.columns) and rows["ci_low"].notna().any():
        ax.fill_between(x, rows["ci_low"], rows["ci_high"], color=colour_, alpha=BAND_ALPHA, linewidth=0)


def _panels(n: int, width: str = "two_column", height_in: float = 2.4) -> tuple[Figure, list[Axes]]:
    fig, axes = plt.subplots(
        1, n, figsize=(WIDTHS_IN[width], height_in), sharey=True, squeeze=False, layout="constrained"
    )
    return fig, list(axes[0])


def access_over_time(table: pd.DataFrame, scale: float = 1e3) -> Figure:
    """Compute used per month, stacked by source, one panel per scenario.

    Args:
        table: Rows of ``scenario``, ``month`` (YYYY-MM), ``source`` and ``mean`` compute used
            (H100e-months per month). Rows with ``source == "total"`` and ``ci_low``/``ci_high``
            give the 95% band of total access; rows with ``source == "demand"`` a dashed line.
        scale: Divisor for the y axis (1e3: thousands).
    """
    scenarios = list(dict.fromkeys(table["scenario"]))
    fig, axes = _panels(len(scenarios))
    for ax, scenario in zip(axes, scenarios, strict=True):
        rows = table[table["scenario"] == scenario]
        wide = rows.pivot(index="month", columns="source", values="mean").sort_index()
        x = _months(wide.index)
        bottom = np.zeros(len(wide))
        for source in [s for s in SOURCE_ORDER if s in wide.columns]:
            top = bottom + wide[source].fillna(0.0).to_numpy() / scale
            ax.fill_between(x, bottom, top, color=colour(source), linewidth=0, label=label(source))
            ax.plot(x, top, color=colour(source), linewidth=0.6)
            bottom = top
        if "demand" in wide.columns:
            ax.plot(x, wide["demand"] / scale, color="black", linestyle="--", linewidth=0.8, label="Demand")
        total = rows[rows["source"] == "total"].sort_values("month")
        if not total.empty:
            _band(ax, x, total.reindex(columns=["ci_low", "ci_high"]) / scale, "black")
        ax.set_title(label(scenario))
        ax.set_xlabel("Month")
        _year_axis(ax)
    prefix = {1: "", 1e3: "k ", 1e6: "M "}.get(scale, f"x{scale:g} ")
    axes[0].set_ylabel(f"Compute used ({prefix}H100e-months / month)")
    axes[-1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def policy_heatmaps(table: pd.DataFrame, x: str, y: str, x_label: str, y_label: str) -> Figure:
    """One heatmap per metric of its mean over a two-lever grid.

    Args:
        table: Rows of ``metric``, the two lever columns ``x`` and ``y``, and ``mean``.
        x: Lever on the x axis.
        y: Lever on the y axis.
        x_label: Axis label with unit.
        y_label: Axis label with unit.
    """
    metrics = list(dict.fromkeys(table["metric"]))
    fig, axes = plt.subplots(
        1, len(metrics), figsize=(WIDTHS_IN["two_column"], 2.8), squeeze=False, layout="constrained"
    )
    for ax, metric in zip(axes[0], metrics, strict=True):
        grid = table[table["metric"] == metric].pivot(index=y, columns=x, values="mean").sort_index()
        mesh = ax.pcolormesh(
            np.arange(grid.shape[1] + 1), np.arange(grid.shape[0] + 1), grid.to_numpy(), cmap="viridis", shading="flat"
        )
        for (i, j), value in np.ndenumerate(grid.to_numpy()):
            ax.text(
                j + 0.5,
                i + 0.5,
                f"{value:.2f}",
                ha="center",
                va="center",
                fontsize="x-small",
                color="white" if value < np.nanmean(grid.to_numpy()) else "black",
            )
        ax.set_xticks(np.arange(grid.shape[1]) + 0.5, [f"{v:g}" for v in grid.columns])
        ax.set_yticks(np.arange(grid.shape[0]) + 0.5, [f"{v:g}" for v in grid.index])
        ax.set_xlabel(x_label)
        ax.set_ylabel(y_label)
        ax.set_title(label(metric))
        fig.colorbar(mesh, ax=ax, shrink=0.85)
    return fig


def detection_curves(table: pd.DataFrame, x: str, x_label: str) -> Figure:
    """Detection rate per channel against a lever, with 95% bands.

    Args:
        table: Rows of ``channel``, the lever column ``x``, ``mean`` and optional CI columns.
        x: The lever column.
        x_label: Axis label with unit.
    """
    fig, ax = plt.subplots(figsize=(WIDTHS_IN["one_column"], 2.4), layout="constrained")
    for channel in [c for c in SOURCE_ORDER if c in set(table["channel"])]:
        rows = table[table["channel"] == channel].sort_values(x)
        ax.plot(rows[x], rows["mean"], marker="o", markersize=3, color=colour(channel), label=label(channel))
        _band(ax, rows[x], rows, colour(channel))
    ax.set_xlabel(x_label)
    ax.set_ylabel("Detection rate (detected / attempted)")
    ax.set_ylim(bottom=0)
    ax.legend()
    return fig


def hub_flows(table: pd.DataFrame, event_month: str | None = None) -> Figure:
    """Small multiples of the volume ordered through each hub per month, one line per scenario.

    Args:
        table: Rows of ``hub``, ``scenario``, ``month``, ``mean`` (H100e ordered per month)
            and optional CI columns.
        event_month: A month (YYYY-MM) to mark, e.g. a crackdown.
    """
    hubs = list(dict.fromkeys(table["hub"]))
    cols = 4
    rows_n = int(np.ceil(len(hubs) / cols))
    fig, axes = plt.subplots(
        rows_n,
        cols,
        figsize=(WIDTHS_IN["two_column"], 1.8 * rows_n),
        sharex=True,
        sharey=True,
        squeeze=False,
        layout="constrained",
    )
    styles = ["-", "--", ":", "-."]
    scenarios = list(dict.fromkeys(table["scenario"]))
    for ax, hub in zip(axes.flat, hubs, strict=False):
        for scenario, style in zip(scenarios, itertools.cycle(styles)):
            rows = table[(table["hub"] == hub) & (table["scenario"] == scenario)].sort_values("month")
            x = _months(rows["month"])
            ax.plot(x, rows["mean"] / 1e3, linestyle=style, color=colour(hub), label=label(scenario))
            _band(ax, x, rows[["ci_low", "ci_high"]] / 1e3 if "ci_low" in rows else rows, colour(hub))
        if event_month:
            ax.axvline(_months([event_month])[0], color="grey", linewidth=0.6)
        ax.set_title(label(hub))
        _year_axis(ax)
    for ax in axes.flat[len(hubs) :]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel("Ordered (k H100e / month)")
    for i, ax in enumerate(axes.flat[: len(hubs)]):
        if i + cols >= len(hubs):  # no visible panel below it
            ax.set_xlabel("Month")
            ax.xaxis.set_tick_params(labelbottom=True)
    keys = [
        Line2D([], [], color="black", linestyle=style, label=label(scenario))
        for scenario, style in zip(scenarios, itertools.cycle(styles))
    ]
    fig.legend(handles=keys, loc="lower right", title="Scenario")
    return fig


def sensitivity_bars(table: pd.DataFrame) -> Figure:
    """First-order and total Sobol indices with 95% intervals, one panel per output.

    Args:
        table: Rows of ``output``, ``factor``, ``S1``, ``S1_conf``, ``ST`` and ``ST_conf``
            (the ``_conf`` columns are half-widths of the 95% intervals), as written by
            ``python -m sim.sweep.sensitivity``.
    """
    outputs = list(dict.fromkeys(table["output"]))
    factors = list(dict.fromkeys(table["factor"]))
    fig, axes = _panels(len(outputs), height_in=0.6 + 0.32 * len(factors))
    y = np.arange(len(factors))
    for ax, output in zip(axes, outputs, strict=True):
        rows = table[table["output"] == output].set_index("factor").loc[factors]
        for offset, (index, shade) in zip((-0.2, 0.2), (("S1", "#0072B2"), ("ST", "#E69F00")), strict=True):
            ax.barh(
                y + offset,
                rows[index],
                height=0.38,
                xerr=rows[f"{index}_conf"],
                color=shade,
                label="first order (S1)" if index == "S1" else "total (ST)",
                error_kw={"elinewidth": 0.6},
            )
        ax.set_yticks(y, [f.split(".")[-1] for f in factors])
        ax.set_xlabel("Sobol index (share of output variance)")
        ax.set_title(label(output))
        ax.axvline(0, color="black", linewidth=0.5)
    axes[0].invert_yaxis()
    axes[-1].legend(loc="lower right")
    return fig


def prices_over_time(table: pd.DataFrame) -> Figure:
    """Price of an H100e-month by channel over time, with 95% bands, one panel per scenario.

    Args:
        table: Rows of ``scenario``, ``channel``, ``month``, ``mean`` (USD per H100e-month)
            and optional CI columns.
    """
    scenarios = list(dict.fromkeys(table["scenario"]))
    fig, axes = _panels(len(scenarios))
    for ax, scenario in zip(axes, scenarios, strict=True):
        part = table[table["scenario"] == scenario]
        for channel in [c for c in SOURCE_ORDER if c in set(part["channel"])]:
            rows = part[part["channel"] == channel].sort_values("month")
            x = _months(rows["month"])
            ax.plot(x, rows["mean"], color=colour(channel), label=label(channel))
            _band(ax, x, rows, colour(channel))
        ax.set_title(label(scenario))
        ax.set_xlabel("Month")
        _year_axis(ax)
    axes[0].set_ylabel("Price (USD / H100e-month)")
    axes[-1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig
