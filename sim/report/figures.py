"""Figure functions: each takes a tidy table and returns a matplotlib Figure.

None reads files or runs simulations, so authors can call them on their own tables and
restyle the result. Tables carry a ``mean`` and, where replications allow, ``ci_low`` and
``ci_high`` (a 95% confidence interval of the mean); bands are drawn when those are present.
Figures take their size from the active theme (``sim.report.style.theme``). Figures over time
take ``events``, (month YYYY-MM, short label) pairs, each drawn as a vertical line whose number
at its top the legend explains.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Collection, Mapping, Sequence

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.collections import QuadMesh
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, MaxNLocator, NullFormatter, StrMethodFormatter

from sim.commands import readable
from sim.report.names import OFFSHORE_CHANNELS, SOURCE_ORDER, label
from sim.report.style import colour, height, width

BAND_ALPHA = 0.25
TOTAL_BAND_LABEL = "95% CI of total access"
#: The ``gid`` of the lines and texts that mark events.
EVENT_GID = "event"
#: Decades below the largest value that the log axis of offshore channels spans.
LOG_DECADES = 5
#: Line styles (never dotted: a dotted line is an event) and markers: of channels by their place in
#: SOURCE_ORDER, so that lines that coincide stay apart; of scenarios in hub panels.
LINE_STYLES = ("-", "--", "-.", (0, (6, 2, 1, 2, 1, 2)))
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
#: Numbers with thousands separators, without exponent or float noise: 50,000 and 0.3.
NUMBER_FORMAT = "{x:,.10g}"


def _months(values: pd.Series | pd.Index | Sequence[str]) -> pd.DatetimeIndex:
    return pd.to_datetime(pd.Index(values), format="%Y-%m")


def _size(kind: str, paper_height_in: float) -> tuple[float, float]:
    """Width and height in inches under the active theme of a figure ``paper_height_in`` tall in a paper."""
    return width(kind), height(kind, paper_height_in)


def _time_axis(ax: Axes, months: pd.Series | pd.Index) -> None:
    """Label a monthly time axis drawn over ``months`` (YYYY-MM) by year, or by month if under two years.

    Month labels are spaced to fit the panel's width (at most six).
    """
    span = _months(months)
    count = (span.max().year - span.min().year) * 12 + span.max().month - span.min().month + 1
    if count >= 24:
        ax.xaxis.set_major_locator(mdates.YearLocator())
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
        ax.xaxis.set_minor_locator(mdates.MonthLocator(bymonth=(4, 7, 10)))
        return
    panel_pt = 0.9 * ax.get_position().width * ax.figure.get_figwidth() * 72  # less the room the layout takes
    label_pt = _text_pt("2025-01 ", plt.rcParams["xtick.labelsize"])  # a label and a gap
    step = max(1, -(-count // 6), math.ceil((count - 1) * label_pt / panel_pt))  # labels far enough apart
    every = pd.date_range(span.min(), span.max(), freq="MS")[::step]  # from the first month
    ax.xaxis.set_major_locator(FixedLocator(mdates.date2num(every)))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
    ax.xaxis.set_minor_locator(mdates.MonthLocator())


def _count_axis(axis: Axis) -> None:
    """Tick labels with thousands separators."""
    axis.set_major_formatter(StrMethodFormatter(NUMBER_FORMAT))


#: Most intervals between the ticks of a heatmap's colour bar.
COLOUR_BAR_TICKS = 3
#: Most decimals a heatmap cell shows.
MAX_DECIMALS = 4


def _decimals(value: float, digits: int) -> int:
    """Decimals that show ``value`` to ``digits`` significant digits (none if its whole part has more)."""
    return max(0, digits - 1 - int(np.floor(np.log10(abs(value))))) if np.isfinite(value) and value else 0


def _has_ci(rows: pd.DataFrame) -> bool:
    return {"ci_low", "ci_high"} <= set(rows.columns) and bool(rows["ci_low"].notna().any())


def _band(ax: Axes, x: object, rows: pd.DataFrame, colour_: str) -> None:
    if _has_ci(rows):
        ax.fill_between(x, rows["ci_low"], rows["ci_high"], color=colour_, alpha=BAND_ALPHA, linewidth=0)


def _shown_events(events: Sequence[tuple[str, str]], months: pd.Series | pd.Index) -> list[tuple[str, str]]:
    """The events whose month lies in the span of ``months``."""
    span = _months(months)
    return [(month, text) for month, text in events if span.min() <= _months([month])[0] <= span.max()]


#: Levels of event numbers above an axes: events of neighbouring months stack instead of overlapping.
EVENT_LEVELS = 3


def _event_step_pt() -> float:
    """The height of one level of event numbers, in points (their font, ``small``, plus a little)."""
    return 1.15 * FontProperties(size="small").get_size_in_points()


def _mark_events(
    ax: Axes, events: Sequence[tuple[str, str]], only: Collection[str] | None = None, numbered: bool = True
) -> None:
    """Mark each event by a thin vertical line, numbered above the axes (its number in ``events``, from 1).

    With ``only``, just the events of those labels are drawn (numbers stay those of ``events``);
    ``numbered`` False draws the lines alone (a lower panel under numbered ones).
    """
    for number, (month, text) in enumerate(events, start=1):
        if only is not None and text not in only:
            continue
        mark_event(ax, mdates.date2num(_months([month])[0]), number if numbered else None)
    if events and numbered:
        room_for_event_numbers(ax)


def room_for_event_numbers(ax: Axes) -> None:
    """Move the axes' title (set before, its size kept) above the strip where :func:`mark_event` writes its numbers."""
    pad = plt.rcParams["axes.titlepad"] + EVENT_LEVELS * _event_step_pt()
    ax.set_title(ax.get_title(), pad=pad, fontsize=ax.title.get_fontsize())


