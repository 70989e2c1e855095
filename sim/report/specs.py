"""Which figures fit a sweep, how each is made, and the report that writes every one that fits.

Each :class:`FigureSpec` says when it fits a sweep's design and which factors it shows, builds
the tidy table of exactly the numbers it plots over a :class:`~sim.report.tables.Selection`
(the factors it does not show held or, when asked, pooled), and draws it. :func:`report`
writes every figure that fits, each with its CSV and a JSON sidecar holding its caption and
sample (n, what is held, what is pooled, the interval); the caption is also printed on the
figure. ``python -m sim.report`` and ``python -m sim.report.studies`` call it.
"""

from __future__ import annotations

import functools
import json
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties

from sim.loading import load_config
from sim.report import figures, sensitivity_figures, tables
from sim.report.names import event_marks, factor_label, label
from sim.report.style import theme
from sim.report.tables import SCENARIO, Selection
from sim.schema import ConfigError
from sim.sweep.analysis import Sweep
from sim.sweep.experiment import DesignKind, load_experiment
from sim.sweep.sensitivity import sample_size, sobol_warnings, sweep_convergence, sweep_indices
from sim.timeline import month_labels

HEATMAP_METRICS = ["access_ratio", "detection_rate"]
SENSITIVITY_OUTPUTS = ["access_ratio", "detection_rate"]
PNG_DPI = 300
#: Where each theme's figures go, under the sweep folder.
THEME_FOLDERS = {"paper": Path("figures"), "slides": Path("figures") / "slides"}
QUICK_NOTE = (
    "QUICK RUN: fewer runs than its experiment file asks for (a quick run, or a sweep not finished), "
    "for checking, not for citing."
)


def heatmap_metrics(sweep: Sweep) -> list[str]:
    """The run metrics the heatmaps show: the experiment's ``report.metrics``, else :data:`HEATMAP_METRICS`.

    Raises:
        ConfigError: A metric the sweep's runs do not have (names the closest one).
    """
    metrics = sweep.manifest["experiment"].get("report", {}).get("metrics") or HEATMAP_METRICS
    sweep.check_metrics(metrics)
    return metrics


def _sample_size(sweep: Sweep) -> str:
    return sample_size(sweep.manifest["experiment"])


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


def _scenarios(sweep: Sweep) -> list[str]:
    return list(dict.fromkeys(tables.run_scenarios(sweep)))


@functools.cache
def _timeline(scenario: str) -> tuple[tuple[str, str], ...]:
    """(month, label) of every timeline event of a scenario, in month order (composed once)."""
    return event_marks(load_config([f"scenario={scenario}"]))


@functools.cache
def _period(scenario: str, overrides: tuple[str, ...]) -> tuple[str, str]:
    """The first and last month of a scenario's runs under an experiment's overrides (composed once)."""
    config = load_config([f"scenario={scenario}", *overrides])
    months = month_labels(config.start, config.months)
    return months[0], months[-1]


def base_text(sweep: Sweep, brief: bool = False) -> str:
    """What every run of the sweep starts from: its scenario (unless a factor), period and overrides.

    ``brief`` (a footnote) counts the overrides instead of listing them: config paths are for
    the caption file, not for print.
    """
    experiment = sweep.manifest["experiment"]
    overrides = tuple(experiment.get("overrides", []))
    first, last = _period(experiment["scenario"], overrides)
    scenario = "the scenarios shown" if SCENARIO in sweep.factors else f"scenario {label(experiment['scenario'])}"
    listed = " ".join(overrides)
    if brief and overrides:
        plural = "s" if len(overrides) > 1 else ""
        listed = f"the experiment's {len(overrides)} override{plural} (in the caption file, .json)"
    return f"Runs of {scenario}, {first} to {last}" + (f", with {listed}" if overrides else "") + "."


def events(sweep: Sweep) -> list[tuple[str, str]]:
    """The timeline events of any of the sweep's scenarios, in month order, for markers on time axes."""
    return sorted({e for scenario in _scenarios(sweep) for e in _timeline(scenario)})


