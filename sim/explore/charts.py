"""The explorer's figures: each takes a table of ``sim.explore.compare`` and returns a Figure.

Lines are means over the runs, bands their 95% t intervals, and dotted vertical lines, numbered
at the top, the timeline's rule changes (:func:`timeline_events`). Figures are made without
pyplot, so the server can draw them in any thread; :func:`png` renders one.
"""

from __future__ import annotations

import functools
import io
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import StrMethodFormatter

from sim.channels import CHANNEL_NAMES, ILLICIT_CHANNELS
from sim.config import Config
from sim.report.figures import mark_event, room_for_event_numbers
from sim.report.names import SOURCE_ORDER, label
from sim.report.style import colour, theme
from sim.timeline import month_index

BAND_ALPHA = 0.2
SIZE_IN = (6.4, 3.0)
DPI = 90
#: Matplotlib's rc settings are global: figures are made and drawn one at a time, in the report's theme.
_DRAWING = threading.RLock()


def _styled[F: Callable[..., Any]](function: F) -> F:
    """Make and draw a figure under the lock, in the report's paper theme."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _DRAWING, theme("paper"):
            return function(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


#: Chart name -> (title, y label).
TITLES = {
    "access": ("Compute access by source", "H100e-months / month"),
    "hubs": ("Flows by hub (orders)", "H100e / month"),
    "detection": ("Detection rate by channel", "detected / attempted"),
    "prices": ("Price by channel", "USD / H100e-month"),
    "difference": ("Access by source, chosen − reference (paired)", "H100e-months / month"),
}


def timeline_events(config: Config) -> list[tuple[int, str, str, str]]:
    """The timeline's rule changes inside the run, in date order: (number from 1, month, name, note)."""
    inside = [
        (event.month, name, " ".join(event.note.split()))
        for name, event in config.timeline.items()
        if 0 <= month_index(config.start, event.month) < config.months
    ]
    return [(number, *event) for number, event in enumerate(sorted(inside), start=1)]


def _series_name(column: str, chart: str) -> str:
    """The source, hub or channel a column belongs to."""
    if chart == "hubs":
        return column.removeprefix("orders_hub_").removesuffix("_h100e")
    if chart == "detection":
        return column.removeprefix("detection_rate_")
    if chart == "prices":
        return column.removeprefix("price_").removesuffix("_usd_per_h100e_month")
    return column.removeprefix("access_")


def _mark_events(ax: Axes, months: Sequence[str], events: Sequence[tuple[int, str, str, str]]) -> None:
    """The report's numbered event markers, at the events' month positions."""
    for number, month, _, _ in events:
        if month in months:
            mark_event(ax, list(months).index(month), number)


def _month_axis(ax: Axes, months: Sequence[str]) -> None:
    every = 6 if len(months) > 12 else 1
    ticks = list(range(0, len(months), every))
    ax.set_xticks(ticks, [months[t] for t in ticks])
    ax.set_xlim(-0.5, len(months) - 0.5)


@_styled
def chart(
    table: pd.DataFrame,
    chart_name: str,
    events: Sequence[tuple[int, str, str, str]] = (),
    title: str = "",
    value: str = "mean",
    columns: Sequence[str] | None = None,
) -> Figure:
    """One chart: a line per column of the table (its ``value`` by month) with its band.

    Args:
        table: Rows of ``column``, ``month``, ``value`` (``mean`` or ``difference``), ``ci_low``, ``ci_high``
            (from :func:`sim.explore.compare.bands` or ``paired_bands``).
        chart_name: ``access``, ``hubs``, ``detection``, ``prices`` or ``difference``.
        events: :func:`timeline_events` to mark.
        title: Title above the chart (the chart's own when empty).
        value: The column drawn as the line.
        columns: The columns to draw, in legend order (None: the table's, sources and channels in report order).

    Bands of quantities that cannot be negative (all but differences) are drawn from 0 up.
    """
    fig = Figure(figsize=SIZE_IN, dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    months = sorted(set(table["month"]))
    if columns is None:
        order = {name: k for k, name in enumerate([*SOURCE_ORDER, *CHANNEL_NAMES])}
        columns = sorted(set(table["column"]), key=lambda c: (order.get(_series_name(c, chart_name), 99), c))
    floor = -np.inf if chart_name == "difference" else 0.0
    for column in [c for c in columns if c in set(table["column"])]:
        rows = table[table["column"] == column].set_index("month").reindex(months)
        name = _series_name(column, chart_name)
        x = np.arange(len(months))
        if column == "demand_h100e_months":
            ax.plot(x, rows[value], color="black", linestyle="--", linewidth=1.0, label="Demand", gid=column)
            continue
        if rows[value].isna().all():
            continue
        ax.plot(x, rows[value], color=colour(name), label=label(name), gid=column)
        low, high = rows["ci_low"].clip(lower=floor), rows["ci_high"].clip(lower=floor)
        ax.fill_between(x, low, high, color=colour(name), alpha=BAND_ALPHA, linewidth=0, gid=f"band:{column}")
    if chart_name == "difference":
        ax.axhline(0, color="black", linewidth=0.5)
    _mark_events(ax, months, events)
    _month_axis(ax, months)
    heading, ylabel = TITLES[chart_name]
    ax.set_title(title or heading, loc="left")
    if events:
        room_for_event_numbers(ax)
    ax.set_ylabel(ylabel)
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.10g}"))
    if ax.lines:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    return fig