def mark_event(ax: Axes, x: float, number: int | None) -> None:
    """One event: a thin dotted vertical line at ``x``, numbered above the axes (None: no number).

    Numbers stand in a strip above the plotting area, never on the data, stepping up in
    :data:`EVENT_LEVELS` levels so that events of neighbouring months stay readable.
    """
    ax.axvline(x, color="black", linestyle=":", linewidth=0.8, gid=EVENT_GID)
    if number is None:
        return
    ax.annotate(
        str(number),
        xy=(x, 1.0),
        xycoords=ax.get_xaxis_transform(),
        xytext=(0, 1 + _event_step_pt() * ((number - 1) % EVENT_LEVELS)),
        textcoords="offset points",
        ha="center",
        va="bottom",
        fontsize="small",
        annotation_clip=False,
        gid=EVENT_GID,
    )


def _event_keys(
    events: Sequence[tuple[str, str]], panel_events: Mapping[str, Collection[str]] | None = None
) -> list[Line2D]:
    """Legend entries explaining the numbered event lines of ``_mark_events``.

    With ``panel_events`` (each scenario's event labels), an event that not every scenario has
    names the scenarios it belongs to, for panels that draw every scenario's events.
    """
    scenarios = panel_events or {}
    keys = []
    for number, (month, text) in enumerate(events, start=1):
        whose = [label(s) for s, own in scenarios.items() if text in own]
        only = f"; {', '.join(whose)} only" if len(whose) < len(scenarios) else ""
        keys.append(
            Line2D([], [], color="black", linestyle=":", linewidth=0.8, label=f"{number}: {text} ({month}{only})")
        )
    return keys