def panel_events(sweep: Sweep) -> dict[str, set[str]]:
    """The labels of each scenario's own events: what its panel marks."""
    return {s: {text for _, text in _timeline(s)} for s in _scenarios(sweep)}


@dataclass(frozen=True)
class FigureSpec:
    """A figure: when it fits a sweep, the factors it shows, its table, and how it is drawn."""

    name: str
    fits: Callable[[Sweep], bool]
    shown: Callable[[Sweep], tuple[str, ...]]
    table: Callable[[Sweep, Selection], pd.DataFrame]
    draw: Callable[[pd.DataFrame, Sweep], Figure]
    what: str | Callable[[Sweep], str]  # the caption's first sentence, or how to make it from the sweep
    interval: str = tables.INTERVAL
    notes: Callable[[pd.DataFrame, Sweep], list[str]] = lambda table, sweep: []


def _grid(sweep: Sweep) -> tuple[str, str]:
    x, y = _numeric_factors(sweep)[:2]
    return x, y


def _first_lever(sweep: Sweep) -> str:
    return _numeric_factors(sweep, "levers")[0]


SPECS: tuple[FigureSpec, ...] = (
    FigureSpec(
        "access_by_source",
        fits=lambda s: SCENARIO in s.factors,
        shown=lambda s: (SCENARIO,),
        table=tables.access_table,
        draw=lambda t, s: figures.access_over_time(t, events=events(s), panel_events=panel_events(s)),
        what=(
            "Compute used per month by source, one panel per scenario; lower panels: the offshore "
            f"channels on a log scale spanning at most {figures.LOG_DECADES} decades below the largest value "
            "(smaller values fall below it), where a band reaching the bottom has an interval that includes zero"
        ),
    ),
    FigureSpec(
        "prices",
        fits=lambda s: SCENARIO in s.factors,
        shown=lambda s: (SCENARIO,),
        table=tables.prices_table,
        draw=lambda t, s: figures.prices_over_time(t, events=events(s), panel_events=panel_events(s)),
        what="Offered price of an H100e-month by channel, one panel per scenario",
    ),
    FigureSpec(
        "hub_flows",
        fits=lambda s: len(_scenarios(s)) > 1,
        shown=lambda s: (SCENARIO,),
        table=tables.hub_flows_table,
        draw=lambda t, s: figures.hub_flows(t, events=events(s), panel_events=panel_events(s)),
        what="Volume ordered through each hub per month, one line per scenario",
    ),
    FigureSpec(
        "hub_differences",
        fits=lambda s: len(_scenarios(s)) > 1,
        shown=lambda s: (SCENARIO,),
        table=tables.hub_differences_table,
        draw=lambda t, s: figures.hub_differences(t, events=events(s), panel_events=panel_events(s)),
        what="Each scenario minus the first, volume ordered through each hub per month",
        interval="95% paired t-interval of the difference over replications (the same seed in both scenarios)",
    ),
    FigureSpec(
        "heatmaps",
        fits=lambda s: _kind(s) is DesignKind.FACTORIAL and len(_numeric_factors(s)) >= 2,
        shown=_grid,
        table=lambda s, sel: tables.metric_grid_table(s, sel, *_grid(s), heatmap_metrics(s)),
        draw=lambda t, s: figures.policy_heatmaps(t, *_grid(s), *(factor_label(f) for f in _grid(s))),
        what=lambda s: f"{' and '.join(label(m) for m in heatmap_metrics(s))}, over two factors",
    ),
    FigureSpec(
        "detection_curves",
        fits=lambda s: _kind(s) is DesignKind.FACTORIAL and bool(_numeric_factors(s, "levers")),
        shown=lambda s: (_first_lever(s),),
        table=lambda s, sel: tables.detection_curves_table(s, sel, _first_lever(s)),
        draw=lambda t, s: figures.detection_curves(t, _first_lever(s), factor_label(_first_lever(s))),
        what=lambda s: f"Detection rate at checkpoints per illicit channel against {factor_label(_first_lever(s))}",
    ),
    FigureSpec(
        "sensitivity",
        fits=lambda s: _kind(s) is DesignKind.SOBOL,
        shown=lambda s: tuple(s.factors),
        table=lambda s, sel: sweep_indices(s, SENSITIVITY_OUTPUTS),
        draw=lambda t, s: sensitivity_figures.sobol_bars(t),
        what=lambda s: f"First-order and total Sobol indices of each factor, {_sample_size(s)}",
        interval="95% bootstrap intervals (SALib); each point the mean of its replications",
        notes=lambda t, s: sobol_warnings(t, s.manifest["experiment"]["design"]["samples"]),
    ),
    FigureSpec(
        "sensitivity_convergence",
        fits=lambda s: _kind(s) is DesignKind.SOBOL,
        shown=lambda s: tuple(s.factors),
        table=lambda s, sel: sweep_convergence(s, SENSITIVITY_OUTPUTS),
        draw=lambda t, s: sensitivity_figures.sobol_convergence(t),
        what=lambda s: f"Sobol indices computed on the first N/8, N/4, N/2 and N base samples, {_sample_size(s)}",
        interval="95% bootstrap intervals (SALib); each point the mean of its replications",
    ),
    FigureSpec(
        "morris",
        fits=lambda s: _kind(s) is DesignKind.MORRIS,
        shown=lambda s: tuple(s.factors),
        table=lambda s, sel: sweep_indices(s, SENSITIVITY_OUTPUTS),
        draw=lambda t, s: sensitivity_figures.morris_mu_sigma(t),
        what=lambda s: (
            f"Morris elementary effects: mean absolute effect mu* against their spread sigma, {_sample_size(s)}"
        ),
        interval="none drawn (mu*'s 95% bootstrap interval is in the CSV)",
    ),
)


