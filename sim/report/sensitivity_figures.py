"""Figures of sensitivity indices: each takes a tidy table and returns a matplotlib Figure.

The tables are those of :mod:`sim.sweep.sensitivity`: Sobol indices (``sensitivity.csv`` of
a sobol sweep), their convergence (``sensitivity_convergence.csv``) and Morris indices.
Factors are config paths, shown by :func:`factor_label`.
"""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sim.report.figures import BAND_ALPHA
from sim.report.names import factor_label, label
from sim.report.style import OKABE_ITO, height, width

INDEX_COLOURS = {"S1": OKABE_ITO[4], "ST": OKABE_ITO[0]}
INDEX_NAMES = {"S1": "First order (S1)", "ST": "Total (ST)"}
#: Bars of uncertainties are hatched; levers are plain.
GROUP_HATCHES = {"levers": "", "uncertainties": "////"}
GROUP_NAMES = {"levers": "Lever", "uncertainties": "Uncertainty"}
#: Morris reference lines sigma = ratio * mu*, their styles and legend entries: above sigma = mu*
#: a factor acts nonmonotonically or through interactions, below 0.1 mu* almost linearly.
MORRIS_LINES = {
    1.0: ("-", "σ = μ* (above: nonmonotonic or interacting)"),
    0.5: ("--", "σ = 0.5 μ*"),
    0.1: (":", "σ = 0.1 μ* (below: near linear)"),
}
#: Characters of a Sobol panel's title line (the factors' labels take half its width).
TITLE_CHARS = 24
SOBOL_XLABEL = "Sobol index\n(share of output variance)"


def _ci_label(confidence: float) -> str:
    return f"{confidence:.0%} bootstrap CI"


def sobol_bars(table: pd.DataFrame, confidence: float = 0.95) -> Figure:
    """First-order and total Sobol indices with bootstrap intervals, one panel per output.

    Factors are sorted by ST, largest on top, in each panel; bars of uncertainties are hatched.

    Args:
        table: Rows of ``output``, ``factor``, ``group`` (``levers`` or ``uncertainties``),
            ``S1``, ``S1_conf``, ``ST`` and ``ST_conf`` (half-widths of the intervals), as
            written by ``python -m sim.sweep.sensitivity``.
        confidence: Level of the intervals, for the legend.
    """
    outputs = list(dict.fromkeys(table["output"]))
    n = int(table.groupby("output").size().max())
    fig, axes = plt.subplots(
        1,
        len(outputs),
        figsize=(width("two_column"), height("two_column", 1.9 + 0.3 * n)),
        squeeze=False,
        layout="constrained",
    )
    for ax, output in zip(axes[0], outputs, strict=True):
        rows = table[table["output"] == output].sort_values("ST", ascending=False, kind="stable")
        y = np.arange(len(rows))
        for offset, index in ((-0.2, "S1"), (0.2, "ST")):
            bars = ax.barh(
                y + offset,
                rows[index],
                height=0.38,
                xerr=rows[f"{index}_conf"],
                color=INDEX_COLOURS[index],
                edgecolor="white",
                linewidth=0,
                error_kw={"elinewidth": 0.6, "ecolor": "black"},
            )
            for bar, group in zip(bars.patches, rows["group"], strict=True):
                bar.set_hatch(GROUP_HATCHES[group])
        ax.set_yticks(y, [factor_label(f) for f in rows["factor"]])
        ax.invert_yaxis()
        ax.axvline(0, color="black", linewidth=0.5)
        ax.set_xlabel(SOBOL_XLABEL)
        ax.set_title(textwrap.fill(label(output), TITLE_CHARS))  # a panel is narrow beside its factors' labels
    groups = [g for g in GROUP_HATCHES if g in set(table["group"])]
    handles = [
        *(Patch(color=INDEX_COLOURS[i], label=INDEX_NAMES[i]) for i in INDEX_COLOURS),
        *(Patch(facecolor="grey", edgecolor="white", hatch=GROUP_HATCHES[g], label=GROUP_NAMES[g]) for g in groups),
        Line2D([], [], color="black", linewidth=0.6, label=_ci_label(confidence)),
    ]
    fig.legend(handles=handles, loc="outside upper center", ncols=len(handles))  # the caption is below
    return fig