def _legend(ax: Axes, axes: Sequence[Axes], order: Sequence[str], events: Sequence[tuple[str, str]]) -> None:
    """A legend of every label of the artists of all ``axes``, in ``order``, then the events.

    It stands beside the panels (``axes``, a row), or above them when beside them it would leave
    two neighbouring panels too narrow for their titles.
    """
    handles: dict[str, Artist] = {}
    for each in axes:
        for handle, text in zip(*each.get_legend_handles_labels(), strict=True):
            handles.setdefault(text, handle)
    keys = [handles[text] for text in sorted(handles, key=order.index)] + _event_keys(events)
    fig = ax.figure
    size = plt.rcParams["font.size"]
    panel_pt = (fig.get_figwidth() * 72 - _legend_entry_pt(keys) - 6 * size) / len(axes)  # 6 em: the y labels
    titles = [_text_pt(each.get_title(), plt.rcParams["axes.titlesize"]) for each in axes]
    if all((a + b) / 2 + size <= panel_pt for a, b in itertools.pairwise(titles)):
        fig.legend(handles=keys, loc="outside right upper")  # beside every row, not stretching one
    else:  # the figure grows by the legend's height, so the panels keep theirs
        ncols = _legend_columns(fig, keys)
        rows = -(-len(keys) // ncols)
        row_pt = 1.5 * FontProperties(size=plt.rcParams["legend.fontsize"]).get_size_in_points()
        fig.set_figheight(fig.get_figheight() + (rows + 1) * row_pt / 72)
        fig.legend(handles=keys, loc="outside upper center", ncols=ncols)  # the caption is below


def _text_pt(text: str, size: str | float) -> float:
    """About how wide a line of text is set, in points: 0.55 em a character."""
    return len(text) * 0.55 * FontProperties(size=size).get_size_in_points()


def _legend_entry_pt(keys: Sequence[Artist]) -> float:
    """About how wide the legend's longest entry is, in points: its text, line sample and gap."""
    size_pt = FontProperties(size=plt.rcParams["legend.fontsize"]).get_size_in_points()
    return max(_text_pt(key.get_label(), size_pt) for key in keys) + 4 * size_pt


def _panels(n: int, kind: str = "two_column", height_in: float = 2.4) -> tuple[Figure, list[Axes]]:
    """A row of ``n`` panels sharing y, ``height_in`` tall in a paper."""
    fig, axes = plt.subplots(1, n, figsize=_size(kind, height_in), sharey=True, squeeze=False, layout="constrained")
    return fig, list(axes[0])


def access_over_time(
    table: pd.DataFrame,
    scale: float = 1e3,
    events: Sequence[tuple[str, str]] = (),
    panel_events: Mapping[str, Collection[str]] | None = None,
) -> Figure:
    """Compute used per month, stacked by source, one column per scenario.

    The top row stacks every source, with demand dashed and the 95% band of total access hatched
    in black; its legend entry gives the band's widest half-width, since at the scale of the
    stack it may be too narrow to see. When the table has offshore channels
    (``OFFSHORE_CHANNELS``), a second row draws them again as lines with their 95% bands on a log
    y axis from half the decade of the smallest value drawn (at most ``LOG_DECADES`` decades
    below the largest), so that channels too small to see in the stack stay readable; months of zero
    leave gaps there, a month used between two months of zero is a dot, and a band whose interval
    includes zero reaches the bottom of the axis.

    Args:
        table: Rows of ``scenario``, ``month`` (YYYY-MM), ``source`` and ``mean`` compute used
            (H100e-months per month). Rows with ``source == "total"`` and ``ci_low``/``ci_high``
            give the 95% band of total access; rows with ``source == "demand"`` a dashed line.
        scale: Divisor for the y axes (1e3: thousands).
        events: (month YYYY-MM, short label) pairs to mark; months outside the table's are skipped.
        panel_events: The labels of the events each scenario's panels mark (None: all of them).
    """
    scenarios = list(dict.fromkeys(table["scenario"]))
    events = _shown_events(events, table["month"])
    offshore = [c for c in OFFSHORE_CHANNELS if c in set(table["source"])]
    prefix = {1: "", 1e3: "k ", 1e6: "M "}.get(scale, f"x{scale:g} ")
    totals = table[table["source"] == "total"]
    band_label = TOTAL_BAND_LABEL
    if _has_ci(totals):
        widest = float((totals["ci_high"] - totals["ci_low"]).max()) / 2
        band_label += f" (at most ±{readable(widest)} H100e-months)"
    rows_n = 2 if offshore else 1
    fig, grid = plt.subplots(
        rows_n,
        len(scenarios),
        figsize=_size("two_column", 2.8 + 1.5 * (rows_n - 1)),  # 0.4 in of it: the event numbers above
        sharex="col",
        sharey="row",
        squeeze=False,
        height_ratios=(3, 2)[:rows_n],
        layout="constrained",
    )
    for column, scenario in enumerate(scenarios):
        ax = grid[0, column]
        rows = table[table["scenario"] == scenario]
        wide = rows.pivot(index="month", columns="source", values="mean").sort_index()
        x = _months(wide.index)
        bottom = np.zeros(len(wide))
        for source in [s for s in SOURCE_ORDER if s in wide.columns and wide[s].fillna(0.0).any()]:
            top = bottom + wide[source].fillna(0.0).to_numpy() / scale
            ax.fill_between(x, bottom, top, color=colour(source), linewidth=0, label=label(source))
            ax.plot(x, top, color=colour(source), linewidth=0.6)
            bottom = top
        if "demand" in wide.columns:
            ax.plot(x, wide["demand"] / scale, color="black", linestyle="--", linewidth=0.8, label="Demand")
        total = (
            rows[rows["source"] == "total"].set_index("month").reindex(index=wide.index, columns=["ci_low", "ci_high"])
        )
        if _has_ci(total):
            ax.fill_between(
                x,
                total["ci_low"] / scale,
                total["ci_high"] / scale,
                facecolor="none",
                edgecolor="black",
                hatch="//////",
                linewidth=0.6,
                label=band_label,
            )
        ax.set_title(label(scenario))
        for channel in [c for c in offshore if c in wide.columns]:
            positive = wide[channel].where(wide[channel] > 0)
            alone = positive.notna() & positive.shift(1).isna() & positive.shift(-1).isna()  # no line to draw
            grid[1, column].plot(
                x, positive / scale, color=colour(channel), label=label(channel), marker="o", markevery=list(alone)
            )
            band = rows[rows["source"] == channel].set_index("month").reindex(index=wide.index)
            bounds = band.reindex(columns=["ci_low", "ci_high"]).where(band["mean"] > 0) / scale
            _band(grid[1, column], x, bounds, colour(channel))
        for row, each in enumerate(grid[:, column]):
            _mark_events(each, events, None if panel_events is None else panel_events.get(scenario, ()), row == 0)
        grid[-1, column].set_xlabel("Month")
        _time_axis(grid[-1, column], table["month"])
    grid[0, 0].set_ylabel(f"Compute used\n({prefix}H100e-months / month)")
    _count_axis(grid[0, 0].yaxis)  # the axes of a row share their tickers
    if offshore:
        low = grid[1, 0]
        low.set_yscale("log")
        _count_axis(low.yaxis)
        low.yaxis.set_minor_formatter(NullFormatter())
        drawn = table.loc[table["source"].isin(offshore)]
        largest = drawn["mean"].max() / scale
        if largest > 0:  # to below the decade of the smallest value drawn, at most LOG_DECADES below the largest
            values = drawn.reindex(columns=["mean", "ci_low", "ci_high"]).to_numpy(dtype=float).ravel() / scale
            decade = 10.0 ** np.floor(np.log10(values[values > 0].min()))
            low.set_ylim(max(largest * 10.0**-LOG_DECADES, decade / 2), largest * 2)  # no tick in the corner
        else:  # nothing went offshore: an empty log axis needs limits of its own
            low.set_ylim(1, 10)
            for each in grid[1]:
                each.text(0.5, 0.5, "no offshore channel used", transform=each.transAxes, ha="center", va="center")
        low.set_ylabel("Offshore channels\n(as above, log scale)")  # a longer label runs into the one above
    _legend(grid[0, -1], list(grid[0]), [*map(label, SOURCE_ORDER), "Demand", band_label], events)
    return fig


def _ink(rgba: Sequence[float]) -> str:
    """Black or white, whichever contrasts more with a background colour (WCAG relative luminance)."""
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgba[:3]]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return "black" if (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05) else "white"


