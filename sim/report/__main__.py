"""``python -m sim.report <sweep dir> [--theme paper|slides]``: the figures that fit a sweep.

Each figure is written to ``<sweep dir>/figures/`` as vector PDF and 300-dpi PNG, with the
tidy CSV of exactly the numbers plotted beside it; the files are listed on stdout.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.loading import ConfigError
from sim.report.specs import report
from sim.report.style import THEMES


def main(argv: list[str]) -> int:
    """Report on a sweep folder; return the exit code (2 for a bad folder or theme)."""
    parser = argparse.ArgumentParser(prog="python -m sim.report", description=__doc__.split("\n")[0])
    parser.add_argument("sweep_dir", type=Path, help="a folder written by python -m sim.sweep")
    parser.add_argument("--theme", default="paper", choices=THEMES, help="figure style")
    args = parser.parse_args(argv)
    try:
        written = report(args.sweep_dir, args.theme)
    except (FileNotFoundError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not written:
        print(f"no figure fits the design of {args.sweep_dir}")
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