@_styled
def side_by_side(
    bands: Mapping[str, pd.DataFrame],
    columns: Mapping[str, Mapping[str, Sequence[str]]],
    events: Mapping[str, Sequence[tuple[int, str, str, str]]],
) -> dict[str, dict[str, Figure]]:
    """Every chart of each side, the two sides of a chart on one y scale.

    Args:
        bands: Per side (``chosen``, ``reference``), :func:`sim.explore.compare.bands` of every chart's columns.
        columns: Per side, chart name -> its columns (:func:`sim.explore.compare.chart_columns`).
        events: Per side, its :func:`timeline_events`.

    Returns:
        Per side, chart name -> Figure.
    """
    figures: dict[str, dict[str, Figure]] = {side: {} for side in bands}
    for name in ("access", "hubs", "detection", "prices"):
        for side, table in bands.items():
            part = table[table["column"].isin(columns[side][name])]
            figures[side][name] = chart(part, name, events[side], columns=columns[side][name])
        tops = [f[name].axes[0].get_ylim() for f in figures.values()]
        shared = (min(t[0] for t in tops), max(t[1] for t in tops))
        for f in figures.values():
            f[name].axes[0].set_ylim(*shared)
    return figures


@_styled
def firm_mix(firms: pd.DataFrame) -> Figure:
    """Each firm's compute used by source in the last month (stacked bars), demand as a tick."""
    fig = Figure(figsize=(6.4, 3.4), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(firms))
    left = np.zeros(len(firms))
    for source in SOURCE_ORDER:
        values = firms[source].to_numpy(dtype=float)
        if values.any():
            ax.barh(y, values, left=left, color=colour(source), label=label(source), gid=source)
        left += values
    ax.plot(firms["demand"], y, "k|", markersize=8, label="Demand")
    ax.set_yticks(
        y,
        [
            f"{i} {c}{' (listed)' if listed else ''}"
            for i, c, listed in firms[["firm", "class", "listed"]].itertuples(index=False)
        ],
    )
    ax.invert_yaxis()
    ax.set_xlabel("H100e-months used this month")
    ax.set_title("Firms' channel mix", loc="left")
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.10g}"))
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    return fig


@_styled
def hub_agents(hubs: pd.DataFrame) -> Figure:
    """Intermediaries per hub: the active ones by kind (stacked) and the listed ones (hatched)."""
    fig = Figure(figsize=(6.4, 2.8), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    x = np.arange(len(hubs))
    kinds = [c for c in hubs.columns if c not in ("hub", "registering", "listed", "closed")]
    bottom = np.zeros(len(hubs))
    palette = {kind: ILLICIT_CHANNELS[k % len(ILLICIT_CHANNELS)] for k, kind in enumerate(kinds)}
    for kind in kinds:
        values = hubs[kind].to_numpy(dtype=float)
        ax.bar(x - 0.2, values, 0.4, bottom=bottom, color=colour(palette[kind]), label=f"active {label(kind).lower()}")
        bottom += values
    ax.bar(x + 0.2, hubs["listed"], 0.4, color="white", edgecolor="black", hatch="///", label="listed so far")
    ax.set_xticks(x, [label(h) for h in hubs["hub"]], rotation=30, ha="right")
    ax.set_ylabel("Intermediaries")
    ax.set_title("Intermediaries per hub", loc="left")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    return fig


@_styled
def png(fig: Figure) -> bytes:
    """The figure as PNG bytes, drawn in the explorer's theme."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()