def _annotate_cells(ax: Axes, mesh: QuadMesh, means: np.ndarray, halves: np.ndarray) -> None:
    """Write each cell's mean and, below it, the half-width of its interval (if any), with the same decimals.

    The decimals are those of the largest half-width's first significant digit or, without
    intervals, of the largest mean's third; and at least those that show every nonzero mean's
    first significant digit (a rate of 0.046 is never written 0.0), at most :data:`MAX_DECIMALS`.
    """
    known = halves[np.isfinite(halves) & (halves > 0)]
    decimals = _decimals(known.max(), 1) if known.size else _decimals(np.nanmax(np.abs(means)), 3)
    nonzero = np.abs(means[np.isfinite(means) & (means != 0)])
    if nonzero.size:
        decimals = max(decimals, min(MAX_DECIMALS, _decimals(nonzero.min(), 1)))  # the cap bounds the means' wish only
    for (i, j), mean in np.ndenumerate(means):
        if np.isnan(mean):
            continue
        half = np.ceil(halves[i, j] * 10.0**decimals - 1e-9) / 10.0**decimals  # rounded up: never ±0 for a spread
        text = f"{mean:,.{decimals}f}" + (f"\n±{half:,.{decimals}f}" if np.isfinite(half) else "")
        ax.text(j + 0.5, i + 0.5, text, ha="center", va="center", fontsize="small", color=_ink(mesh.to_rgba(mean)))


