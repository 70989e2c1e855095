"""Figure functions and the figure style: the plotted data are read back from the artists.

Each figure is built from a small hand-made tidy table and checked against it: line data,
stacked-area boundaries, heatmap cells and annotations, bar widths and error bars, and the
y extent of every confidence band.
"""

from __future__ import annotations

import os
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
from matplotlib.patches import Rectangle
from numpy.testing import assert_allclose

from sim.channels import CHANNEL_NAMES, CHANNELS
from sim.report import style
from sim.report.figures import (
    BAND_ALPHA,
    access_over_time,
    detection_curves,
    hub_flows,
    policy_heatmaps,
    prices_over_time,
    sensitivity_bars,
)
from sim.report.names import LABELS, SOURCE_ORDER, STOCKPILE, label
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
    assert label(STOCKPILE) == "Pre-2025 stockpile"
    assert label("saudi_arabia") == "Saudi Arabia"
    assert label("some_unlisted_name") == "Some unlisted name"


# --------------------------------------------------------------------------- access_over_time

ACCESS_SCENARIOS = ["baseline", "crackdown_singapore"]
# Written in an order other than SOURCE_ORDER so the stacking order is the function's own.
ACCESS_SOURCES = {
    "smuggling": [[400.0, 500.0, 600.0], [100.0, 150.0, 50.0]],
    "stockpile": [[3000.0, 2500.0, 2000.0], [3000.0, 2500.0, 2000.0]],
    "domestic": [[1000.0, 1200.0, 1500.0], [1100.0, 1300.0, 1700.0]],
}
ACCESS_DEMAND = [[6000.0, 6500.0, 7000.0], [6000.0, 6500.0, 7000.0]]
STACK_ORDER = [s for s in SOURCE_ORDER if s in ACCESS_SOURCES]


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


@pytest.fixture(scope="module")
def access_fig() -> Figure:
    return access_over_time(access_table())


def test_access_over_time_stacks_sources_in_source_order(access_fig):
    axes = data_axes(access_fig)
    assert len(axes) == len(ACCESS_SCENARIOS)
    x = dates(MONTHS)
    for k, ax in enumerate(axes):
        tops = expected_tops(k, 1e3)
        boundary = [line for line in ax.lines if line.get_label().startswith("_")]
        assert len(boundary) == len(STACK_ORDER)
        areas = [p for p in polys(ax) if not p.get_label().startswith("_")]
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
    x = dates(MONTHS)
    for k, ax in enumerate(data_axes(access_fig)):
        (demand,) = named_lines(ax)
        assert demand.get_label() == "Demand"
        assert demand.get_linestyle() == "--"
        assert_allclose(demand.get_xydata()[:, 0], x)
        assert_allclose(demand.get_xydata()[:, 1], np.array(ACCESS_DEMAND[k]) / 1e3)
        (band,) = bands(ax)
        total = sum(np.array(v[k]) for v in ACCESS_SOURCES.values())
        steps = np.arange(1, len(MONTHS) + 1)
        low, high = fill_bounds(band, x)
        assert_allclose(low, (total - 100.0 * steps) / 1e3)
        assert_allclose(high, (total + 50.0 * steps) / 1e3)


def test_access_over_time_scale_divides_every_series():
    fig = access_over_time(access_table(), scale=1.0)
    ax = data_axes(fig)[0]
    boundary = [line for line in ax.lines if line.get_label().startswith("_")]
    assert_allclose(boundary[-1].get_xydata()[:, 1], expected_tops(0, 1.0)[STACK_ORDER[-1]])
    assert_allclose(named_lines(ax)[0].get_xydata()[:, 1], ACCESS_DEMAND[0])
    assert ax.get_ylabel() == "Compute used (H100e-months / month)"


@pytest.mark.parametrize(
    ("scale", "unit"), [(1e3, "k H100e-months"), (1e6, "M H100e-months"), (50, "x50 H100e-months")]
)
def test_access_over_time_ylabel_names_the_scale(scale, unit):
    fig = access_over_time(access_table(), scale=scale)
    assert data_axes(fig)[0].get_ylabel() == f"Compute used ({unit} / month)"


