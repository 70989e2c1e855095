"""``python -m sim.report.studies [study ...] [--workers N]``: rerun every study, end to end.

A study is a folder of ``experiments/`` with a README and an experiment of the same name in
``configs/experiment/``. For each, this runs the sweep, makes its figures (``sim.report``)
and copies them to ``results/studies/<study>/``; the folders are listed on stdout.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from sim.loading import CONFIG_DIR, ConfigError
from sim.report.specs import report
from sim.sweep.engine import start_sweep
from sim.sweep.experiment import load_experiment

STUDIES_DIR = CONFIG_DIR.parent / "experiments"


def study_names() -> list[str]:
    """Studies: folders of experiments/ with a README and an experiment config of that name."""
    return sorted(
        p.name
        for p in STUDIES_DIR.iterdir()
        if (p / "README.md").is_file() and (CONFIG_DIR / "experiment" / f"{p.name}.yaml").is_file()
    )


def run_study(name: str, results_root: Path, workers: int | None) -> Path:
    """Run a study's sweep and report; return the folder its figures were copied to."""
    overrides = [f"executor.workers={workers}"] if workers else []
    outcome = start_sweep(load_experiment(name, overrides), results_root)
    if outcome.failed:
        raise RuntimeError(f"{outcome.failed} runs of {name} failed; see {outcome.path / 'failures.jsonl'}")
    target = results_root / "studies" / name
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for path in report(outcome.path):
        shutil.copy2(path, target / path.name)
    (target / "SWEEP").write_text(f"{outcome.path.resolve()}\n")
    return target


def main(argv: list[str]) -> int:
    """Run the chosen studies (all by default); return the exit code."""
    parser = argparse.ArgumentParser(prog="python -m sim.report.studies", description=__doc__.split("\n")[0])
    parser.add_argument("studies", nargs="*", help=f"studies to run (default all: {', '.join(study_names())})")
    parser.add_argument("--workers", type=int, default=None, help="local worker processes (default every core)")
    parser.add_argument("--results", type=Path, default=Path("results"), help="results folder")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.studies) - set(study_names()))
    if unknown:
        print(f"error: unknown studies {unknown}; allowed: {', '.join(study_names())}", file=sys.stderr)
        return 2
    try:
        for name in args.studies or study_names():
            print(run_study(name, args.results, args.workers).resolve())
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