def _fit_in_cells(fig: Figure, axes: Sequence[Axes]) -> None:
    """Shrink the cell annotations of each heatmap, where needed, to fit its cells (at 90%)."""
    fig.draw_without_rendering()
    for ax in axes:
        (left, right), (bottom, top) = ax.get_xlim(), ax.get_ylim()
        cell_width, cell_height = ax.bbox.width / abs(right - left), ax.bbox.height / abs(top - bottom)
        extents = [text.get_window_extent() for text in ax.texts]
        widest, tallest = max((e.width for e in extents), default=0), max((e.height for e in extents), default=0)
        shrink = min(1.0, 0.9 * cell_width / max(widest, 1e-9), 0.9 * cell_height / max(tallest, 1e-9))
        for text in ax.texts:
            text.set_fontsize(text.get_fontsize() * shrink)


def policy_heatmaps(table: pd.DataFrame, x: str, y: str, x_label: str, y_label: str) -> Figure:
    """One heatmap per metric of its mean over a two-lever grid, each cell annotated.

    Colours span the data's range, or at least [0, 1] for a share (a metric named ``*_ratio`` or
    ``*_rate``). Each cell shows the mean and, when the table has ``ci_low``/``ci_high``, the
    half-width of the 95% interval below it, shrunk where needed to fit the cell.

    Args:
        table: Rows of ``metric``, the two lever columns ``x`` and ``y``, ``mean`` and optional CI columns.
        x: Lever on the x axis.
        y: Lever on the y axis.
        x_label: Axis label with unit.
        y_label: Axis label with unit.
    """
    metrics = list(dict.fromkeys(table["metric"]))
    fig, axes = plt.subplots(1, len(metrics), figsize=_size("two_column", 3.2), squeeze=False, layout="constrained")
    for ax, metric in zip(axes[0], metrics, strict=True):
        part = table[table["metric"] == metric]
        grid = part.pivot(index=y, columns=x, values="mean").sort_index()
        means = grid.to_numpy(dtype=float)
        if _has_ci(part):
            # the side a clip at 0 or 1 left alone: the interval's true half-width
            spread = part.assign(half=np.maximum(part["ci_high"] - part["mean"], part["mean"] - part["ci_low"]))
            halves = spread.pivot(index=y, columns=x, values="half").reindex_like(grid).to_numpy(dtype=float)
        else:
            halves = np.full_like(means, np.nan)
        low, high = np.nanmin(means), np.nanmax(means)
        if metric.endswith(("_ratio", "_rate")):
            low, high = min(low, 0.0), max(high, 1.0)
        mesh = ax.pcolormesh(
            np.arange(grid.shape[1] + 1),
            np.arange(grid.shape[0] + 1),
            means,
            cmap="viridis",
            vmin=low,
            vmax=high,
            shading="flat",
        )
        _annotate_cells(ax, mesh, means, halves)
        ax.set_xticks(np.arange(grid.shape[1]) + 0.5, [NUMBER_FORMAT.format(x=v) for v in grid.columns])
        ax.set_yticks(np.arange(grid.shape[0]) + 0.5, [NUMBER_FORMAT.format(x=v) for v in grid.index])
        ax.set_xlabel(x_label)
        ax.set_ylabel(y_label)
        ax.set_title(label(metric))
        bar = fig.colorbar(mesh, ax=ax, location="bottom", shrink=0.85, aspect=30, label=label(metric))
        _count_axis(bar.ax.xaxis)
        bar.ax.xaxis.set_major_locator(MaxNLocator(COLOUR_BAR_TICKS))  # six-digit labels fit a panel's width
    _fit_in_cells(fig, axes[0])
    return fig