def test_access_over_time_labels_titles_and_legend(access_fig):
    axes = data_axes(access_fig)
    assert [ax.get_title() for ax in axes] == [label(s) for s in ACCESS_SCENARIOS]
    for ax in axes:
        assert ax.get_xlabel() == "Month"
    for ax in axes[1:]:  # the other panels share the first panel's y axis and its label
        assert ax.get_shared_y_axes().joined(axes[0], ax)
    assert legend_texts(axes[-1]) == [label(s) for s in STACK_ORDER] + ["Demand"]


def test_access_over_time_without_total_rows_draws_no_band():
    fig = access_over_time(access_table(with_total=False))
    for ax in data_axes(fig):
        assert bands(ax) == []
        assert len(polys(ax)) == len(STACK_ORDER)


def test_access_over_time_all_nan_ci_draws_no_band():
    table = access_table()
    table.loc[table["source"] == "total", ["ci_low", "ci_high"]] = np.nan
    fig = access_over_time(table)
    for ax in data_axes(fig):
        assert bands(ax) == []


def test_access_over_time_total_rows_without_ci_columns_draw_no_band():
    fig = access_over_time(access_table(with_total=True, with_ci=False))
    for ax in data_axes(fig):
        assert bands(ax) == []


def test_access_over_time_missing_source_month_keeps_upper_layers():
    table = access_table(with_total=False)
    drop = (table["scenario"] == "baseline") & (table["source"] == "stockpile") & (table["month"] == MONTHS[1])
    fig = access_over_time(table[~drop])
    ax = data_axes(fig)[0]
    boundary = [line for line in ax.lines if line.get_label().startswith("_")]
    expected = expected_tops(0, 1e3)[STACK_ORDER[-1]]
    expected[1] -= ACCESS_SOURCES["stockpile"][0][1] / 1e3  # the missing layer counts as zero
    assert_allclose(boundary[-1].get_xydata()[:, 1], expected)


# --------------------------------------------------------------------------- policy_heatmaps

X_LEVELS = [0.1, 0.2, 0.3]
Y_LEVELS = [0.0, 0.5]
HEAT = {
    "access_ratio": np.array([[0.9, 0.8, 0.7], [0.6, 0.5, 0.25]]),  # rows: Y_LEVELS, columns: X_LEVELS
    "detection_rate": np.array([[0.05, 0.10, 0.20], [0.30, 0.45, 0.60]]),
}


def heat_table() -> pd.DataFrame:
    rows = []
    for metric, grid in HEAT.items():
        for i in reversed(range(len(Y_LEVELS))):  # reversed so the function has to sort
            for j in SHUFFLED:
                rows.append({"metric": metric, "audit": X_LEVELS[j], "inspect": Y_LEVELS[i], "mean": grid[i, j]})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def heat_fig() -> Figure:
    return policy_heatmaps(heat_table(), x="audit", y="inspect", x_label="Audit rate (share)", y_label="Inspect")


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


def test_policy_heatmaps_annotates_every_cell(heat_fig):
    for ax, grid in zip(data_axes(heat_fig), HEAT.values(), strict=True):
        assert len(ax.texts) == grid.size
        by_position = {(round(t.get_position()[0], 6), round(t.get_position()[1], 6)): t for t in ax.texts}
        for (i, j), value in np.ndenumerate(grid):
            text = by_position[(j + 0.5, i + 0.5)]
            assert text.get_text() == f"{value:.2f}"
            expected = "white" if value < grid.mean() else "black"
            assert to_rgba(text.get_color()) == to_rgba(expected)


def test_policy_heatmaps_nan_cell_is_kept_in_place():
    table = heat_table()
    hole = (table["metric"] == "access_ratio") & (table["audit"] == 0.2) & (table["inspect"] == 0.5)
    table.loc[hole, "mean"] = np.nan
    fig = policy_heatmaps(table, x="audit", y="inspect", x_label="a", y_label="b")
    mesh = next(c for c in data_axes(fig)[0].collections if isinstance(c, QuadMesh))
    cells = np.ma.filled(np.ma.masked_invalid(np.asarray(mesh.get_array(), dtype=float)), np.nan).reshape(2, 3)
    expected = HEAT["access_ratio"].copy()
    expected[1, 1] = np.nan
    assert_allclose(cells, expected)  # NaN compares equal to NaN in assert_allclose


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
    return hub_flows(hub_table(), event_month="2025-02")


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
    for ax in grid[:, 0]:
        assert "k H100e" in ax.get_ylabel()  # means are divided by 1e3
    for ax in axes:  # every panel shares the first panel's y axis
        assert ax.get_shared_y_axes().joined(grid[0, 0], ax)
    assert legend_texts(axes[0]) == [label(s) for s in HUB_SCENARIOS]
    for ax in axes:
        markers = [line for line in ax.lines if line.get_label().startswith("_")]
        assert len(markers) == 1
        assert_allclose(markers[0].get_xydata()[:, 0], dates(["2025-02"]).repeat(2))


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


