"""Sensitivity figures: the plotted indices, their order, intervals and labels are read back from the artists."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection, PolyCollection
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from numpy.testing import assert_allclose

from sim.report.figures import BAND_ALPHA
from sim.report.names import factor_label, label
from sim.report.sensitivity_figures import (
    GROUP_HATCHES,
    INDEX_COLOURS,
    MORRIS_LINES,
    SOBOL_XLABEL,
    morris_mu_sigma,
    sobol_bars,
    sobol_convergence,
)
from sim.report.style import WIDTHS_IN, theme

AUDITS = "policy.enforcement.audit_budget_per_month"
FINE = "policy.penalties.fine_usd_per_h100e_month"
PREMIUM = "world.market.gray_premium"
FACTORS = [AUDITS, FINE, PREMIUM]  # the table's order; the figures sort by ST
GROUPS = {AUDITS: "levers", FINE: "levers", PREMIUM: "uncertainties"}
SOBOL = {  # output -> factor -> (S1, S1_conf, ST, ST_conf)
    "access_ratio": {
        AUDITS: (0.10, 0.05, 0.20, 0.06),
        FINE: (-0.01, 0.02, 0.05, 0.01),
        PREMIUM: (0.60, 0.07, 0.75, 0.08),
    },
    "detection_rate": {
        AUDITS: (0.40, 0.04, 0.55, 0.05),
        FINE: (0.05, 0.01, 0.12, 0.03),
        PREMIUM: (0.20, 0.03, 0.30, 0.02),
    },
}
SORTED = {output: sorted(FACTORS, key=lambda f: -by[f][2]) for output, by in SOBOL.items()}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def sobol_table() -> pd.DataFrame:
    rows = [
        {"output": o, "factor": f, "group": GROUPS[f], **dict(zip(("S1", "S1_conf", "ST", "ST_conf"), v, strict=True))}
        for o, by_factor in SOBOL.items()
        for f, v in by_factor.items()
    ]
    return pd.DataFrame(rows)


def legend_texts(fig: Figure) -> list[str]:
    (legend,) = fig.legends
    return [t.get_text() for t in legend.get_texts()]


def test_factor_label_words_the_last_key_and_adds_its_unit():
    assert factor_label(AUDITS) == "Regulator's audit budget (checks/month)"  # whose audits: a label of its own
    assert factor_label(FINE) == "Fine (USD/H100e-month)"
    assert factor_label("world.intermediaries.registration_rate_per_month") == "Intermediary registrations (1/month)"
    assert factor_label("no.such_path") == "Such path"
    assert factor_label("policy.country_caps.tier2_cap_h100e_per_year") == "Tier-2 cap (H100e/year)"


# --------------------------------------------------------------------------- sobol_bars


def test_sobol_bars_sorts_by_st_and_draws_indices_with_their_intervals():
    fig = sobol_bars(sobol_table())
    assert len(fig.axes) == len(SOBOL)
    for ax, (output, by_factor) in zip(fig.axes, SOBOL.items(), strict=True):
        order = SORTED[output]
        assert " ".join(ax.get_title().split()) == label(output)  # wrapped to fit the panel
        assert [t.get_text() for t in ax.get_yticklabels()] == [factor_label(f) for f in order]
        assert ax.yaxis_inverted()  # largest ST on top
        y = np.arange(len(order))
        bars = [p for p in ax.patches if isinstance(p, Rectangle)]
        containers = [c for c in ax.containers if hasattr(c, "errorbar")]
        assert len(bars) == 2 * len(order) and len(containers) == 2
        for k, (index, offset) in enumerate((("S1", -0.2), ("ST", 0.2))):
            value = np.array([by_factor[f][2 * k] for f in order])
            half = np.array([by_factor[f][2 * k + 1] for f in order])
            drawn = bars[k * len(order) : (k + 1) * len(order)]
            assert_allclose([b.get_width() for b in drawn], value)
            assert_allclose([b.get_y() + b.get_height() / 2 for b in drawn], y + offset)
            assert {to_hex(b.get_facecolor()) for b in drawn} == {INDEX_COLOURS[index].lower()}
            assert [b.get_hatch() or "" for b in drawn] == [GROUP_HATCHES[GROUPS[f]] for f in order]
            segments = np.array(containers[k].errorbar.lines[2][0].get_segments())
            assert_allclose(segments[:, 0, 0], value - half)
            assert_allclose(segments[:, 1, 0], value + half)
        assert ax.get_xlabel() == SOBOL_XLABEL
        assert any(np.allclose(line.get_xdata(), 0) for line in ax.lines)  # the zero line
    assert legend_texts(fig) == ["First order (S1)", "Total (ST)", "Lever", "Uncertainty", "95% bootstrap CI"]


def test_sobol_bars_names_the_confidence_level_and_leaves_out_absent_groups():
    table = sobol_table()
    table["group"] = "levers"
    texts = legend_texts(sobol_bars(table, confidence=0.9))
    assert texts == ["First order (S1)", "Total (ST)", "Lever", "90% bootstrap CI"]


def test_sobol_bars_width_follows_the_theme():
    with theme("slides"):
        fig = sobol_bars(sobol_table())
    assert fig.get_figwidth() == pytest.approx(WIDTHS_IN["slides"]["two_column"])


# --------------------------------------------------------------------------- sobol_convergence

N_BASE = [16, 32, 64, 128]


def convergence_table() -> pd.DataFrame:
    rows = []
    for output, by_factor in SOBOL.items():
        for factor, (s1, _, st, _) in by_factor.items():
            for k, n in enumerate(N_BASE[::-1]):  # written largest first: the figure must sort
                half = 0.05 * 2 ** (k / 2)
                rows.append(
                    {"output": output, "factor": factor, "n_base": n, "S1": s1 + 0.01 * k}
                    | {"S1_conf": half, "ST": st - 0.01 * k, "ST_conf": half / 2}
                )
    return pd.DataFrame(rows)


def bands(ax: Axes) -> list[PolyCollection]:
    return [c for c in ax.collections if isinstance(c, PolyCollection) and c.get_alpha() == BAND_ALPHA]


def fill_bounds(poly: PolyCollection, x: list[int]) -> tuple[np.ndarray, np.ndarray]:
    vertices = np.concatenate([path.vertices for path in poly.get_paths()])
    found = [vertices[np.isclose(vertices[:, 0], xi), 1] for xi in x]
    return np.array([v.min() for v in found]), np.array([v.max() for v in found])


def test_sobol_convergence_draws_each_index_against_n_base_with_bands():
    table = convergence_table()
    fig = sobol_convergence(table)
    axes = np.array(fig.axes).reshape(2, len(SOBOL))
    for column, output in enumerate(SOBOL):
        assert " ".join(axes[0, column].get_title().split()) == label(output)  # wrapped to fit the panel
        for ax, index in zip(axes[:, column], ("S1", "ST"), strict=True):
            assert ax.get_xscale() == "log" and ax.xaxis.get_transform().base == 2
            assert_allclose(ax.get_xticks(), N_BASE)
            lines = [line for line in ax.lines if len(line.get_xdata()) == len(N_BASE)]
            assert len(lines) == len(FACTORS) == len(bands(ax))
            for line, band, factor in zip(lines, bands(ax), FACTORS, strict=True):
                rows = table[(table["output"] == output) & (table["factor"] == factor)].sort_values("n_base")
                assert_allclose(line.get_xdata(), N_BASE)
                assert_allclose(line.get_ydata(), rows[index])
                low, high = fill_bounds(band, N_BASE)
                assert_allclose(low, rows[index] - rows[f"{index}_conf"])
                assert_allclose(high, rows[index] + rows[f"{index}_conf"])
    assert [t.get_text() for t in axes[1, 0].get_xticklabels()] == [str(n) for n in N_BASE]
    assert "95% bootstrap CI" in axes[0, 0].get_ylabel() and axes[1, 0].get_ylabel().startswith("Total index ST")
    assert legend_texts(fig) == [factor_label(f) for f in FACTORS]


# --------------------------------------------------------------------------- morris_mu_sigma

MORRIS = {  # output -> factor -> (mu*, sigma)
    "access_ratio": {AUDITS: (0.30, 0.05), FINE: (0.02, 0.04), PREMIUM: (0.50, 0.60)},
    "detection_rate": {AUDITS: (0.10, 0.20), FINE: (0.01, 0.00), PREMIUM: (0.40, 0.10)},
}


def test_morris_mu_sigma_places_each_factor_at_mu_star_and_sigma_with_reference_lines():
    table = pd.DataFrame(
        [
            {"output": o, "factor": f, "mu": 0.0, "mu_star": m, "mu_star_conf": 0.01, "sigma": s}
            for o, by_factor in MORRIS.items()
            for f, (m, s) in by_factor.items()
        ]
    )
    fig = morris_mu_sigma(table)
    for ax, (output, by_factor) in zip(fig.axes, MORRIS.items(), strict=True):
        assert ax.get_title() == label(output)
        (points,) = [c for c in ax.collections if isinstance(c, PathCollection)]
        assert_allclose(points.get_offsets(), list(by_factor.values()))
        texts = {t.get_text(): t.xy for t in ax.texts}
        assert texts == {factor_label(f): pytest.approx(xy) for f, xy in by_factor.items()}
        slopes = [line.get_ydata()[1] / line.get_xdata()[1] for line in ax.lines]
        assert slopes == pytest.approx(list(MORRIS_LINES))
        assert all(line.get_xdata()[0] == 0 == line.get_ydata()[0] for line in ax.lines)
        top = max(max(xy) for xy in by_factor.values())
        assert ax.get_xlim()[1] > top and ax.get_ylim()[1] > top  # every point and its label inside
    assert legend_texts(fig) == [text for _, text in MORRIS_LINES.values()]
