"""Global sensitivity indices of a sobol or morris sweep, with SALib, and checks of their precision.

``python -m sim.sweep.sensitivity <sweep dir> [--outputs access_ratio detection_rate ...] [--convergence]``
averages each point's replications, computes Sobol (S1, ST with bootstrap confidence intervals)
or Morris (mu*, sigma) indices per output, writes ``sensitivity.csv`` and
``sensitivity.parquet`` in the sweep folder and prints the table. For a sobol sweep it also
checks the indices (:func:`sobol_warnings`), prints the warnings to stderr and writes them to
``sensitivity_warnings.txt``; ``--convergence`` recomputes the indices on the first N/8, N/4,
N/2 and N base samples and writes ``sensitivity_convergence.csv`` with its figure.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from SALib.analyze import morris, sobol

from sim.commands import confidence_level, quiet_when_output_closes, readable
from sim.report.sensitivity_figures import sobol_convergence
from sim.report.style import theme
from sim.schema import ConfigError
from sim.sweep.analysis import Sweep, load
from sim.sweep.designs import POINT_ID
from sim.sweep.experiment import FACTOR_SECTIONS, DesignKind

DEFAULT_OUTPUTS = ("access_ratio", "detection_rate")
SOBOL_COLUMNS = ("S1", "S1_conf", "ST", "ST_conf")
MORRIS_COLUMNS = ("mu", "mu_star", "mu_star_conf", "sigma")

#: Half-width of a Sobol index interval a study should reach; sample sizes are recommended for it.
TARGET_HALF_WIDTH = 0.05
#: Half-width above which an index is reported as imprecise.
MAX_HALF_WIDTH = 0.1
#: Largest plausible sum of total indices: beyond it, interactions (or run-to-run noise) would
#: make up more than half of the variance, counted at least twice.
MAX_ST_SUM = 1.5
#: Divisors of the base sample size N at which :func:`convergence` recomputes the indices.
CONVERGENCE_DIVISORS = (8, 4, 2, 1)
WARNINGS_FILE = "sensitivity_warnings.txt"
CONVERGENCE_FILE = "sensitivity_convergence"


def indices(
    kind: DesignKind,
    problem: dict[str, Any],
    design: pd.DataFrame,
    outputs: pd.DataFrame,
    *,
    second_order: bool = False,
    levels: int = 4,
    confidence: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Sensitivity indices of each output over a sampled design.

    Args:
        kind: ``sobol`` or ``morris``: the design's sampler, whose analysis is used.
        problem: The SALib problem the design was sampled from.
        design: The points, ``point_id`` and one column per factor, in sampling order.
        outputs: One column per output, indexed by ``point_id`` (one value per point).
        second_order: Whether a sobol design was sampled for second-order indices.
        levels: Grid levels of a morris design.
        confidence: Level of the bootstrap confidence intervals.
        seed: Seed of the bootstrap resampling (any, 0 included: SALib ignores a seed of 0, so it
            gets ``seed + 1``).

    Returns:
        One row per output and factor: ``output``, ``factor``, and S1, S1_conf, ST, ST_conf
        (sobol; the ``_conf`` columns are half-widths of the bootstrap intervals) or mu,
        mu_star, mu_star_conf, sigma (morris).

    Raises:
        ConfigError: The design is not sobol or morris, or an output is missing at some point.
    """
    if kind not in (DesignKind.SOBOL, DesignKind.MORRIS):
        raise ConfigError(f"sensitivity indices need a sobol or morris design; this sweep's is {kind}")
    ordered = outputs.reindex(design[POINT_ID])
    salib_seed = seed + 1  # SALib skips seeding when the seed is 0
    rows = []
    for output in ordered.columns:
        y = ordered[output].to_numpy(dtype=float)
        missing = int(np.isnan(y).sum())
        if missing:
            raise ConfigError(
                f"output {output}: no value at {missing} of {len(y)} points (failed runs or an undefined "
                f"metric); {kind} indices need every point"
            )
        if kind is DesignKind.SOBOL:
            found = sobol.analyze(problem, y, calc_second_order=second_order, conf_level=confidence, seed=salib_seed)
            columns = SOBOL_COLUMNS
        else:
            x = design[problem["names"]].to_numpy(dtype=float)
            found = morris.analyze(problem, x, y, conf_level=confidence, num_levels=levels, seed=salib_seed)
            columns = MORRIS_COLUMNS
        for i, name in enumerate(problem["names"]):
            rows.append({"output": output, "factor": name, **{c: float(found[c][i]) for c in columns}})
    return pd.DataFrame(rows)