def caption(what: str, sample: Mapping[str, Any], quick: bool = False, notes: Sequence[str] = ()) -> str:
    """The figure's caption: what it shows, n, what is held and pooled, and the interval."""
    n_min, n_max = sample["n_min"], sample["n_max"]
    parts = [what + "."]
    if sample.get("base"):
        parts.append(sample["base"])
    if n_min is not None:
        n = f"{n_min}" if n_min == n_max else f"{n_min}-{n_max}"
        parts.append(f"Mean of n = {n} replications per plotted value; replication r has one seed at every point.")
    if sample["held"]:
        held = ", ".join(f"{_name(k)} = {_value(v)}" for k, v in sample["held"].items())
        parts.append(f"Held: {held}.")
    if sample["pooled"]:
        pooled = ", ".join(f"{_name(k)} ({v} values)" for k, v in sample["pooled"].items())
        parts.append(f"Marginal means over {pooled}: each replication averaged over them.")
    parts.append(f"Intervals: {sample['interval']}.")
    parts += [f"Warning: {note}" for note in notes]
    if quick:
        parts.append(QUICK_NOTE)
    return " ".join(parts)


def _name(factor: str) -> str:
    return label(factor) if factor == SCENARIO else factor_label(factor)


def _value(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:,g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return label(str(value)) if isinstance(value, str) else str(value)


def _footnote(fig: Figure, text: str) -> None:
    """The caption's sample statement, printed under the figure, wrapped to its width.

    It is the figure's bottom label (``supxlabel``), so the layout keeps room for it below the
    panels and their legends; the figure grows by the caption's height, so the panels keep theirs.
    """
    size_pt = FontProperties(size="small").get_size_in_points()  # 6.7 pt in print: legible at column width
    chars = max(40, int(fig.get_figwidth() * 72 / (0.55 * size_pt)))
    wrapped = textwrap.fill(text, chars)
    line_in = 1.2 * size_pt / 72  # matplotlib's default line spacing
    fig.set_figheight(fig.get_figheight() + (wrapped.count("\n") + 1) * line_in)
    fig.supxlabel(wrapped, x=0.0, ha="left", fontsize=size_pt)


@dataclass(frozen=True, eq=False)
class Drawn:
    """A figure drawn from a sweep, with its table, sample and caption."""

    spec: FigureSpec
    figure: Figure
    table: pd.DataFrame
    sample: dict[str, Any]
    caption: str


def draw(
    spec: FigureSpec,
    sweep: Sweep,
    pool: list[str] | None = None,
    hold: Mapping[str, Any] | None = None,
    quick: bool = False,
) -> Drawn:
    """Select the runs, build the table and draw one figure (in the active theme), captioned."""
    selection = tables.select(sweep, spec.shown(sweep), pool or [], hold)
    table = spec.table(sweep, selection)
    sample = selection.sample(table) | {"interval": spec.interval, "base": base_text(sweep)}
    notes = spec.notes(table, sweep)
    what = spec.what(sweep) if callable(spec.what) else spec.what
    text = caption(what, sample, quick, notes)
    fig = spec.draw(table, sweep)
    footnote = caption(what, sample | {"base": base_text(sweep, brief=True)}, quick).removeprefix(what + ". ")
    if notes:  # the warnings are for the author, in the caption file and on the terminal, not in print
        footnote += f" {len(notes)} warning(s) on the sample size: see this figure's caption (.json)."
    _footnote(fig, footnote)
    return Drawn(spec, fig, table, sample, text)


def is_reduced(sweep: Sweep) -> bool:
    """Whether the sweep ran fewer runs than its experiment file asks for.

    A sweep not finished (interrupted, or still running) is one, and so is a quick run
    (``python -m sim.report.studies --quick``, or replications or samples lowered on the command
    line); of a sweep whose file is gone or no longer valid, only what it planned is asked for.
    """
    if len(sweep.runs) + len(sweep.failures) < sweep.manifest["runs"]:
        return True
    source = sweep.manifest.get("experiment_file")
    if not source or not Path(source).is_file():
        return False
    try:
        asked = load_experiment(str(source))
    except ConfigError:
        return False
    ran = sweep.manifest["experiment"]
    fewer_samples = asked.design.kind is not DesignKind.FACTORIAL and ran["design"]["samples"] < asked.design.samples
    return ran["replications"] < asked.replications or fewer_samples


def report(
    sweep_dir: Path | str,
    theme_name: str = "paper",
    *,
    pool: list[str] | None = None,
    hold: Mapping[str, Any] | None = None,
    quick: bool | None = None,
) -> list[Path]:
    """Write every figure that fits the sweep; return the files written.

    Each figure is written as vector PDF and PNG, with the CSV of its table and a JSON sidecar
    (caption and sample) beside it, in ``<sweep_dir>/figures/`` (``figures/slides/`` for the
    slides theme).

    Args:
        sweep_dir: A folder written by ``python -m sim.sweep``.
        theme_name: The figure theme, ``paper`` or ``slides`` (``sim.report.style.THEMES``).
        pool: Factors to average over (marginal means); None: the experiment's ``report.pool``,
            less the factors ``hold`` names.
        hold: Values to hold factors at; None: the experiment's ``report.hold``, less the
            factors ``pool`` names.
        quick: The sweep is a quick run: every figure says so; None: when :func:`is_reduced`.
    """
    sweep = Sweep(sweep_dir)
    quick = is_reduced(sweep) if quick is None else quick
    options = sweep.manifest["experiment"].get("report") or {}
    if pool is None:  # a factor asked for here outranks the experiment's own choice for it
        pool = [f for f in options.get("pool", []) if f not in (hold or {})]
    if hold is None:
        hold = {f: v for f, v in options.get("hold", {}).items() if f not in pool}
    folder = sweep.path / THEME_FOLDERS[theme_name]
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for spec in SPECS:
        if not spec.fits(sweep):
            continue
        with theme(theme_name):
            drawn = draw(spec, sweep, pool, hold, quick)
            for suffix, options_ in ((".pdf", {}), (".png", {"dpi": PNG_DPI})):
                drawn.figure.savefig(folder / f"{spec.name}{suffix}", **options_)
                written.append(folder / f"{spec.name}{suffix}")
        plt.close(drawn.figure)
        drawn.table.to_csv(folder / f"{spec.name}.csv", index=False)
        sidecar = {"figure": spec.name, "caption": drawn.caption, "sample": drawn.sample, "quick": quick}
        (folder / f"{spec.name}.json").write_text(json.dumps(sidecar | {"theme": theme_name}, indent=2, default=str))
        written += [folder / f"{spec.name}.csv", folder / f"{spec.name}.json"]
    return written
