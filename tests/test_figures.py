"""Figure functions and the figure style: the plotted data are read back from the artists.

Each figure is built from a small hand-made tidy table and checked against it: line data,
stacked-area boundaries, heatmap cells and annotations, bar widths and error bars, and the
y extent of every confidence band.
"""

from __future__ import annotations

import io
import itertools
import os
import re
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection, QuadMesh
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text
from matplotlib.transforms import Bbox
from numpy.testing import assert_allclose

from sim.channels import CHANNEL_NAMES, CHANNELS
from sim.report import style
from sim.report.figures import (
    BAND_ALPHA,
    COLOUR_BAR_TICKS,
    EVENT_GID,
    LOG_DECADES,
    TOTAL_BAND_LABEL,
    access_over_time,
    detection_curves,
    hub_differences,
    hub_flows,
    policy_heatmaps,
    prices_over_time,
)
from sim.report.names import LABELS, OFFSHORE_CHANNELS, SOURCE_ORDER, STOCKPILE, label
from sim.report.style import HUB_COLOURS, OKABE_ITO, STOCKPILE_COLOUR, colour, theme

SIM_DIR = str(Path(style.__file__).parent.parent)
MONTHS = ["2025-01", "2025-02", "2025-03"]
# Rows are written in this order so that every function has to sort them by month.
SHUFFLED = [2, 0, 1]


def dates(months: list[str]) -> np.ndarray:
    """Matplotlib date numbers of YYYY-MM months."""
    return mdates.date2num(pd.to_datetime(months, format="%Y-%m"))


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")  # figures of module fixtures stay readable after closing


def data_axes(fig: Figure) -> list[Axes]:
    """The visible axes of a figure that are not colorbars."""
    return [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]


def named_lines(ax: Axes) -> list[Line2D]:
    """Lines with a legend label (matplotlib names unlabelled artists ``_child...``)."""
    return [line for line in ax.lines if not line.get_label().startswith("_")]


def polys(ax: Axes) -> list[PolyCollection]:
    return [c for c in ax.collections if isinstance(c, PolyCollection)]


def bands(ax: Axes) -> list[PolyCollection]:
    """The confidence bands: unlabelled fills with the band transparency."""
    return [p for p in polys(ax) if p.get_label().startswith("_") and p.get_alpha() == BAND_ALPHA]