# --------------------------------------------------------------------------- sensitivity_bars

FACTORS = ["policy.audit_rate", "hubs.singapore.cargo_inspection_rate", "channels.smuggling.markup"]
SOBOL = {  # output -> factor -> (S1, S1_conf, ST, ST_conf)
    "access_ratio": {
        "policy.audit_rate": (0.40, 0.05, 0.55, 0.06),
        "hubs.singapore.cargo_inspection_rate": (0.20, 0.04, 0.30, 0.05),
        "channels.smuggling.markup": (-0.01, 0.02, 0.05, 0.01),
    },
    "detection_rate": {
        "policy.audit_rate": (0.10, 0.03, 0.15, 0.02),
        "hubs.singapore.cargo_inspection_rate": (0.60, 0.07, 0.70, 0.08),
        "channels.smuggling.markup": (0.05, 0.01, 0.12, 0.03),
    },
}


def sobol_table() -> pd.DataFrame:
    rows = []
    for output, by_factor in SOBOL.items():
        # The second output lists its factors in reverse: the function must reorder them.
        order = FACTORS if output == "access_ratio" else FACTORS[::-1]
        for factor in order:
            s1, s1c, st, stc = by_factor[factor]
            rows.append({"output": output, "factor": factor, "S1": s1, "S1_conf": s1c, "ST": st, "ST_conf": stc})
    return pd.DataFrame(rows)


def test_sensitivity_bars_widths_positions_and_error_bars():
    fig = sensitivity_bars(sobol_table())
    axes = data_axes(fig)
    assert len(axes) == len(SOBOL)
    y = np.arange(len(FACTORS))
    for ax, (output, by_factor) in zip(axes, SOBOL.items(), strict=True):
        assert ax.get_title() == label(output)
        s1, s1c, st, stc = (np.array([by_factor[f][i] for f in FACTORS]) for i in range(4))
        bars = [p for p in ax.patches if isinstance(p, Rectangle)]
        assert len(bars) == 2 * len(FACTORS)
        first, total = bars[: len(FACTORS)], bars[len(FACTORS) :]
        assert_allclose([b.get_width() for b in first], s1)
        assert_allclose([b.get_width() for b in total], st)
        assert_allclose([b.get_y() + b.get_height() / 2 for b in first], y - 0.2)
        assert_allclose([b.get_y() + b.get_height() / 2 for b in total], y + 0.2)
        containers = [c for c in ax.containers if hasattr(c, "errorbar")]
        assert len(containers) == 2
        for container, values, half in zip(containers, (s1, st), (s1c, stc), strict=True):
            segments = np.array(container.errorbar.lines[2][0].get_segments())
            assert_allclose(segments[:, 0, 0], values - half)
            assert_allclose(segments[:, 1, 0], values + half)
        assert ax.get_xlabel() == "Sobol index (share of output variance)"
        assert_allclose(ax.get_yticks(), y)
        assert ax.yaxis_inverted()  # first factor on top
    # Factor names (last dotted part) label the first panel; the others share its y axis.
    assert [t.get_text() for t in axes[0].get_yticklabels()] == ["audit_rate", "cargo_inspection_rate", "markup"]
    assert legend_texts(axes[-1]) == ["first order (S1)", "total (ST)"]
    for ax in axes[1:]:
        assert ax.get_shared_y_axes().joined(axes[0], ax)


# --------------------------------------------------------------------------- prices_over_time

PRICE_SCENARIOS = ["baseline", "crackdown_singapore"]
PRICES = {  # channel -> scenario index -> monthly prices; written out of SOURCE_ORDER
    "remote_rental": [[2000.0, 2100.0, 2200.0], [2000.0, 2400.0, 2600.0]],
    "compliant": [[1500.0, 1500.0, 1550.0], [1500.0, 1520.0, 1560.0]],
    "smuggling": [[3000.0, 3300.0, 3500.0], [3000.0, 4000.0, 4500.0]],
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
