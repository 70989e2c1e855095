"""Which figures fit a sweep, how each is made, and the report that writes every one that fits.

Each :class:`FigureSpec` says when it fits a sweep's design, builds the tidy table of exactly
the numbers it plots (``sim.report.tables``), and draws it with a figure function
(``sim.report.figures``). :func:`report` writes every figure that fits; ``python -m sim.report``
and ``python -m sim.report.studies`` call it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from sim.loading import load_config, unit_of
from sim.report import figures, tables
from sim.report.style import theme
from sim.sweep.analysis import Sweep
from sim.sweep.experiment import DesignKind
from sim.sweep.sensitivity import sweep_indices

HEATMAP_METRICS = ["access_ratio", "detection_rate"]
SENSITIVITY_OUTPUTS = ["access_ratio", "detection_rate"]
PNG_DPI = 300

UNIT_WORDS = {"h100e", "per", "year", "month", "months", "usd"}


def axis_label(path: str) -> str:
    """An axis label for a config path: its last key in words (unit words dropped), with its unit."""
    words = path.split(".")[-1].split("_")
    while len(words) > 1 and words[-1] in UNIT_WORDS:
        words.pop()
    text = " ".join(words).replace("tier2", "tier-2").replace("tier3", "tier-3")
    unit = unit_of(path)
    return f"{text[0].upper()}{text[1:]}" + (f" ({unit})" if unit else "")


def _kind(sweep: Sweep) -> DesignKind:
    return DesignKind(sweep.manifest["experiment"]["design"]["kind"])


def _numeric_factors(sweep: Sweep, group: str | None = None) -> list[str]:
    """Numeric design factors (of ``levers`` or ``uncertainties`` only, when given), in design order."""
    experiment = sweep.manifest["experiment"]
    names = list(experiment.get(group) or {}) if group else sweep.factors
    return [
        f
        for f in names
        if f in sweep.factors
        and pd.api.types.is_numeric_dtype(sweep.design[f])
        and not pd.api.types.is_bool_dtype(sweep.design[f])
        and sweep.design[f].nunique() > 1
    ]


def _scenarios(sweep: Sweep) -> int:
    return sweep.design[tables.SCENARIO].nunique() if tables.SCENARIO in sweep.factors else 1


def _first_distinct_event(sweep: Sweep) -> str | None:
    """The first month with a timeline event that not every scenario of the sweep has."""
    scenarios = list(dict.fromkeys(sweep.design[tables.SCENARIO]))
    timelines = [{(e.month, e.note) for e in load_config([f"scenario={n}"]).timeline.values()} for n in scenarios]
    distinct = set.union(*timelines) - set.intersection(*timelines)
    return min(month for month, _ in distinct) if distinct else None


@dataclass(frozen=True)
class FigureSpec:
    """A figure: when it fits a sweep, its table, and how it is drawn from the table."""

    name: str
    fits: Callable[[Sweep], bool]
    table: Callable[[Sweep], pd.DataFrame]
    draw: Callable[[pd.DataFrame, Sweep], Figure]


def _grid(sweep: Sweep) -> tuple[str, str]:
    x, y = _numeric_factors(sweep)[:2]
    return x, y


SPECS: tuple[FigureSpec, ...] = (
    FigureSpec(
        "access_by_source",
        fits=lambda s: tables.SCENARIO in s.factors,
        table=tables.access_table,
        draw=lambda t, s: figures.access_over_time(t),
    ),
    FigureSpec(
        "prices",
        fits=lambda s: tables.SCENARIO in s.factors,
        table=tables.prices_table,
        draw=lambda t, s: figures.prices_over_time(t),
    ),
    FigureSpec(
        "hub_flows",
        fits=lambda s: _scenarios(s) > 1,
        table=tables.hub_flows_table,
        draw=lambda t, s: figures.hub_flows(t, event_month=_first_distinct_event(s)),
    ),
    FigureSpec(
        "heatmaps",
        fits=lambda s: _kind(s) is DesignKind.FACTORIAL and len(_numeric_factors(s)) >= 2,
        table=lambda s: tables.metric_grid_table(s, *_grid(s), HEATMAP_METRICS),
        draw=lambda t, s: figures.policy_heatmaps(t, *_grid(s), *(axis_label(f) for f in _grid(s))),
    ),
    FigureSpec(
        "detection_curves",
        fits=lambda s: _kind(s) is DesignKind.FACTORIAL and bool(_numeric_factors(s, "levers")),
        table=lambda s: tables.detection_curves_table(s, _numeric_factors(s, "levers")[0]),
        draw=lambda t, s: figures.detection_curves(
            t, _numeric_factors(s, "levers")[0], axis_label(_numeric_factors(s, "levers")[0])
        ),
    ),
    FigureSpec(
        "sensitivity",
        fits=lambda s: _kind(s) is DesignKind.SOBOL,
        table=lambda s: sweep_indices(s, SENSITIVITY_OUTPUTS),
        draw=lambda t, s: figures.sensitivity_bars(t),
    ),
)


def report(sweep_dir: Path | str, theme_name: str = "paper") -> list[Path]:
    """Write every figure that fits the sweep into ``<sweep_dir>/figures/``; return the files written.

    Each figure is written as vector PDF and PNG, with the CSV of its table beside it.

    Args:
        sweep_dir: A folder written by ``python -m sim.sweep``.
        theme_name: The figure theme, ``paper`` or ``slides`` (``sim.report.style.THEMES``).
    """
    sweep = Sweep(sweep_dir)
    folder = sweep.path / "figures"
    folder.mkdir(exist_ok=True)
    written = []
    for spec in SPECS:
        if not spec.fits(sweep):
            continue
        table = spec.table(sweep)
        with theme(theme_name):
            fig = spec.draw(table, sweep)
            for suffix, options in ((".pdf", {}), (".png", {"dpi": PNG_DPI})):
                fig.savefig(folder / f"{spec.name}{suffix}", **options)
                written.append(folder / f"{spec.name}{suffix}")
        plt.close(fig)
        table.to_csv(folder / f"{spec.name}.csv", index=False)
        written.append(folder / f"{spec.name}.csv")
    return written