def detection_curves(table: pd.DataFrame, x: str, x_label: str) -> Figure:
    """Detection rate per channel against a lever, with 95% bands.

    A channel with no attempt at any level (every mean NaN) is left out, legend included; lines
    at zero stay visible (drawn over the axis, not clipped by it), each channel with its own
    marker and dash; the legend sits above the axes, off the bands and the caption.

    Args:
        table: Rows of ``channel``, the lever column ``x``, ``mean`` and optional CI columns.
        x: The lever column.
        x_label: Axis label with unit.
    """
    fig, ax = plt.subplots(figsize=_size("one_column", 2.4), layout="constrained")
    attempted = set(table.loc[table["mean"].notna(), "channel"])
    for place, channel in enumerate(c for c in SOURCE_ORDER if c in attempted):
        rows = table[table["channel"] == channel].sort_values(x)
        ax.plot(
            rows[x],
            rows["mean"],
            marker=MARKERS[place % len(MARKERS)],
            linestyle=LINE_STYLES[place % len(LINE_STYLES)],
            color=colour(channel),
            label=label(channel),
            clip_on=False,
        )
        _band(ax, rows[x], rows, colour(channel))
    ax.set_xlabel(x_label)
    ax.set_ylabel("Detection rate at checkpoints\n(detected / attempted)")
    ax.set_ylim(bottom=0)
    fig.legend(loc="outside upper center", ncols=2)  # the caption is below
    return fig


def hub_flows(
    table: pd.DataFrame,
    events: Sequence[tuple[str, str]] = (),
    panel_events: Mapping[str, Collection[str]] | None = None,
) -> Figure:
    """Small multiples of the volume ordered through each hub per month, one line per scenario.

    Args:
        table: Rows of ``hub``, ``scenario``, ``month``, ``mean`` (H100e ordered per month)
            and optional CI columns.
        events: (month YYYY-MM, short label) pairs to mark, e.g. a crackdown; months outside the
            table's are skipped.
        panel_events: The labels of each scenario's events: the legend names the scenarios of
            an event that not all of them have (None: every event is every scenario's).
    """
    return _hub_panels(table, events, "Ordered (k H100e / month)", label, panel_events)


def hub_differences(
    table: pd.DataFrame,
    events: Sequence[tuple[str, str]] = (),
    panel_events: Mapping[str, Collection[str]] | None = None,
) -> Figure:
    """Small multiples of each scenario minus the reference, per hub and month, with a zero line.

    Args:
        table: Rows of ``hub``, ``scenario``, ``reference``, ``month``, ``mean`` (difference in
            H100e ordered per month) and optional CI columns (paired intervals).
        events: (month YYYY-MM, short label) pairs to mark; months outside the table's are skipped.
        panel_events: The labels of each scenario's events, the reference's included (as in
            :func:`hub_flows`).
    """
    reference = label(str(table["reference"].iloc[0]))
    fig = _hub_panels(
        table,
        events,
        "Difference in orders (k H100e / month)",
        lambda s: f"{label(s)} − {reference}",
        panel_events,
    )
    for ax in fig.axes:
        if ax.get_visible():
            ax.axhline(0, color="black", linewidth=0.5, gid="zero")
    return fig