def fill_bounds(poly: PolyCollection, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper y of a ``fill_between`` polygon at each x (its y extent per x)."""
    vertices = np.concatenate([path.vertices for path in poly.get_paths()])
    low, high = [], []
    for xi in x:
        ys = vertices[np.isclose(vertices[:, 0], xi), 1]
        assert ys.size, f"polygon has no vertex at x={xi}"
        low.append(ys.min())
        high.append(ys.max())
    return np.array(low), np.array(high)


def legend_texts(ax: Axes) -> list[str]:
    """Entries of the legend of an axes, or else of the figure's one legend."""
    legend = ax.get_legend()
    if legend is None and len(ax.figure.legends) == 1:
        legend = ax.figure.legends[0]
    assert legend is not None, "expected a legend"
    return [t.get_text() for t in legend.get_texts()]


def same_colour(artist_colour: object, name: str) -> bool:
    return np.allclose(to_rgba(artist_colour)[:3], to_rgba(colour(name))[:3])


# --------------------------------------------------------------------------- labels


def test_channels_are_labelled_and_ordered_from_the_registry():
    assert (STOCKPILE, *CHANNEL_NAMES) == SOURCE_ORDER
    assert not set(CHANNELS) & set(LABELS)  # the report layer spells out no channel
    for name, channel in CHANNELS.items():
        assert label(name) == channel.label
    assert label(STOCKPILE) == "Stockpile at the start"
    assert label("saudi_arabia") == "Saudi Arabia"
    assert label("some_unlisted_name") == "Some unlisted name"


# --------------------------------------------------------------------------- access_over_time

ACCESS_SCENARIOS = ["baseline", "crackdown_singapore"]
# Written in an order other than SOURCE_ORDER so the stacking order is the function's own.
ACCESS_SOURCES = {
    "smuggling": [[400.0, 500.0, 600.0], [100.0, 150.0, 50.0]],
    "stockpile": [[3000.0, 2500.0, 2000.0], [3000.0, 2500.0, 2000.0]],
    "remote_rental": [[0.0, 5.0, 8.0], [2.0, 0.0, 1.0]],  # a sliver in the stack, with months of zero
    "domestic": [[1000.0, 1200.0, 1500.0], [1100.0, 1300.0, 1700.0]],
}
ACCESS_DEMAND = [[6000.0, 6500.0, 7000.0], [6000.0, 6500.0, 7000.0]]
STACK_ORDER = [s for s in SOURCE_ORDER if s in ACCESS_SOURCES]
ACCESS_OFFSHORE = [c for c in OFFSHORE_CHANNELS if c in ACCESS_SOURCES]


def access_table(with_total: bool = True, with_ci: bool = True) -> pd.DataFrame:
    rows = []
    for k, scenario in enumerate(ACCESS_SCENARIOS):
        for m in SHUFFLED:
            for source, values in ACCESS_SOURCES.items():
                rows.append({"scenario": scenario, "month": MONTHS[m], "source": source, "mean": values[k][m]})
            rows.append({"scenario": scenario, "month": MONTHS[m], "source": "demand", "mean": ACCESS_DEMAND[k][m]})
            if with_total:
                total = sum(values[k][m] for values in ACCESS_SOURCES.values())
                row = {"scenario": scenario, "month": MONTHS[m], "source": "total", "mean": total}
                if with_ci:
                    row |= {"ci_low": total - 100.0 * (m + 1), "ci_high": total + 50.0 * (m + 1)}
                rows.append(row)
    return pd.DataFrame(rows)


def expected_tops(k: int, scale: float) -> dict[str, np.ndarray]:
    """Cumulative sums of the means in stacking order, divided by scale."""
    tops, bottom = {}, np.zeros(len(MONTHS))
    for source in STACK_ORDER:
        bottom = bottom + np.array(ACCESS_SOURCES[source][k]) / scale
        tops[source] = bottom
    return tops


def access_rows(fig: Figure) -> tuple[list[Axes], list[Axes]]:
    """The top row (the stack) and the bottom row (offshore channels) of an access figure."""
    axes = data_axes(fig)
    assert len(axes) == 2 * len(ACCESS_SCENARIOS)
    return axes[: len(ACCESS_SCENARIOS)], axes[len(ACCESS_SCENARIOS) :]


def boundaries(ax: Axes) -> list[Line2D]:
    """The unlabelled lines on top of the stacked areas."""
    return [line for line in ax.lines if line.get_label().startswith("_")]


def total_bands(ax: Axes) -> list[PolyCollection]:
    return [p for p in polys(ax) if p.get_label().startswith(TOTAL_BAND_LABEL)]


@pytest.fixture(scope="module")
def access_fig() -> Figure:
    return access_over_time(access_table())


def test_access_over_time_stacks_sources_in_source_order(access_fig):
    top, _ = access_rows(access_fig)
    x = dates(MONTHS)
    for k, ax in enumerate(top):
        tops = expected_tops(k, 1e3)
        boundary = boundaries(ax)
        assert len(boundary) == len(STACK_ORDER)
        areas = [p for p in polys(ax) if not p.get_label().startswith(("_", TOTAL_BAND_LABEL))]
        assert [p.get_label() for p in areas] == [label(s) for s in STACK_ORDER]
        bottom = np.zeros(len(MONTHS))
        for source, line, area in zip(STACK_ORDER, boundary, areas, strict=True):
            assert same_colour(line.get_color(), source)
            assert same_colour(area.get_facecolor()[0], source)
            assert_allclose(line.get_xydata()[:, 0], x)
            assert_allclose(line.get_xydata()[:, 1], tops[source])
            low, high = fill_bounds(area, x)
            assert_allclose(low, bottom)
            assert_allclose(high, tops[source])
            bottom = tops[source]


def test_access_over_time_draws_demand_line_and_total_band(access_fig):
    top, _ = access_rows(access_fig)
    x = dates(MONTHS)
    for k, ax in enumerate(top):
        (demand,) = named_lines(ax)
        assert demand.get_label() == "Demand"
        assert demand.get_linestyle() == "--"
        assert_allclose(demand.get_xydata()[:, 0], x)
        assert_allclose(demand.get_xydata()[:, 1], np.array(ACCESS_DEMAND[k]) / 1e3)
        assert bands(ax) == []  # no grey transparent fill like the stockpile's
        (band,) = total_bands(ax)
        total = sum(np.array(v[k]) for v in ACCESS_SOURCES.values())
        steps = np.arange(1, len(MONTHS) + 1)
        low, high = fill_bounds(band, x)
        assert_allclose(low, (total - 100.0 * steps) / 1e3)
        assert_allclose(high, (total + 50.0 * steps) / 1e3)


def test_access_over_time_total_band_is_black_hatched_unlike_every_source(access_fig):
    top, _ = access_rows(access_fig)
    (band,) = total_bands(top[0])
    assert band.get_hatch()
    assert to_rgba(band.get_edgecolor()[0]) == to_rgba("black")
    assert all(rgba[3] == 0 for rgba in band.get_facecolor())  # no fill: the stack shows through the hatching
    sources = {to_rgba(colour(s)) for s in SOURCE_ORDER}
    assert to_rgba(band.get_edgecolor()[0]) not in sources


def test_access_over_time_offshore_channels_as_lines_on_a_log_axis_below(access_fig):
    top, low = access_rows(access_fig)
    x = dates(MONTHS)
    largest = max(max(ACCESS_SOURCES[c][k]) for c in ACCESS_OFFSHORE for k in range(len(ACCESS_SCENARIOS))) / 1e3
    for k, (upper, ax) in enumerate(zip(top, low, strict=True)):
        assert ax.get_yscale() == "log"
        assert ax.get_shared_x_axes().joined(upper, ax)
        assert ax.get_shared_y_axes().joined(low[0], ax)
        assert not ax.get_shared_y_axes().joined(upper, ax)
        lines = named_lines(ax)
        assert [line.get_label() for line in lines] == [label(c) for c in ACCESS_OFFSHORE]
        for channel, line in zip(ACCESS_OFFSHORE, lines, strict=True):
            assert same_colour(line.get_color(), channel)
            assert_allclose(line.get_xydata()[:, 0], x)
            expected = np.array(ACCESS_SOURCES[channel][k]) / 1e3
            assert_allclose(line.get_xydata()[:, 1], np.where(expected > 0, expected, np.nan))  # zero: a gap
        assert_allclose(ax.get_ylim(), (5e-4, largest * 2))  # half the decade of the smallest, 1 H100e-month
        assert ax.get_xlabel() == "Month"
        assert upper.get_xlabel() == ""
    assert "log" in low[0].get_ylabel()


def test_access_over_time_log_axis_spans_at_most_its_decades_below_the_largest():
    table = access_table()
    table.loc[(table["source"] == "remote_rental") & (table["mean"] == 1.0), "mean"] = 1e-9
    fig = access_over_time(table)
    largest = max(max(ACCESS_SOURCES[c][k]) for c in ACCESS_OFFSHORE for k in range(len(ACCESS_SCENARIOS))) / 1e3
    assert_allclose(access_rows(fig)[1][0].get_ylim(), (largest * 10.0**-LOG_DECADES, largest * 2))
    plt.close(fig)


def test_access_over_time_draws_a_run_with_nothing_offshore_and_says_so():
    table = access_table()
    table.loc[table["source"].isin(ACCESS_OFFSHORE), "mean"] = 0.0
    fig = access_over_time(table, events=[("2025-02", "An event")])
    fig.savefig(io.BytesIO())  # the log axis drew (it had no limits and raised when an event was marked)
    _, low = access_rows(fig)
    assert low[0].get_ylim() == (1.0, 10.0)
    assert all([t.get_text() for t in ax.texts] == ["no offshore channel used"] for ax in low)
    plt.close(fig)


def test_access_over_time_offshore_lines_carry_their_bands_where_the_channel_is_used():
    table = access_table()
    used = table["source"] == "smuggling"
    table.loc[used, "ci_low"] = table.loc[used, "mean"] - 20.0
    table.loc[used, "ci_high"] = table.loc[used, "mean"] + 30.0
    _, low = access_rows(access_over_time(table))
    x = dates(MONTHS)
    for k, ax in enumerate(low):
        (band,) = bands(ax)  # smuggling's: remote rental's rows have no interval
        assert same_colour(band.get_facecolor()[0], "smuggling")
        means = np.array(ACCESS_SOURCES["smuggling"][k])
        assert_allclose(fill_bounds(band, x), ((means - 20.0) / 1e3, (means + 30.0) / 1e3))


def test_access_over_time_marks_a_month_of_use_between_months_of_zero_with_a_dot(access_fig):
    _, low = access_rows(access_fig)
    for k, ax in enumerate(low):
        line = next(line for line in named_lines(ax) if line.get_label() == label("remote_rental"))
        used = np.array(ACCESS_SOURCES["remote_rental"][k]) > 0  # baseline: 0, 5, 8; the crackdown: 2, 0, 1
        alone = used & ~np.roll(used, 1) & ~np.roll(used, -1)
        alone[0], alone[-1] = used[0] and not used[1], used[-1] and not used[-2]
        assert list(line.get_markevery()) == list(alone)
    assert not any(line.get_markevery()[1] for line in named_lines(low[0]))  # in a run of months, a line


def test_access_over_time_without_offshore_channels_has_one_row():
    table = access_table()
    fig = access_over_time(table[~table["source"].isin(OFFSHORE_CHANNELS)])
    axes = data_axes(fig)
    assert len(axes) == len(ACCESS_SCENARIOS)
    assert all(ax.get_yscale() == "linear" and ax.get_xlabel() == "Month" for ax in axes)


def test_access_over_time_scale_divides_every_series():
    fig = access_over_time(access_table(), scale=1.0)
    top, low = access_rows(fig)
    assert_allclose(boundaries(top[0])[-1].get_xydata()[:, 1], expected_tops(0, 1.0)[STACK_ORDER[-1]])
    assert_allclose(named_lines(top[0])[0].get_xydata()[:, 1], ACCESS_DEMAND[0])
    assert_allclose(named_lines(low[0])[0].get_xydata()[:, 1], ACCESS_SOURCES[ACCESS_OFFSHORE[0]][0])
    assert top[0].get_ylabel() == "Compute used\n(H100e-months / month)"


@pytest.mark.parametrize(
    ("scale", "unit"), [(1e3, "k H100e-months"), (1e6, "M H100e-months"), (50, "x50 H100e-months")]
)
def test_access_over_time_ylabel_names_the_scale(scale, unit):
    fig = access_over_time(access_table(), scale=scale)
    assert data_axes(fig)[0].get_ylabel() == f"Compute used\n({unit} / month)"


def test_access_over_time_count_axes_have_thousands_separators():
    top, low = access_rows(access_over_time(access_table(), scale=1.0))
    for ax in (*top, *low):
        assert ax.yaxis.get_major_formatter()(4000.0, 0) == "4,000"
        assert ax.yaxis.get_major_formatter()(0.01, 0) == "0.01"


def test_access_over_time_labels_titles_and_legend(access_fig):
    top, _ = access_rows(access_fig)
    assert [ax.get_title() for ax in top] == [label(s) for s in ACCESS_SCENARIOS]
    for ax in top[1:]:  # the other panels share the first panel's y axis and its label
        assert ax.get_shared_y_axes().joined(top[0], ax)
    widest = f"{TOTAL_BAND_LABEL} (at most ±225 H100e-months)"  # the third month's 450 wide, halved
    assert legend_texts(top[-1]) == [label(s) for s in STACK_ORDER] + ["Demand", widest]


def test_access_over_time_without_total_rows_draws_no_band():
    top, _ = access_rows(access_over_time(access_table(with_total=False)))
    for ax in top:
        assert total_bands(ax) == []
        assert len(polys(ax)) == len(STACK_ORDER)
    assert TOTAL_BAND_LABEL not in legend_texts(top[-1])


def test_access_over_time_all_nan_ci_draws_no_band():
    table = access_table()
    table.loc[table["source"] == "total", ["ci_low", "ci_high"]] = np.nan
    top, _ = access_rows(access_over_time(table))
    for ax in top:
        assert total_bands(ax) == []


def test_access_over_time_total_rows_without_ci_columns_draw_no_band():
    top, _ = access_rows(access_over_time(access_table(with_total=True, with_ci=False)))
    for ax in top:
        assert total_bands(ax) == []


def test_access_over_time_source_never_used_draws_no_layer_edge_or_legend_entry():
    table = access_table()
    zero_everywhere = table["source"] == "domestic"
    zero_in_baseline = (table["source"] == "smuggling") & (table["scenario"] == "baseline")
    table.loc[zero_everywhere | zero_in_baseline, "mean"] = 0.0
    fig = access_over_time(table)
    top, _ = access_rows(fig)
    drawn = [[p.get_label() for p in polys(ax) if not p.get_label().startswith(("_", TOTAL_BAND_LABEL))] for ax in top]
    assert drawn == [
        [label(s) for s in STACK_ORDER if s not in ("domestic", "smuggling")],
        [label(s) for s in STACK_ORDER if s != "domestic"],
    ]
    assert [len(boundaries(ax)) for ax in top] == [len(names) for names in drawn]  # an edge per layer drawn
    assert label("domestic") not in legend_texts(top[-1]) and label("smuggling") in legend_texts(top[-1])


def test_access_over_time_missing_source_month_keeps_upper_layers():
    table = access_table(with_total=False)
    drop = (table["scenario"] == "baseline") & (table["source"] == "stockpile") & (table["month"] == MONTHS[1])
    top, _ = access_rows(access_over_time(table[~drop]))
    expected = expected_tops(0, 1e3)[STACK_ORDER[-1]]
    expected[1] -= ACCESS_SOURCES["stockpile"][0][1] / 1e3  # the missing layer counts as zero
    assert_allclose(boundaries(top[0])[-1].get_xydata()[:, 1], expected)


# --------------------------------------------------------------------------- policy_heatmaps

X_LEVELS = [0.1, 0.2, 0.3]
Y_LEVELS = [0.0, 0.5]
HEAT = {
    "access_ratio": np.array([[0.9, 0.8, 0.7], [0.6, 0.5, 0.25]]),  # rows: Y_LEVELS, columns: X_LEVELS
    "detection_rate": np.array([[0.05, 0.10, 0.20], [0.30, 0.45, 0.60]]),
}
HALF = {  # half-widths of the 95% intervals
    "access_ratio": np.array([[0.012, 0.02, 0.03], [0.01, 0.015, 0.04]]),
    "detection_rate": np.array([[0.004, 0.01, 0.02], [0.03, 0.02, 0.05]]),
}
# Decimals of the largest half-width's first digit (0.04, 0.05: two); half-widths rounded up.
HEAT_TEXTS = {
    "access_ratio": [["0.90\n±0.02", "0.80\n±0.02", "0.70\n±0.03"], ["0.60\n±0.01", "0.50\n±0.02", "0.25\n±0.04"]],
    "detection_rate": [["0.05\n±0.01", "0.10\n±0.01", "0.20\n±0.02"], ["0.30\n±0.03", "0.45\n±0.02", "0.60\n±0.05"]],
}


def heat_table(with_ci: bool = True) -> pd.DataFrame:
    rows = []
    for metric, grid in HEAT.items():
        for i in reversed(range(len(Y_LEVELS))):  # reversed so the function has to sort
            for j in SHUFFLED:
                row = {"metric": metric, "audit": X_LEVELS[j], "inspect": Y_LEVELS[i], "mean": grid[i, j]}
                if with_ci:
                    row |= {"ci_low": grid[i, j] - HALF[metric][i, j], "ci_high": grid[i, j] + HALF[metric][i, j]}
                rows.append(row)
    return pd.DataFrame(rows)


def draw_heatmaps(table: pd.DataFrame) -> Figure:
    return policy_heatmaps(table, x="audit", y="inspect", x_label="Audit rate (share)", y_label="Inspect")


def colorbars(fig: Figure) -> list[Axes]:
    return [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]


def cell_texts(ax: Axes) -> dict[tuple[float, float], Text]:
    return {(round(t.get_position()[0], 6), round(t.get_position()[1], 6)): t for t in ax.texts}


def contrast(a: object, b: object) -> float:
    """WCAG contrast ratio of two colours."""

    def luminance(c: object) -> float:
        rgb = np.array(to_rgba(c)[:3])
        linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
        return float(linear @ [0.2126, 0.7152, 0.0722])

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.fixture(scope="module")
def heat_fig() -> Figure:
    return draw_heatmaps(heat_table())


def test_policy_heatmaps_cells_equal_pivoted_means(heat_fig):
    axes = data_axes(heat_fig)
    assert len(axes) == len(HEAT)
    assert len(heat_fig.axes) == 2 * len(HEAT)  # a colorbar per metric
    for ax, (metric, grid) in zip(axes, HEAT.items(), strict=True):
        (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
        assert_allclose(np.asarray(mesh.get_array()).reshape(grid.shape), grid)
        assert ax.get_title() == label(metric)
        assert ax.get_xlabel() == "Audit rate (share)"
        assert ax.get_ylabel() == "Inspect"
        assert [t.get_text() for t in ax.get_xticklabels()] == ["0.1", "0.2", "0.3"]
        assert [t.get_text() for t in ax.get_yticklabels()] == ["0", "0.5"]
        assert_allclose(ax.get_xticks(), np.arange(len(X_LEVELS)) + 0.5)
        assert_allclose(ax.get_yticks(), np.arange(len(Y_LEVELS)) + 0.5)


def test_policy_heatmaps_annotates_every_cell_with_mean_and_half_width(heat_fig):
    for ax, (metric, grid) in zip(data_axes(heat_fig), HEAT.items(), strict=True):
        assert len(ax.texts) == grid.size
        (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
        by_position = cell_texts(ax)
        for (i, j), value in np.ndenumerate(grid):
            text = by_position[(j + 0.5, i + 0.5)]
            assert text.get_text() == HEAT_TEXTS[metric][i][j]
            assert contrast(text.get_color(), mesh.to_rgba(value)) >= 4.5  # legible on its cell


def test_a_small_mean_beside_a_wide_interval_keeps_its_first_significant_digit():
    table = heat_table()
    rate = table["metric"] == "detection_rate"
    table.loc[rate, "mean"] = table.loc[rate, "mean"] / 10  # 0.005 .. 0.06: means far below the half-widths
    fig = draw_heatmaps(table)
    texts = cell_texts(data_axes(fig)[1])
    assert texts[(0.5, 0.5)].get_text().startswith("0.005\n")  # not 0.01, nor 0.00


def test_policy_heatmaps_without_ci_annotate_means_alike():
    fig = draw_heatmaps(heat_table(with_ci=False))
    texts = cell_texts(data_axes(fig)[0])
    assert texts[(0.5, 0.5)].get_text() == "0.900"  # three significant digits of the largest mean, 0.9
    assert texts[(2.5, 1.5)].get_text() == "0.250"


def test_policy_heatmaps_share_metrics_span_zero_to_one(heat_fig):
    for ax in data_axes(heat_fig):
        (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
        assert mesh.get_clim() == (0.0, 1.0)


def test_policy_heatmaps_counts_span_their_range_with_thousands_separators():
    means = np.array([[1234.4, 20000.0, 56000.0], [300.0, 4500.0, 9000.0]])
    caps, shares = [5000, 16700, 50000], [0.25, 1.5]
    table = pd.DataFrame(
        [
            {"metric": "seized_h100e", "cap": caps[j], "share": shares[i], "mean": means[i, j]}
            for (i, j), _ in np.ndenumerate(means)
        ]
    )
    fig = policy_heatmaps(table, x="cap", y="share", x_label="Cap", y_label="Share")
    (ax,) = data_axes(fig)
    (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
    assert mesh.get_clim() == (300.0, 56000.0)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["5,000", "16,700", "50,000"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0.25", "1.5"]
    assert cell_texts(ax)[(0.5, 0.5)].get_text() == "1,234"
    assert cell_texts(ax)[(2.5, 0.5)].get_text() == "56,000"
    (bar,) = colorbars(fig)
    assert bar.xaxis.get_major_formatter()(50000.0, 0) == "50,000"


def test_policy_heatmaps_colour_bars_have_few_ticks_whose_labels_do_not_overlap():
    """Six-digit counts over a narrow range got a tick every 10,000 in a study's figure, labels run together."""
    found, verified = [0, 0.001, 0.003, 0.01], [0, 0.02, 0.05]
    smuggled = np.array([[319916.0, 301361, 301361], [319916, 287567, 287567], [319916, 254858, 254858]])
    table = pd.DataFrame(
        [
            {"metric": metric, "verified": verified[j], "found": found[i], "mean": value}
            for metric, scale in (("smuggled_h100e", 1.0), ("access_ratio", 2.8e-6))
            for (i, j), value in np.ndenumerate(np.vstack([smuggled, [319916, 260520, 260520]]) * scale)
        ]
    )
    with theme("paper"):
        fig = policy_heatmaps(table, "verified", "found", "Verified chip found (per month)", "Tampered chip found")
        fig.canvas.draw()
    for bar in colorbars(fig):
        low, high = bar.get_xlim()
        shown = [t for t in bar.get_xticklabels() if t.get_text() and low <= t.get_position()[0] <= high]
        boxes = sorted((t.get_window_extent() for t in shown), key=lambda box: box.x0)
        assert 2 <= len(boxes) <= COLOUR_BAR_TICKS + 1
        assert all(left.x1 < right.x0 for left, right in itertools.pairwise(boxes)), [t.get_text() for t in shown]
    plt.close(fig)


def test_policy_heatmaps_colour_bars_are_labelled_with_the_metric(heat_fig):
    bars = colorbars(heat_fig)
    assert [bar.get_xlabel() or bar.get_ylabel() for bar in bars] == [label(m) for m in HEAT]


def test_policy_heatmaps_annotations_are_readable_in_the_paper_theme():
    with theme("paper"):
        fig = draw_heatmaps(heat_table())
    sizes = [t.get_fontsize() for ax in data_axes(fig) for t in ax.texts]
    assert min(sizes) >= 6.5


def test_policy_heatmaps_nan_cell_is_kept_in_place():
    table = heat_table()
    hole = (table["metric"] == "access_ratio") & (table["audit"] == 0.2) & (table["inspect"] == 0.5)
    table.loc[hole, ["mean", "ci_low", "ci_high"]] = np.nan
    fig = policy_heatmaps(table, x="audit", y="inspect", x_label="a", y_label="b")
    ax = data_axes(fig)[0]
    mesh = next(c for c in ax.collections if isinstance(c, QuadMesh))
    cells = np.ma.filled(np.ma.masked_invalid(np.asarray(mesh.get_array(), dtype=float)), np.nan).reshape(2, 3)
    expected = HEAT["access_ratio"].copy()
    expected[1, 1] = np.nan
    assert_allclose(cells, expected)  # NaN compares equal to NaN in assert_allclose
    assert (1.5, 1.5) not in cell_texts(ax)  # no annotation of a missing cell
    assert len(ax.texts) == expected.size - 1


# --------------------------------------------------------------------------- detection_curves

LEVER = [0.0, 0.1, 0.2]
DETECTION = {  # written out of SOURCE_ORDER
    "data_transport": [0.01, 0.02, 0.04],
    "smuggling": [0.10, 0.20, 0.35],
    "remote_rental": [0.05, 0.15, 0.25],
}
DETECTION_ORDER = [c for c in SOURCE_ORDER if c in DETECTION]


def detection_table(with_ci: bool = True) -> pd.DataFrame:
    rows = []
    for channel, values in DETECTION.items():
        for m in SHUFFLED:
            row = {"channel": channel, "audit": LEVER[m], "mean": values[m]}
            if with_ci:
                row |= {"ci_low": values[m] - 0.01, "ci_high": values[m] + 0.02}
            rows.append(row)
    return pd.DataFrame(rows)


def test_detection_curves_lines_bands_and_legend():
    fig = detection_curves(detection_table(), x="audit", x_label="Audit rate (share of firms)")
    (ax,) = data_axes(fig)
    lines = named_lines(ax)
    assert [line.get_label() for line in lines] == [label(c) for c in DETECTION_ORDER]
    assert legend_texts(ax) == [label(c) for c in DETECTION_ORDER]
    ax_bands = bands(ax)
    assert len(ax_bands) == len(DETECTION_ORDER)
    for channel, line, band in zip(DETECTION_ORDER, lines, ax_bands, strict=True):
        assert same_colour(line.get_color(), channel)
        assert same_colour(band.get_facecolor()[0], channel)
        assert_allclose(line.get_xydata()[:, 0], LEVER)
        assert_allclose(line.get_xydata()[:, 1], DETECTION[channel])
        low, high = fill_bounds(band, LEVER)
        assert_allclose(low, np.array(DETECTION[channel]) - 0.01)
        assert_allclose(high, np.array(DETECTION[channel]) + 0.02)
    assert ax.get_xlabel() == "Audit rate (share of firms)"
    assert "Detection rate" in ax.get_ylabel()
    assert ax.get_ylim()[0] == 0


def test_detection_curves_without_ci_columns_draw_no_band():
    fig = detection_curves(detection_table(with_ci=False), x="audit", x_label="a")
    (ax,) = data_axes(fig)
    assert polys(ax) == []
    assert len(named_lines(ax)) == len(DETECTION_ORDER)


def test_detection_curves_skip_band_only_for_channel_with_nan_ci():
    table = detection_table()
    table.loc[table["channel"] == "smuggling", ["ci_low", "ci_high"]] = np.nan
    fig = detection_curves(table, x="audit", x_label="a")
    (ax,) = data_axes(fig)
    drawn = bands(ax)
    assert len(drawn) == len(DETECTION_ORDER) - 1
    assert not any(same_colour(b.get_facecolor()[0], "smuggling") for b in drawn)


def test_detection_curves_leave_out_a_channel_never_attempted_and_show_lines_at_zero():
    table = detection_table()
    never, zero = DETECTION_ORDER[0], DETECTION_ORDER[1]
    table.loc[table["channel"] == never, ["mean", "ci_low", "ci_high"]] = np.nan
    table.loc[table["channel"] == zero, ["mean", "ci_low", "ci_high"]] = 0.0
    fig = detection_curves(table, x="audit", x_label="a")
    (ax,) = data_axes(fig)
    assert label(never) not in [line.get_label() for line in named_lines(ax)]
    assert label(never) not in all_legend_texts(fig) and label(zero) in all_legend_texts(fig)
    (at_zero,) = [line for line in named_lines(ax) if line.get_label() == label(zero)]
    assert not at_zero.get_clip_on()  # drawn over the x axis, not hidden under it


# --------------------------------------------------------------------------- hub_flows

HUBS = ["singapore", "malaysia", "uae", "thailand", "vietnam"]  # five hubs: two rows of four panels
HUB_SCENARIOS = ["baseline", "crackdown_singapore"]


def hub_value(h: int, k: int, m: int) -> float:
    return 1000.0 * (h + 1) + 300.0 * k + 150.0 * m


def hub_table(with_ci: bool = True, scenarios: list[str] = HUB_SCENARIOS) -> pd.DataFrame:
    rows = []
    for h, hub in enumerate(HUBS):
        for k, scenario in enumerate(scenarios):
            for m in SHUFFLED:
                value = hub_value(h, k, m)
                row = {"hub": hub, "scenario": scenario, "month": MONTHS[m], "mean": value}
                if with_ci:
                    row |= {"ci_low": value - 80.0, "ci_high": value + 120.0}
                rows.append(row)
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def hub_fig() -> Figure:
    return hub_flows(hub_table(), events=[("2025-02", "Crackdown")])


def test_hub_flows_lines_and_bands_per_hub_and_scenario(hub_fig):
    axes = data_axes(hub_fig)
    assert len(axes) == len(HUBS)
    assert sum(not ax.get_visible() for ax in hub_fig.axes) == 8 - len(HUBS)
    x = dates(MONTHS)
    for h, (ax, hub) in enumerate(zip(axes, HUBS, strict=True)):
        assert ax.get_title() == label(hub)
        lines = named_lines(ax)
        assert [line.get_label() for line in lines] == [label(s) for s in HUB_SCENARIOS]
        assert [line.get_linestyle() for line in lines] == ["-", "--"]
        ax_bands = bands(ax)
        assert len(ax_bands) == len(HUB_SCENARIOS)
        for k, (line, band) in enumerate(zip(lines, ax_bands, strict=True)):
            expected = np.array([hub_value(h, k, m) for m in range(len(MONTHS))]) / 1e3
            assert same_colour(line.get_color(), hub)
            assert_allclose(line.get_xydata()[:, 0], x)
            assert_allclose(line.get_xydata()[:, 1], expected)
            low, high = fill_bounds(band, x)
            assert_allclose(low, expected - 0.08)
            assert_allclose(high, expected + 0.12)


def test_hub_flows_labels_legend_and_event_marker(hub_fig):
    axes = data_axes(hub_fig)
    grid = np.array(hub_fig.axes).reshape(2, 4)
    assert "k H100e" in hub_fig.get_supylabel()  # one label for the shared y axis; means are divided by 1e3
    assert all(ax.get_ylabel() == "" for ax in axes)
    for ax in axes:  # every panel shares the first panel's y axis
        assert ax.get_shared_y_axes().joined(grid[0, 0], ax)
    assert legend_texts(axes[0]) == [label(s) for s in HUB_SCENARIOS] + ["1: Crackdown (2025-02)"]
    for ax in axes:
        (marker,) = event_lines(ax)
        assert_allclose(marker.get_xydata()[:, 0], dates(["2025-02"]).repeat(2))
        assert [t.get_text() for t in event_texts(ax)] == ["1"]


def test_hub_panels_name_the_scenarios_of_an_event_not_every_scenario_has():
    first, second = HUB_SCENARIOS
    events = [("2025-01", "Shared"), ("2025-02", "Crackdown")]
    whose = {first: {"Shared"}, second: {"Shared", "Crackdown"}}
    fig = hub_flows(hub_table(), events=events, panel_events=whose)
    assert legend_texts(data_axes(fig)[0])[-2:] == [
        "1: Shared (2025-01)",
        f"2: Crackdown (2025-02; {label(second)} only)",
    ]
    assert all(len(event_lines(ax)) == 2 for ax in data_axes(fig))  # every hub panel draws every scenario's events


def test_hub_flows_count_axis_has_thousands_separators(hub_fig):
    assert data_axes(hub_fig)[0].yaxis.get_major_formatter()(1500.0, 0) == "1,500"


def test_hub_flows_without_ci_or_event_draw_neither():
    fig = hub_flows(hub_table(with_ci=False))
    for ax in data_axes(fig):
        assert polys(ax) == []
        assert len(ax.lines) == len(HUB_SCENARIOS)


def test_hub_flows_labels_months_only_on_panels_with_none_below(hub_fig):
    axes = data_axes(hub_fig)  # five panels: four in the first row, one below the first
    assert [ax.get_xlabel() for ax in axes] == ["", "Month", "Month", "Month", "Month"]
    assert [any(t.get_visible() for t in ax.get_xticklabels()) for ax in axes] == [False, True, True, True, True]


def test_hub_flows_draws_every_scenario():
    scenarios = [f"scenario_{i}" for i in range(5)]
    fig = hub_flows(hub_table(scenarios=scenarios))
    for ax in data_axes(fig):
        assert len(named_lines(ax)) == len(scenarios)
        assert all(line.get_linestyle() != ":" for line in named_lines(ax))  # dotted lines are events only


# --------------------------------------------------------------------------- hub_differences


def difference_table() -> pd.DataFrame:
    """The crackdown minus the baseline for two hubs, with paired intervals."""
    rows = []
    for h, hub in enumerate(["singapore", "malaysia"]):
        for m in SHUFFLED:
            mean = (-1000.0 if hub == "singapore" else 400.0) * (m + 1)
            rows.append(
                {
                    "scenario": "crackdown_singapore",
                    "reference": "baseline",
                    "hub": hub,
                    "month": MONTHS[m],
                    "mean": mean,
                    "ci_low": mean - 100.0 * (h + 1),
                    "ci_high": mean + 100.0 * (h + 1),
                }
            )
    return pd.DataFrame(rows)


def test_hub_differences_plot_each_difference_with_its_band_and_a_zero_line():
    fig = hub_differences(difference_table(), events=[("2025-02", "Singapore crackdown")])
    axes = data_axes(fig)
    assert [ax.get_title() for ax in axes] == ["Singapore", "Malaysia"]
    for h, (ax, sign) in enumerate(zip(axes, (-1000.0, 400.0), strict=True)):
        (line,) = named_lines(ax)
        assert line.get_label() == "Singapore crackdown − Baseline"
        assert_allclose(line.get_xydata()[:, 1], sign * np.arange(1, 4) / 1e3)
        (band,) = bands(ax)
        low, high = fill_bounds(band, dates(MONTHS))
        assert_allclose(low, (sign * np.arange(1, 4) - 100.0 * (h + 1)) / 1e3)
        assert_allclose(high, (sign * np.arange(1, 4) + 100.0 * (h + 1)) / 1e3)
        zero = [line for line in ax.lines if line.get_gid() == "zero"]
        assert len(zero) == 1 and set(zero[0].get_ydata()) == {0}
    assert fig.get_supylabel() == "Difference in orders (k H100e / month)"


# --------------------------------------------------------------------------- prices_over_time

PRICE_SCENARIOS = ["baseline", "crackdown_singapore"]
PRICES = {  # channel -> scenario index -> monthly prices; written out of SOURCE_ORDER
    "remote_rental": [[2000.0, 2100.0, 2200.0], [2000.0, 2400.0, 2600.0]],
    "compliant": [[1500.0, 1500.0, 1550.0], [1500.0, 1520.0, 1560.0]],
    "smuggling": [[3000.0, 3300.0, 3500.0], [3000.0, 4000.0, 4500.0]],
    "data_transport": [[2000.0, 2100.0, 2200.0], [2000.0, 2400.0, 2600.0]],  # the same as remote rental
}
PRICE_ORDER = [c for c in SOURCE_ORDER if c in PRICES]


def price_table(with_ci: bool = True) -> pd.DataFrame:
    rows = []
    for k, scenario in enumerate(PRICE_SCENARIOS):
        for channel, values in PRICES.items():
            for m in SHUFFLED:
                row = {"scenario": scenario, "channel": channel, "month": MONTHS[m], "mean": values[k][m]}
                if with_ci:
                    row |= {"ci_low": values[k][m] * 0.9, "ci_high": values[k][m] * 1.2}
                rows.append(row)
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def price_fig() -> Figure:
    return prices_over_time(price_table())


def test_prices_over_time_lines_and_bands(price_fig):
    axes = data_axes(price_fig)
    assert len(axes) == len(PRICE_SCENARIOS)
    x = dates(MONTHS)
    for k, ax in enumerate(axes):
        lines = named_lines(ax)
        assert [line.get_label() for line in lines] == [label(c) for c in PRICE_ORDER]
        ax_bands = bands(ax)
        assert len(ax_bands) == len(PRICE_ORDER)
        for channel, line, band in zip(PRICE_ORDER, lines, ax_bands, strict=True):
            expected = np.array(PRICES[channel][k])
            assert same_colour(line.get_color(), channel)
            assert same_colour(band.get_facecolor()[0], channel)
            assert_allclose(line.get_xydata()[:, 0], x)
            assert_allclose(line.get_xydata()[:, 1], expected)
            low, high = fill_bounds(band, x)
            assert_allclose(low, expected * 0.9)
            assert_allclose(high, expected * 1.2)


def test_prices_over_time_labels_titles_and_legend(price_fig):
    axes = data_axes(price_fig)
    assert [ax.get_title() for ax in axes] == [label(s) for s in PRICE_SCENARIOS]
    for ax in axes:
        assert ax.get_xlabel() == "Month"
    assert "USD" in axes[0].get_ylabel()
    for ax in axes[1:]:
        assert ax.get_shared_y_axes().joined(axes[0], ax)
    assert legend_texts(axes[-1]) == [label(c) for c in PRICE_ORDER]


def test_prices_over_time_without_ci_columns_draw_no_band():
    fig = prices_over_time(price_table(with_ci=False))
    for ax in data_axes(fig):
        assert polys(ax) == []
        assert len(named_lines(ax)) == len(PRICE_ORDER)


def test_prices_over_time_nan_mean_leaves_a_gap():
    table = price_table(with_ci=False)
    gap = (table["scenario"] == "baseline") & (table["channel"] == "smuggling") & (table["month"] == MONTHS[1])
    table.loc[gap, "mean"] = np.nan
    fig = prices_over_time(table)
    line = next(line for line in named_lines(data_axes(fig)[0]) if line.get_label() == label("smuggling"))
    y = line.get_xydata()[:, 1]
    assert np.isnan(y[1])
    assert_allclose(y[[0, 2]], np.array(PRICES["smuggling"][0])[[0, 2]])


def test_prices_over_time_each_channel_has_its_own_line_style_and_marker(price_fig):
    for ax in data_axes(price_fig):
        lines = {line.get_label(): line for line in named_lines(ax)}
        markers = [line.get_marker() for line in lines.values()]
        assert len(set(markers)) == len(markers)
        assert all(marker not in ("", "None", None) for marker in markers)
        remote, transport = lines[label("remote_rental")], lines[label("data_transport")]
        assert_allclose(remote.get_xydata(), transport.get_xydata())  # the lines coincide ...
        assert remote.get_linestyle() != transport.get_linestyle()  # ... yet stay apart
        assert remote.get_marker() != transport.get_marker()


def test_prices_over_time_channel_without_price_draws_nothing():
    table = price_table()
    table.loc[table["channel"] == "compliant", ["mean", "ci_low", "ci_high"]] = np.nan  # in every scenario
    crackdown = (table["channel"] == "smuggling") & (table["scenario"] == "crackdown_singapore")
    table.loc[crackdown, ["mean", "ci_low", "ci_high"]] = np.nan  # in the last scenario only
    axes = data_axes(prices_over_time(table))
    drawn = [[line.get_label() for line in named_lines(ax)] for ax in axes]
    assert drawn == [
        [label(c) for c in PRICE_ORDER if c != "compliant"],
        [label(c) for c in PRICE_ORDER if c not in ("compliant", "smuggling")],
    ]
    assert len(bands(axes[1])) == len(PRICE_ORDER) - 2
    assert legend_texts(axes[-1]) == [label(c) for c in PRICE_ORDER if c != "compliant"]


def test_prices_over_time_axis_has_thousands_separators(price_fig):
    assert data_axes(price_fig)[0].yaxis.get_major_formatter()(2500.0, 0) == "2,500"


# --------------------------------------------------------------------------- events on time axes

EVENTS = [("2025-02", "Crackdown"), ("2024-06", "Before the run"), ("2025-03", "Rule change")]
SHOWN_EVENTS = ["2025-02", "2025-03"]  # the event months within the tables' months, numbered 1 and 2
TIME_FIGURES = {
    "access_over_time": lambda events: access_over_time(access_table(), events=events),
    "prices_over_time": lambda events: prices_over_time(price_table(), events=events),
    "hub_flows": lambda events: hub_flows(hub_table(), events=events),
}


def event_lines(ax: Axes) -> list[Line2D]:
    return [line for line in ax.lines if line.get_gid() == EVENT_GID]


def event_texts(ax: Axes) -> list[Text]:
    return [text for text in ax.texts if text.get_gid() == EVENT_GID]


def all_legend_texts(fig: Figure) -> list[str]:
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend() is not None)]
    return [t.get_text() for legend in legends for t in legend.get_texts()]


@pytest.mark.parametrize("draw", TIME_FIGURES.values(), ids=TIME_FIGURES.keys())
def test_events_are_numbered_lines_explained_in_the_legend(draw):
    fig = draw(EVENTS)
    numbered = [ax for ax in data_axes(fig) if event_texts(ax)]
    assert numbered and all(ax.get_title() for ax in numbered)  # the titled (top) panels carry the numbers
    for ax in data_axes(fig):
        lines, texts = event_lines(ax), event_texts(ax)
        assert_allclose([line.get_xdata()[0] for line in lines], dates(SHOWN_EVENTS))
        if ax in numbered:
            assert [text.get_text() for text in texts] == ["1", "2"]
            assert_allclose([text.xy[0] for text in texts], dates(SHOWN_EVENTS))  # each number on its line
            fig.draw_without_rendering()
            top = ax.get_window_extent().y1
            assert all(text.get_window_extent().y0 >= top for text in texts)  # above the data, never on it
            assert ax.title.get_window_extent().y0 >= max(t.get_window_extent().y1 for t in texts)  # title clear
        for line in lines:
            assert to_rgba(line.get_color()) == to_rgba("black")
    entries = all_legend_texts(fig)
    assert "1: Crackdown (2025-02)" in entries
    assert "2: Rule change (2025-03)" in entries
    assert not any("Before the run" in entry for entry in entries)  # outside the months plotted


@pytest.mark.parametrize(
    "draw",
    [
        lambda only: access_over_time(access_table(), events=EVENTS, panel_events=only),
        lambda only: prices_over_time(price_table(), events=EVENTS, panel_events=only),
    ],
    ids=["access_over_time", "prices_over_time"],
)
def test_each_scenario_panel_marks_only_its_own_events_under_their_shared_numbers(draw):
    fig = draw({"baseline": {"Crackdown", "Rule change"}, "crackdown_singapore": {"Rule change"}})
    by_title = {ax.get_title(): ax for ax in data_axes(fig) if ax.get_title()}
    assert [t.get_text() for t in event_texts(by_title["Baseline"])] == ["1", "2"]
    assert [t.get_text() for t in event_texts(by_title["Singapore crackdown"])] == ["2"]


def test_numbers_of_neighbouring_events_step_down_so_they_do_not_overprint():
    fig = hub_flows(hub_table(), events=EVENTS)
    offsets = [text.xyann[1] for text in event_texts(data_axes(fig)[0])]
    assert offsets[0] != offsets[1]


@pytest.mark.parametrize("draw", TIME_FIGURES.values(), ids=TIME_FIGURES.keys())
def test_no_events_draw_no_markers(draw):
    fig = draw(())
    for ax in fig.axes:
        assert event_lines(ax) == []
        assert event_texts(ax) == []
        assert not any(to_rgba(line.get_color()) == to_rgba("grey") for line in ax.lines)


# --------------------------------------------------------------------------- style


def test_colour_of_channels_stockpile_and_hubs():
    for name, channel in CHANNELS.items():
        assert colour(name) == channel.colour
    assert colour(STOCKPILE) == STOCKPILE_COLOUR
    assert colour("singapore") == HUB_COLOURS["singapore"]
    assert colour("unlisted_hub") in OKABE_ITO


def test_colours_of_the_sources_are_distinct():
    assert len({to_rgba(colour(s)) for s in SOURCE_ORDER}) == len(SOURCE_ORDER)


def test_colour_of_unlisted_name_is_stable_across_processes():
    names = ("hub_a", "hub_b", "hub_c", "hub_d")
    # The child registers a bare ``sim`` package so it imports style, names and channels, not the model.
    code = (
        f"import sys, types; sim = sys.modules['sim'] = types.ModuleType('sim'); sim.__path__ = [{SIM_DIR!r}]; "
        f"from sim.report.style import colour; print(hash('hub_a')); print([colour(n) for n in {names!r}])"
    )
    ours = os.environ.get("PYTHONHASHSEED", "")
    child = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONHASHSEED": str(int(ours) + 1) if ours.isdigit() else "0"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    child_hash, child_colours = child.stdout.splitlines()
    assert int(child_hash) != hash("hub_a")  # otherwise the test could not tell
    assert child_colours == str([colour(n) for n in names])


@pytest.mark.parametrize(("name", "size"), [("paper", 8), ("slides", 14)])
def test_theme_sets_font_size_inside_block_and_restores_it(name, size):
    before = matplotlib.rcParams["font.size"]
    assert before != size  # otherwise the test could not tell
    with theme(name):
        assert matplotlib.rcParams["font.size"] == size
        assert matplotlib.rcParams["legend.frameon"] is False
    assert matplotlib.rcParams["font.size"] == before


def test_theme_restores_font_size_after_an_error():
    before = matplotlib.rcParams["font.size"]
    with pytest.raises(RuntimeError), theme("slides"):
        raise RuntimeError("boom")
    assert matplotlib.rcParams["font.size"] == before


def test_unknown_theme_raises_naming_allowed_themes():
    with pytest.raises(ValueError, match="poster") as info, theme("poster"):
        pass
    assert "paper" in str(info.value)
    assert "slides" in str(info.value)


def test_hub_colours_are_distinct_from_each_other_every_channel_and_the_stockpile():
    hubs = ["singapore", "malaysia", "thailand", "indonesia", "vietnam", "uae", "saudi_arabia", "hong_kong"]
    assert set(HUB_COLOURS) == set(hubs)
    assert label("hong_kong") == "Hong Kong"
    named = [colour(n) for n in (*hubs, *SOURCE_ORDER)]
    assert len({to_rgba(c) for c in named}) == len(named)
    for i, hub in enumerate(hubs):  # not merely different: no two look alike (CIELAB distance)
        for j, other in enumerate(named[i + 1 :], start=i + 1):
            distance = np.linalg.norm(_cielab(colour(hub)) - _cielab(other))
            assert distance > (25 if j < len(hubs) else 18), (hub, other, distance)


def _cielab(name: str) -> np.ndarray:
    """A colour in CIELAB (D65), where distances follow what the eye tells apart."""
    rgb = np.array(to_rgba(name)[:3])
    linear = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ linear
    f = np.cbrt(xyz / [0.95047, 1.0, 1.08883])
    f = np.where(xyz / [0.95047, 1.0, 1.08883] > 0.008856, f, 7.787 * xyz / [0.95047, 1.0, 1.08883] + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_width_and_height_follow_the_active_theme():
    assert (style.width("one_column"), style.width("two_column")) == (3.5, 7.2)  # paper outside any theme
    with theme("slides"):
        assert (style.width("one_column"), style.width("two_column")) == (6.125, 12.6)  # paper's, 1.75 times
        assert style.height("two_column", 2.4) == pytest.approx(2.4 * 1.75)
        with theme("paper"):
            assert style.width("two_column") == 7.2
            assert style.height("two_column", 2.4) == 2.4
        assert style.width("two_column") == 12.6
    assert style.width("two_column") == 7.2
    with pytest.raises(RuntimeError), theme("slides"):
        raise RuntimeError("boom")
    assert style.width("two_column") == 7.2


# --------------------------------------------------------------------------- layout in both themes

LONG_MONTHS = [f"{year}-{month:02d}" for year in (2025, 2026, 2027) for month in range(1, 13)]
LONG_SCENARIOS = ["baseline", "diffusion_rule_kept", "crackdown_singapore"]  # three panels, long titles
#: As many rule changes as the baseline's, as close together (numbers on three levels).
LONG_EVENTS = [
    ("2025-04", "H20 licence"),
    ("2025-05", "Diffusion Rule in force"),
    ("2025-05", "Diffusion Rule rescinded"),
    ("2025-07", "Malaysia permit"),
    ("2025-08", "Beijing discourages H20"),
    ("2025-08", "H20 resumed"),
    ("2025-12", "H200 approved"),
]


def long_table(key: str, names: list[str]) -> pd.DataFrame:
    """Three years of made-up monthly means with intervals, per scenario and name."""
    rows = []
    for k, scenario in enumerate(LONG_SCENARIOS):
        for n, name in enumerate(names):
            for m, month in enumerate(LONG_MONTHS):
                mean = 1000.0 * (n + 1) * (1 + 0.02 * m) + 100.0 * k
                rows.append(
                    {
                        "scenario": scenario,
                        key: name,
                        "month": month,
                        "mean": mean,
                        "ci_low": mean * 0.95,
                        "ci_high": mean * 1.05,
                    }
                )
    return pd.DataFrame(rows)


def long_heat_table() -> pd.DataFrame:
    rows = []
    for metric in ("access_ratio", "detection_rate"):
        for i, cap in enumerate([5000, 16700, 50000]):
            for j, budget in enumerate([0, 2, 4, 8, 16, 32]):
                mean = 0.9613 + 0.0001 * (i + j) if metric == "access_ratio" else 0.05 + 0.025 * j
                rows.append(
                    {
                        "metric": metric,
                        "cap": cap,
                        "budget": budget,
                        "mean": mean,
                        "ci_low": mean - 0.0011,
                        "ci_high": mean + 0.0011,
                    }
                )
    return pd.DataFrame(rows)


LAYOUT_FIGURES = {
    "access_over_time": lambda: access_over_time(
        long_table("source", [*SOURCE_ORDER, "demand", "total"]), events=LONG_EVENTS
    ),
    "prices_over_time": lambda: prices_over_time(long_table("channel", list(CHANNEL_NAMES)), events=LONG_EVENTS),
    "hub_flows": lambda: hub_flows(long_table("hub", list(HUB_COLOURS)), events=LONG_EVENTS),
    "policy_heatmaps": lambda: policy_heatmaps(
        long_heat_table(), x="budget", y="cap", x_label="Audit budget (checks/month)", y_label="Tier-2 cap (H100e/year)"
    ),
}


def month_axis_labels(fig: Figure) -> set[str]:
    """The labels of the major ticks within view on every axes' time axis."""
    labels = set()
    for ax in fig.axes:
        low, high = ax.get_xlim()
        formatter = ax.xaxis.get_major_formatter()
        labels |= {formatter(t) for t in ax.get_xticks() if low <= t <= high and ax.get_xticklabels()}
    return labels


@pytest.mark.parametrize("name", ["access_over_time", "prices_over_time", "hub_flows"])
def test_a_three_year_axis_is_labelled_by_year_a_shorter_one_by_month(name):
    fig = LAYOUT_FIGURES[name]()
    fig.draw_without_rendering()
    years = month_axis_labels(fig)
    assert {"2025", "2026", "2027"} <= years and all(re.fullmatch(r"\d{4}", year) for year in years)
    with theme("paper"):  # month labels are spaced by their size: at the paper's, all three fit
        short = TIME_FIGURES[name](())  # three months
        short.draw_without_rendering()
    assert month_axis_labels(short) == set(MONTHS)


def overlap(a: Bbox, b: Bbox) -> bool:
    """Whether two boxes share an area (touching edges do not count)."""
    return min(a.x1, b.x1) > max(a.x0, b.x0) and min(a.y1, b.y1) > max(a.y0, b.y0)


def assert_apart(texts: list[Text]) -> None:
    boxes = [(t.get_text(), t.get_window_extent()) for t in texts if t.get_visible() and t.get_text()]
    for i, (text, box) in enumerate(boxes):
        for other, other_box in boxes[i + 1 :]:
            assert not overlap(box, other_box), (text, other)


def drawn_tick_labels(ax: Axes) -> list[Text]:
    """The visible tick labels of both axes within their view limits (others are not drawn)."""
    labels = []
    for axis in (ax.xaxis, ax.yaxis):
        low, high = sorted(axis.get_view_interval())
        slack = 1e-9 * (high - low)
        for tick in axis.get_major_ticks():
            if low - slack <= tick.get_loc() <= high + slack and tick.label1.get_visible() and tick.label1.get_text():
                labels.append(tick.label1)
    return labels


@pytest.mark.parametrize("name", LAYOUT_FIGURES)
@pytest.mark.parametrize(("theme_name", "width_in"), [("paper", 7.2), ("slides", 12.6)])
def test_figure_texts_do_not_overlap(name, theme_name, width_in):
    with theme(theme_name):  # tick density depends on the theme's font sizes: measure inside it
        fig = LAYOUT_FIGURES[name]()
        fig.draw_without_rendering()
        assert fig.get_size_inches()[0] == pytest.approx(width_in)
        axes = data_axes(fig)
        assert_apart([ax.title for ax in axes])  # panel titles
        y_labels = [ax.yaxis.label for ax in axes if ax.get_ylabel()]
        y_labels += [t for t in fig.texts if fig.get_supylabel() and t.get_text() == fig.get_supylabel()]
        assert_apart(y_labels)  # e.g. the rows of hub flows
        for ax in fig.axes:
            ticks = drawn_tick_labels(ax)
            assert_apart(ticks)
            assert_apart(ax.texts)  # heatmap annotations
            for y_label in y_labels:
                assert not any(overlap(y_label.get_window_extent(), t.get_window_extent()) for t in ticks)
        for legend in [*fig.legends, *(ax.get_legend() for ax in axes if ax.get_legend() is not None)]:
            for ax in axes:  # legends beside or below the panels, not over one
                assert not overlap(legend.get_window_extent(), ax.get_window_extent())


@pytest.mark.parametrize(("theme_name", "width_in"), [("paper", 3.5), ("slides", 6.125)])
def test_one_column_figure_takes_the_theme_width(theme_name, width_in):
    with theme(theme_name):
        fig = detection_curves(detection_table(), x="audit", x_label="a")
    assert fig.get_size_inches()[0] == pytest.approx(width_in)


@pytest.mark.parametrize("theme_name", ["paper", "slides"])
def test_month_labels_of_a_run_under_two_years_fit_small_panels(theme_name):
    months = [f"2025-{m:02d}" for m in range(1, 13)]
    table = pd.DataFrame(
        [{"hub": h, "scenario": "baseline", "month": m, "mean": 1000.0} for h in HUB_COLOURS for m in months]
    )
    with theme(theme_name):
        fig = hub_flows(table)
        fig.draw_without_rendering()
        for ax in data_axes(fig):
            labels = [t for t in drawn_tick_labels(ax) if re.fullmatch(r"\d{4}-\d{2}", t.get_text())]
            assert len(labels) >= 2 or not ax.get_xlabel()  # months are labelled under the bottom panels
            assert_apart(labels)
