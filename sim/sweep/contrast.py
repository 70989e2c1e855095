"""Paired contrasts between points of a sweep: a minus b, replication by replication.

Replication r of every point runs with the same seed (common random numbers,
``sim.sweep.designs.run_seed``), so the runs of two points pair up by replication and their
difference gets a paired t interval, far narrower than two independent intervals.

``python -m sim.sweep.contrast <sweep dir> --a scenario=crackdown_singapore --b scenario=baseline``
prints the paired differences of run metrics (``--metrics``) or of monthly time-series columns
(``--columns``, by month) and writes them as CSV beside the sweep.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from sim.commands import confidence_level, quiet_when_output_closes, readable
from sim.results import changes_slug
from sim.schema import ConfigError
from sim.sweep.analysis import contrast, contrast_timeseries, load


def parse_point(text: list[str]) -> dict[str, Any]:
    """``["scenario=baseline", "policy.x=8"]`` as factor values (YAML-typed: 8 is a number)."""
    point = {}
    for item in text:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"{item!r}: expected factor=value, e.g. scenario=baseline")
        point[key] = yaml.safe_load(value)
    return point


def contrast_file_name(a: dict[str, Any], b: dict[str, Any], by_month: bool) -> str:
    """``contrast_<a>_minus_<b>_<metrics|by_month>.csv``, the points with their factors' names.

    Two contrasts of other points, or of the same points by run and by month, never share a file.
    """
    points = [changes_slug([f"{k}={v}" for k, v in point.items()]) for point in (a, b)]
    return f"contrast_{points[0]}_minus_{points[1]}_{'by_month' if by_month else 'metrics'}.csv"


def main(argv: list[str]) -> int:
    """Print and write a contrast; return the exit code (2 on bad input)."""
    parser = argparse.ArgumentParser(prog="python -m sim.sweep.contrast", description=__doc__.split("\n\n")[0])
    parser.add_argument("sweep_dir", type=Path, help="a sweep folder (results/sweeps/<name>/<timestamp>)")
    parser.add_argument("--a", nargs="+", required=True, metavar="FACTOR=VALUE", help="the first point")
    parser.add_argument("--b", nargs="+", required=True, metavar="FACTOR=VALUE", help="the point subtracted")
    parser.add_argument("--metrics", nargs="+", default=["access_ratio", "detection_rate"], help="run metrics")
    parser.add_argument("--columns", nargs="+", help="time-series columns instead of run metrics (by month)")
    parser.add_argument("--confidence", type=confidence_level, default=0.95, help="level of the paired intervals")
    args = parser.parse_args(argv)
    try:
        sweep = load(args.sweep_dir)
        a, b = parse_point(args.a), parse_point(args.b)
        if args.columns:
            table = contrast_timeseries(sweep, a, b, args.columns, args.confidence)
        else:
            table = contrast(sweep, a, b, args.metrics, args.confidence)
    except (ConfigError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    path = args.sweep_dir / contrast_file_name(a, b, by_month=bool(args.columns))
    table.to_csv(path, index=False)
    with pd.option_context("display.width", 200, "display.max_rows", 200, "display.float_format", readable):
        print(table.to_string(index=False))
    print(path)
    return 0


if __name__ == "__main__":
    with quiet_when_output_closes():
        sys.exit(main(sys.argv[1:]))