def _legend_columns(fig: Figure, keys: Sequence[Artist]) -> int:
    """As many legend columns as the figure's width holds at the longest entry."""
    return max(1, min(len(keys), int(fig.get_figwidth() * 72 // _legend_entry_pt(keys))))


def _hub_panels(
    table: pd.DataFrame,
    events: Sequence[tuple[str, str]],
    ylabel: str,
    line_label: Callable[[str], str],
    panel_events: Mapping[str, Collection[str]] | None,
) -> Figure:
    """One panel per hub of ``mean`` (in thousands) per month, one line style per scenario."""
    hubs = list(dict.fromkeys(table["hub"]))
    events = _shown_events(events, table["month"])
    cols = 4
    rows_n = int(np.ceil(len(hubs) / cols))
    fig, axes = plt.subplots(
        rows_n,
        cols,
        figsize=_size("two_column", 1.8 * rows_n + 0.4),
        sharex=True,
        sharey=True,
        squeeze=False,
        layout="constrained",
    )
    scenarios = list(dict.fromkeys(table["scenario"]))
    for ax, hub in zip(axes.flat, hubs, strict=False):
        for scenario, style in zip(scenarios, itertools.cycle(LINE_STYLES)):
            rows = table[(table["hub"] == hub) & (table["scenario"] == scenario)].sort_values("month")
            x = _months(rows["month"])
            ax.plot(x, rows["mean"] / 1e3, linestyle=style, color=colour(hub), label=line_label(scenario))
            _band(ax, x, rows.reindex(columns=["ci_low", "ci_high"]) / 1e3, colour(hub))
        ax.set_title(label(hub))
        _mark_events(ax, events)
        _time_axis(ax, table["month"])
    for ax in axes.flat[len(hubs) :]:
        ax.set_visible(False)
    _count_axis(axes[0, 0].yaxis)  # the panels share their tickers
    fig.supylabel(ylabel, fontsize=plt.rcParams["axes.labelsize"])
    for i, ax in enumerate(axes.flat[: len(hubs)]):
        if i + cols >= len(hubs):  # no visible panel below it
            ax.set_xlabel("Month")
            ax.xaxis.set_tick_params(labelbottom=True)
    keys = [
        Line2D([], [], color="black", linestyle=style, label=line_label(scenario))
        for scenario, style in zip(scenarios, itertools.cycle(LINE_STYLES))
    ]
    keys += _event_keys(events, panel_events)
    fig.legend(
        handles=keys,
        loc="outside upper center",
        ncols=_legend_columns(fig, keys),
        title="Line style: scenario; colour: the panel's hub",
    )  # the caption is below
    return fig


def prices_over_time(
    table: pd.DataFrame,
    events: Sequence[tuple[str, str]] = (),
    panel_events: Mapping[str, Collection[str]] | None = None,
) -> Figure:
    """Price of an H100e-month by channel over time, with 95% bands, one panel per scenario.

    Each channel has its own line style and markers (``LINE_STYLES``, ``MARKERS``), so that
    channels of equal price stay apart; a channel without any price in a scenario draws nothing.

    Args:
        table: Rows of ``scenario``, ``channel``, ``month``, ``mean`` (USD per H100e-month)
            and optional CI columns.
        events: (month YYYY-MM, short label) pairs to mark; months outside the table's are skipped.
        panel_events: The labels of the events each scenario's panel marks (None: all of them).
    """
    scenarios = list(dict.fromkeys(table["scenario"]))
    events = _shown_events(events, table["month"])
    fig, axes = _panels(len(scenarios))
    for ax, scenario in zip(axes, scenarios, strict=True):
        part = table[table["scenario"] == scenario]
        for channel in [c for c in SOURCE_ORDER if c in set(part["channel"])]:
            rows = part[part["channel"] == channel].sort_values("month")
            if rows["mean"].isna().all():
                continue
            x = _months(rows["month"])
            place = SOURCE_ORDER.index(channel)
            every = max(1, len(rows) // 6)  # about six markers a line, staggered between channels
            ax.plot(
                x,
                rows["mean"],
                color=colour(channel),
                linestyle=LINE_STYLES[place % len(LINE_STYLES)],
                marker=MARKERS[place % len(MARKERS)],
                markevery=(place % every, every),
                label=label(channel),
            )
            _band(ax, x, rows, colour(channel))
        ax.set_title(label(scenario))
        _mark_events(ax, events, None if panel_events is None else panel_events.get(scenario, ()))
        ax.set_xlabel("Month")
        _time_axis(ax, table["month"])
    axes[0].set_ylabel("Price (USD / H100e-month)")
    _count_axis(axes[0].yaxis)  # the panels share their tickers
    _legend(axes[-1], axes, [label(c) for c in SOURCE_ORDER], events)
    return fig
