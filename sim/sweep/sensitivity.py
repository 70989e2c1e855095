"""Global sensitivity indices of a sobol or morris sweep, with SALib.

``python -m sim.sweep.sensitivity <sweep dir> [--outputs access_ratio detection_rate ...]``
averages each point's replications, computes Sobol (S1, ST with confidence intervals) or
Morris (mu*, sigma) indices per output, writes ``sensitivity.csv`` and
``sensitivity.parquet`` in the sweep folder and prints the table.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np
import pandas as pd
from SALib.analyze import morris, sobol

from sim.schema import ConfigError
from sim.sweep.analysis import Sweep, load
from sim.sweep.designs import POINT_ID
from sim.sweep.experiment import DesignKind

DEFAULT_OUTPUTS = ("access_ratio", "detection_rate")
SOBOL_COLUMNS = ("S1", "S1_conf", "ST", "ST_conf")
MORRIS_COLUMNS = ("mu", "mu_star", "mu_star_conf", "sigma")


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
        seed: Seed of the bootstrap resampling.

    Returns:
        One row per output and factor: ``output``, ``factor``, and S1, S1_conf, ST, ST_conf
        (sobol) or mu, mu_star, mu_star_conf, sigma (morris).

    Raises:
        ConfigError: The design is not sobol or morris, or an output is missing at some point.
    """
    if kind not in (DesignKind.SOBOL, DesignKind.MORRIS):
        raise ConfigError(f"sensitivity indices need a sobol or morris design; this sweep's is {kind}")
    ordered = outputs.reindex(design[POINT_ID])
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
            found = sobol.analyze(problem, y, calc_second_order=second_order, conf_level=confidence, seed=seed)
            columns = SOBOL_COLUMNS
        else:
            x = design[problem["names"]].to_numpy(dtype=float)
            found = morris.analyze(problem, x, y, conf_level=confidence, num_levels=levels, seed=seed)
            columns = MORRIS_COLUMNS
        for i, name in enumerate(problem["names"]):
            rows.append({"output": output, "factor": name, **{c: float(found[c][i]) for c in columns}})
    return pd.DataFrame(rows)


def sweep_indices(sweep: Sweep, outputs: list[str], confidence: float = 0.95) -> pd.DataFrame:
    """Indices of a sobol or morris sweep for the chosen outputs, replications averaged per point.

    Raises:
        ConfigError: Not a sobol or morris sweep, or an output is not a metric of its runs.
    """
    design = sweep.manifest["experiment"]["design"]
    kind = DesignKind(design["kind"])
    unknown = [o for o in outputs if o not in sweep.metrics]
    if unknown:
        raise ConfigError(f"unknown outputs {unknown}; metrics of this sweep: {', '.join(sweep.metrics)}")
    means = sweep.runs.groupby(POINT_ID)[outputs].mean()
    problem = sweep.manifest["design"]["problem"]
    return indices(
        kind,
        problem or {},
        sweep.design,
        means,
        second_order=design["second_order"],
        levels=design["levels"],
        confidence=confidence,
        seed=sweep.manifest["seed"],
    )


def main(argv: list[str]) -> int:
    """Compute, write and print the indices; return the exit code."""
    parser = argparse.ArgumentParser(prog="python -m sim.sweep.sensitivity", description=__doc__.split("\n")[0])
    parser.add_argument("sweep_dir", help="a sweep folder (results/sweeps/<name>/<timestamp>)")
    parser.add_argument("--outputs", nargs="+", default=list(DEFAULT_OUTPUTS), help="summary metrics")
    parser.add_argument("--confidence", type=float, default=0.95, help="level of the confidence intervals")
    args = parser.parse_args(argv)
    try:
        table = sweep_indices(load(args.sweep_dir), args.outputs, args.confidence)
    except (ConfigError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    table.to_csv(f"{args.sweep_dir}/sensitivity.csv", index=False)
    table.to_parquet(f"{args.sweep_dir}/sensitivity.parquet", index=False)
    with pd.option_context("display.width", 200, "display.max_rows", 500, "display.float_format", "{:.3f}".format):
        print(table.to_string(index=False))
    print(f"{args.sweep_dir}/sensitivity.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