def sobol_convergence(table: pd.DataFrame, confidence: float = 0.95) -> Figure:
    """S1 (top row) and ST (bottom row) against the base sample size, with bootstrap bands, one column per output.

    Args:
        table: Rows of ``output``, ``factor``, ``n_base``, ``S1``, ``S1_conf``, ``ST`` and
            ``ST_conf``, as written by ``python -m sim.sweep.sensitivity --convergence``.
        confidence: Level of the intervals, for the legend.
    """
    outputs = list(dict.fromkeys(table["output"]))
    factors = list(dict.fromkeys(table["factor"]))
    colours = {f: OKABE_ITO[i % len(OKABE_ITO)] for i, f in enumerate(factors)}
    sizes = sorted(set(table["n_base"]))
    fig, axes = plt.subplots(
        2,
        len(outputs),
        figsize=(width("two_column"), height("two_column", 4.4)),
        sharex=True,
        sharey="row",
        squeeze=False,
        layout="constrained",
    )
    for column, output in enumerate(outputs):
        part = table[table["output"] == output]
        for ax, index in zip(axes[:, column], ("S1", "ST"), strict=True):
            for factor in factors:
                rows = part[part["factor"] == factor].sort_values("n_base")
                x, value, half = rows["n_base"], rows[index], rows[f"{index}_conf"]
                ax.plot(x, value, marker="o", markersize=3, color=colours[factor])
                ax.fill_between(x, value - half, value + half, color=colours[factor], alpha=BAND_ALPHA, linewidth=0)
            ax.axhline(0, color="black", linewidth=0.5)
            ax.set_xscale("log", base=2)
            ax.set_xticks(sizes, [str(s) for s in sizes])
            ax.minorticks_off()
        axes[0, column].set_title(textwrap.fill(label(output), TITLE_CHARS))  # panels are narrow beside the legend
        axes[1, column].set_xlabel("Base samples N\n(log2 scale)")
    axes[0, 0].set_ylabel(f"First-order index S1\n(band: {_ci_label(confidence)})")
    axes[1, 0].set_ylabel(f"Total index ST\n(band: {_ci_label(confidence)})")
    handles = [Line2D([], [], marker="o", markersize=3, color=colours[f], label=factor_label(f)) for f in factors]
    fig.legend(handles=handles, loc="outside right center")
    return fig


def morris_mu_sigma(table: pd.DataFrame) -> Figure:
    """Morris sigma against mu* per factor, one panel per output, with lines of constant sigma / mu*.

    Points above the line sigma = mu* mark factors whose effects are nonmonotonic or depend on
    other factors; points below sigma = 0.1 mu* act almost linearly.

    Args:
        table: Rows of ``output``, ``factor``, ``mu_star`` and ``sigma`` (output units), as
            written by ``python -m sim.sweep.sensitivity`` for a morris sweep.
    """
    outputs = list(dict.fromkeys(table["output"]))
    fig, axes = plt.subplots(
        1, len(outputs), figsize=(width("two_column"), height("two_column", 3.0)), squeeze=False, layout="constrained"
    )
    for ax, output in zip(axes[0], outputs, strict=True):
        rows = table[table["output"] == output]
        ax.scatter(rows["mu_star"], rows["sigma"], s=12, color=OKABE_ITO[4], zorder=3)
        for factor, mu_star, sigma in rows[["factor", "mu_star", "sigma"]].itertuples(index=False):
            ax.annotate(
                factor_label(factor),
                (mu_star, sigma),
                xytext=(3, 3),
                textcoords="offset points",
                fontsize="x-small",
            )
        top = 1.1 * float(np.nanmax(rows[["mu_star", "sigma"]].to_numpy())) or 1.0
        for ratio, (style, text) in MORRIS_LINES.items():
            ax.plot([0, top], [0, ratio * top], color="grey", linestyle=style, linewidth=0.8, label=text)
        ax.set_xlim(0, top)
        ax.set_ylim(0, top)
        ax.set_xlabel("μ* (mean |elementary effect|)")
        ax.set_ylabel("σ (std of elementary effects)")
        ax.set_title(label(output))
    fig.legend(handles=axes[0, 0].get_lines(), loc="outside upper center", ncols=len(MORRIS_LINES))
    return fig