def convergence(
    problem: dict[str, Any],
    design: pd.DataFrame,
    outputs: pd.DataFrame,
    *,
    second_order: bool = False,
    confidence: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Sobol indices on the first N/8, N/4, N/2 and N base samples of a Saltelli design.

    SALib's Saltelli sample is N blocks of D + 2 rows (2D + 2 with second order), one per
    base sample, so the first k blocks with their outputs are the design of k base samples.
    Subsets of fewer than 2 base samples are left out.

    Args:
        problem: The SALib problem the design was sampled from.
        design: The points, ``point_id`` and one column per factor, in sampling order.
        outputs: One column per output, indexed by ``point_id``.
        second_order: Whether the design was sampled for second-order indices.
        confidence: Level of the bootstrap confidence intervals.
        seed: Seed of the bootstrap resampling.

    Returns:
        ``output``, ``factor``, ``n_base``, S1, S1_conf, ST and ST_conf, by n_base.
    """
    block = problem["num_vars"] * (2 if second_order else 1) + 2
    n_base = len(design) // block
    sizes = sorted({n_base // d for d in CONVERGENCE_DIVISORS if n_base // d >= 2})
    parts = []
    for k in sizes:
        part = indices(
            DesignKind.SOBOL,
            problem,
            design.iloc[: k * block],
            outputs,
            second_order=second_order,
            confidence=confidence,
            seed=seed,
        )
        part.insert(2, "n_base", k)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def factor_groups(experiment: dict[str, Any]) -> dict[str, str]:
    """Each factor of an experiment (as in a sweep manifest) and its section, ``levers`` or ``uncertainties``."""
    return {factor: section for section in FACTOR_SECTIONS for factor in experiment.get(section) or {}}


def _point_means(sweep: Sweep, outputs: list[str]) -> pd.DataFrame:
    sweep.check_metrics(outputs)
    return sweep.runs.groupby(POINT_ID)[outputs].mean()


def sweep_indices(sweep: Sweep, outputs: list[str], confidence: float = 0.95) -> pd.DataFrame:
    """Indices of a sobol or morris sweep for the chosen outputs, replications averaged per point.

    Returns:
        The table of :func:`indices` with a ``group`` column after ``factor``: ``levers`` or
        ``uncertainties``, the experiment section the factor is in.

    Raises:
        ConfigError: Not a sobol or morris sweep, or an output is not a metric of its runs.
    """
    experiment = sweep.manifest["experiment"]
    design = experiment["design"]
    kind = DesignKind(design["kind"])
    means = _point_means(sweep, outputs)
    table = indices(
        kind,
        sweep.manifest["design"]["problem"] or {},
        sweep.design,
        means,
        second_order=design["second_order"],
        levels=design["levels"],
        confidence=confidence,
        seed=sweep.manifest["seed"],
    )
    table.insert(2, "group", table["factor"].map(factor_groups(experiment)))
    return table


def sweep_convergence(sweep: Sweep, outputs: list[str], confidence: float = 0.95) -> pd.DataFrame:
    """:func:`convergence` of a sobol sweep for the chosen outputs, replications averaged per point.

    Raises:
        ConfigError: Not a sobol sweep, or an output is not a metric of its runs.
    """
    design = sweep.manifest["experiment"]["design"]
    if DesignKind(design["kind"]) is not DesignKind.SOBOL:
        raise ConfigError(f"convergence needs a sobol design; this sweep's is {design['kind']}")
    return convergence(
        sweep.manifest["design"]["problem"],
        sweep.design,
        _point_means(sweep, outputs),
        second_order=design["second_order"],
        confidence=confidence,
        seed=sweep.manifest["seed"],
    )


def recommended_samples(n_base: int, half_width: float, target: float = TARGET_HALF_WIDTH) -> int:
    """Base samples for intervals of ``target`` half-width: ``n_base * (half_width / target)**2``, up to a power of two.

    Bootstrap half-widths shrink as one over the square root of the base sample size; Saltelli's
    sampler wants a power of two.
    """
    return 2 ** math.ceil(math.log2(n_base * (half_width / target) ** 2))


def _advice(n_base: int, half_width: float) -> str:
    if half_width > TARGET_HALF_WIDTH:
        return (
            f"increase design.samples from {n_base} to {recommended_samples(n_base, half_width)} "
            f"(widest interval ±{half_width:.3f}, target ±{TARGET_HALF_WIDTH})"
        )
    return (
        f"intervals are already within ±{TARGET_HALF_WIDTH} at design.samples = {n_base}, so more samples "
        "will not remove this; check run-to-run noise (replications)"
    )


def _pm(value: float, half_width: float) -> str:
    return f"{value:.3f} ± {half_width:.3f}"


def _factor_problems(row: pd.Series) -> list[str]:
    found = [
        f"{index} = {_pm(row[index], row[index + '_conf'])} is below 0 beyond its interval"
        for index in ("S1", "ST")
        if row[index] + row[index + "_conf"] < 0
    ]
    if row["ST"] + row["ST_conf"] < row["S1"] - row["S1_conf"]:
        st, s1 = _pm(row["ST"], row["ST_conf"]), _pm(row["S1"], row["S1_conf"])
        found.append(f"ST = {st} is below S1 = {s1} beyond their intervals")
    found += [
        f"the {index} interval ±{row[index + '_conf']:.3f} is wider than ±{MAX_HALF_WIDTH}"
        for index in ("S1", "ST")
        if row[index + "_conf"] > MAX_HALF_WIDTH
    ]
    return found


def _sum_problems(rows: pd.DataFrame) -> list[str]:
    s1, s1_half = rows["S1"].sum(), float(np.hypot.reduce(rows["S1_conf"]))
    st, st_half = rows["ST"].sum(), float(np.hypot.reduce(rows["ST_conf"]))
    d = len(rows)
    st_bound = min(MAX_ST_SUM, d - (d - 1) * min(max(s1 - s1_half, 0.0), 1.0))
    found = []
    if s1 - s1_half > 1:
        found.append(f"the S1 sum {_pm(s1, s1_half)} is above 1")
    if st - st_half > st_bound:
        found.append(
            f"the ST sum {_pm(st, st_half)} is above {st_bound:.2f} (run-to-run noise adds its share of the "
            "variance to every ST)"
        )
    if st + st_half < 1:
        found.append(f"the ST sum {_pm(st, st_half)} is below 1")
    return found


def sobol_warnings(table: pd.DataFrame, n_base: int) -> list[str]:
    """Warnings about Sobol indices too imprecise or inconsistent to be read, one sentence each.

    Per output and factor: S1 or ST below 0 beyond its interval (index + half-width < 0), ST
    below S1 beyond their intervals, or a half-width above :data:`MAX_HALF_WIDTH`. Per output,
    over all D factors, with half-widths of the sums added in quadrature: the S1 sum above 1,
    or the ST sum outside [1, min(:data:`MAX_ST_SUM`, D - (D - 1) S1 sum)] beyond its
    interval. (Every variance share counts in at least one ST and in at most D, so the ST sum
    lies between 1 and that bound; for an additive model both sums are 1.) Each warning
    recommends the base sample size of :func:`recommended_samples` from its widest interval.

    Args:
        table: Rows of ``output``, ``factor``, S1, S1_conf, ST and ST_conf (half-widths).
        n_base: Base samples N of the Saltelli design (``design.samples``).
    """
    found = []
    for output, rows in table.groupby("output", sort=False):
        for _, row in rows.iterrows():
            problems = _factor_problems(row)
            if problems:
                widest = max(row["S1_conf"], row["ST_conf"])
                found.append(f"{output}, {row['factor']}: {'; '.join(problems)}; {_advice(n_base, widest)}.")
        problems = _sum_problems(rows)
        if problems:
            widest = rows[["S1_conf", "ST_conf"]].to_numpy().max()
            found.append(f"{output}, all {len(rows)} factors: {'; '.join(problems)}; {_advice(n_base, widest)}.")
    return found


def _write_convergence(folder: Path, table: pd.DataFrame) -> None:
    """Write the convergence table and figure; print the widest half-widths per output and n_base."""
    table.to_csv(folder / f"{CONVERGENCE_FILE}.csv", index=False)
    with theme():
        fig = sobol_convergence(table)
        for suffix in (".pdf", ".png"):
            fig.savefig(folder / f"{CONVERGENCE_FILE}{suffix}", dpi=300)
    plt.close(fig)
    widest = table.groupby(["output", "n_base"])[["S1_conf", "ST_conf"]].max()
    print("widest interval half-widths by base sample size:")
    print(widest.to_string(float_format="{:.3f}".format))
    print(folder / f"{CONVERGENCE_FILE}.csv")


def sample_size(experiment: dict[str, Any]) -> str:
    """A sampled design's size in words, from a sweep manifest's ``experiment``.

    ``N = 1,024 base samples`` (Sobol) or ``r = 20 trajectories`` (Morris), then the replications
    averaged per point.
    """
    design, replications = experiment["design"], experiment["replications"]
    drawn = "r = {:,} trajectories" if design["kind"] == DesignKind.MORRIS else "N = {:,} base samples"
    return f"{drawn.format(design['samples'])}, {replications} replication{'s' * (replications > 1)} averaged per point"


def main(argv: list[str]) -> int:
    """Compute, check, write and print the indices; return the exit code (warnings are no error)."""
    parser = argparse.ArgumentParser(prog="python -m sim.sweep.sensitivity", description=__doc__.split("\n")[0])
    parser.add_argument("sweep_dir", help="a sweep folder (results/sweeps/<name>/<timestamp>)")
    parser.add_argument("--outputs", nargs="+", default=list(DEFAULT_OUTPUTS), help="summary metrics")
    parser.add_argument("--confidence", type=confidence_level, default=0.95, help="level of the confidence intervals")
    parser.add_argument(
        "--convergence", action="store_true", help="also the indices on the first N/8, N/4, N/2 base samples (sobol)"
    )
    args = parser.parse_args(argv)
    try:
        sweep = load(args.sweep_dir)
        table = sweep_indices(sweep, args.outputs, args.confidence)
        steps = sweep_convergence(sweep, args.outputs, args.confidence) if args.convergence else None
    except (ConfigError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    table.to_csv(sweep.path / "sensitivity.csv", index=False)
    table.to_parquet(sweep.path / "sensitivity.parquet", index=False)
    design = sweep.manifest["experiment"]["design"]
    print(f"{design['kind']} design, {sample_size(sweep.manifest['experiment'])}; intervals at {args.confidence:.0%}")
    with pd.option_context("display.width", 200, "display.max_rows", 500, "display.float_format", readable):
        print(table.to_string(index=False))
    print(sweep.path / "sensitivity.csv")
    if steps is not None:
        _write_convergence(sweep.path, steps)
    if DesignKind(design["kind"]) is DesignKind.SOBOL:
        found = sobol_warnings(table, design["samples"])
        (sweep.path / WARNINGS_FILE).write_text("".join(f"{w}\n" for w in found))
        for warning in found:
            print(f"warning: {warning}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    with quiet_when_output_closes():
        sys.exit(main(sys.argv[1:]))
