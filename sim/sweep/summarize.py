"""``python -m sim.sweep.summarize <sweep dir> [--metrics ...]``: per-point means with 95% intervals.

Prints what the sweep is and how far it got, then one row per point: its factors and, for
each metric, ``mean [ci_low, ci_high]`` across replications.
"""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from sim.commands import at_least, confidence_level, counted, quiet_when_output_closes, readable_interval
from sim.schema import ConfigError
from sim.sweep.analysis import Sweep, load
from sim.sweep.designs import POINT_ID

DEFAULT_METRICS = ("access_ratio", "detection_rate", "channel_share_smuggling", "smuggled_h100e_total")


def _cell(mean: float, low: float, high: float) -> str:
    texts = readable_interval(mean, low, high)
    return texts[0] if pd.isna(low) else f"{texts[0]} [{texts[1]}, {texts[2]}]"


def point_table(sweep: Sweep, metrics: list[str], confidence: float = 0.95) -> pd.DataFrame:
    """One row per point: factors, runs finished, and ``mean [low, high]`` per metric.

    Raises:
        ConfigError: A metric is not in the sweep's runs.
    """
    sweep.check_metrics(metrics)
    points = sweep.points(metrics, confidence)
    points["cell"] = [_cell(*v) for v in points[["mean", "ci_low", "ci_high"]].itertuples(index=False)]
    wide = points.pivot(index=POINT_ID, columns="metric", values="cell")[metrics]
    runs = points.groupby(POINT_ID)["n"].max().rename("runs")
    return sweep.design.set_index(POINT_ID).join(runs).join(wide).reset_index()


def header(sweep: Sweep) -> str:
    """What the sweep is and how far it got."""
    m = sweep.manifest
    finished = len(sweep.runs)
    return (
        f"sweep {m['name']} ({m['design']['kind']}, {counted(m['design']['points'], 'point')} x "
        f"{counted(m['replications'], 'replication')} = {counted(m['runs'], 'run')}): {finished:,} finished, "
        f"{len(sweep.failures)} failed, "
        f"status {m.get('status')}"
    )


def main(argv: list[str]) -> int:
    """Print the header and the point table; return the exit code."""
    parser = argparse.ArgumentParser(prog="python -m sim.sweep.summarize", description=__doc__.split("\n")[0])
    parser.add_argument("sweep_dir", help="a sweep folder (results/sweeps/<name>/<timestamp>)")
    parser.add_argument("--metrics", nargs="+", default=list(DEFAULT_METRICS), help="summary metrics")
    parser.add_argument("--confidence", type=confidence_level, default=0.95, help="level of the confidence intervals")
    parser.add_argument("--max-rows", type=at_least(1), default=60, help="points printed at most")
    parser.add_argument("--csv", help="also write the per-point table (all points, tidy) to this file")
    args = parser.parse_args(argv)
    try:
        sweep = load(args.sweep_dir)
        table = point_table(sweep, args.metrics, args.confidence)
    except (ConfigError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(header(sweep))
    with pd.option_context("display.width", 250, "display.max_columns", 50, "display.max_colwidth", 40):
        print(table.head(args.max_rows).to_string(index=False))
    if len(table) > args.max_rows:
        print(f"... {len(table) - args.max_rows} more points (--max-rows, --csv)")
    if args.csv:
        try:
            sweep.points(args.metrics, args.confidence).to_csv(args.csv, index=False)
        except OSError as exc:
            print(f"error: --csv {args.csv}: cannot write it ({exc.strerror or exc})", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    with quiet_when_output_closes():
        sys.exit(main(sys.argv[1:]))
