"""``python -m sim.report <sweep dir> [--theme paper|slides] [--pool F] [--hold F=V]``: the figures that fit a sweep.

Each figure is written to ``<sweep dir>/figures/`` (``figures/slides/`` for the slides theme)
as vector PDF and 300-dpi PNG, with the tidy CSV of exactly the numbers plotted and a JSON
sidecar with its caption and sample. A figure's factors it does not show are held at one
value (``--hold``; default the experiment's ``report.hold``, else each factor's first value)
or, with ``--pool``, averaged within each replication (marginal means, labelled); a factor
given to ``--pool`` or ``--hold`` takes that choice over the experiment's own. The files are
listed on stdout, each figure's caption after its files.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sim.commands import quiet_when_output_closes
from sim.loading import ConfigError
from sim.report.specs import report
from sim.report.style import THEMES
from sim.sweep.contrast import parse_point


def main(argv: list[str]) -> int:
    """Report on a sweep folder; return the exit code (2 for a bad folder, theme or factor)."""
    parser = argparse.ArgumentParser(prog="python -m sim.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("sweep_dir", type=Path, help="a folder written by python -m sim.sweep")
    parser.add_argument("--theme", default="paper", choices=THEMES, help="figure style")
    parser.add_argument("--pool", action="append", metavar="FACTOR", help="average over this factor (repeatable)")
    parser.add_argument("--hold", action="append", metavar="FACTOR=VALUE", help="hold a factor at a value")
    args = parser.parse_args(argv)
    try:
        hold = parse_point(args.hold) if args.hold else None
        written = report(args.sweep_dir, args.theme, pool=args.pool, hold=hold)
    except (FileNotFoundError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not written:
        print(f"no figure fits the design of {args.sweep_dir}")
    for path in written:
        print(path)
        if path.suffix == ".json":
            print(f"  {json.loads(path.read_text())['caption']}")
    return 0


if __name__ == "__main__":
    with quiet_when_output_closes():
        sys.exit(main(sys.argv[1:]))
