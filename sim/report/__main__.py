"""``python -m sim.report <sweep dir> [--theme paper|slides]``: the figures that fit a sweep.

Each figure is written to ``<sweep dir>/figures/`` as vector PDF and 300-dpi PNG, with the
tidy CSV of exactly the numbers plotted beside it; the files are listed on stdout.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib.pyplot as plt

from sim.loading import ConfigError
from sim.report.specs import SPECS
from sim.report.style import THEMES, theme
from sim.sweep.analysis import Sweep

PNG_DPI = 300


def report(sweep_dir: Path | str, theme_name: str = "paper") -> list[Path]:
    """Write every figure that fits the sweep; return the files written."""
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
