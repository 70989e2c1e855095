"""``python -m sim.report.studies [study ...] [--quick] [--workers N]``: rerun every study, end to end.

A study is a folder of ``experiments/`` with a README and an experiment of the same name in
``configs/experiment/``. For each, this runs the sweep, makes its figures (``sim.report``)
and copies them to ``results/studies/<study>/``; the folders and each study's wall time are
listed on stdout. ``--quick`` runs about a tenth of the runs (a tenth of the replications, or
an eighth of a sampled design's samples) into ``results/studies/quick/<study>/``, and every
figure says it is a quick run.

The numbers a study's README quotes (``sim.report.quotes``) are then filled from its sweep,
and the claims its sentences make of them checked (a quick run only warns):
a full run rewrites ``experiments/<study>/README.md`` and the README's figures in
``docs/figures/`` (:data:`DOC_FIGURES`); every run also writes the filled README beside the
figures, which is all a quick run writes.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import time
from pathlib import Path

from sim.commands import at_least, quiet_when_output_closes
from sim.loading import CONFIG_DIR, ConfigError
from sim.report.quotes import fill_file
from sim.report.specs import report
from sim.sweep.analysis import load
from sim.sweep.engine import start_sweep
from sim.sweep.experiment import DesignKind, Experiment, load_experiment

STUDIES_DIR = CONFIG_DIR.parent / "experiments"
DOCS_FIGURES_DIR = CONFIG_DIR.parent / "docs" / "figures"
#: The figures of docs/figures/ a full run of a study replaces: study to figure files.
DOC_FIGURES = {"compute_access_2025": ("access_by_source.png",), "crackdown_displacement": ("hub_differences.png",)}


def study_names() -> list[str]:
    """Studies: folders of experiments/ with a README and an experiment config of that name."""
    return sorted(
        p.name
        for p in STUDIES_DIR.iterdir()
        if (p / "README.md").is_file() and (CONFIG_DIR / "experiment" / f"{p.name}.yaml").is_file()
    )


def quick_overrides(experiment: Experiment) -> list[str]:
    """Overrides that run about a tenth of an experiment's runs."""
    if experiment.replications >= 10:
        return [f"replications={max(2, math.ceil(experiment.replications / 10))}"]
    if experiment.design.kind is not DesignKind.FACTORIAL:
        samples = max(4, experiment.design.samples // 8)
        return [f"design.samples={2 ** round(math.log2(samples))}"]
    return [f"replications={max(1, experiment.replications // 10)}"]


def run_study(name: str, results_root: Path, workers: int | None, quick: bool = False) -> tuple[Path, int]:
    """Run a study's sweep, report and README numbers.

    Returns:
        The folder its figures and filled README were copied to, and how many numbers it quotes.

    Raises:
        ConfigError: The experiment is wrong, or a quote of the README is (the sweep and figures
            are written then, and the message says how to fill the README once it is mended).
    """
    overrides = [f"executor.workers={workers}"] if workers else []
    experiment = load_experiment(name, overrides)
    if quick:
        experiment = load_experiment(name, [*overrides, *quick_overrides(experiment)])
    outcome = start_sweep(experiment, results_root / "quick" if quick else results_root)
    if outcome.failed:
        raise RuntimeError(f"{outcome.failed} runs of {name} failed; see {outcome.path / 'failures.jsonl'}")
    target = results_root / "studies" / ("quick" if quick else "") / name
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for path in report(outcome.path, quick=quick):
        shutil.copy2(path, target / path.name)
    (target / "SWEEP").write_text(f"{outcome.path.resolve()}\n")
    readme = STUDIES_DIR / name / "README.md"
    note = f"> Quick run: the numbers below are from {outcome.path}, not the study's.\n\n" if quick else ""
    try:
        broken: list[str] | None = [] if quick else None  # a quick run's noise may break a claim
        count = fill_file(readme, load(outcome.path), target / "README.md", note, broken)
    except ConfigError as exc:
        out = f" --out {target / readme.name}" if quick else ""  # a quick run's numbers stay out of the README
        copies = () if quick else DOC_FIGURES.get(name, ())
        figures = "".join(f"; then copy {target / f} to {DOCS_FIGURES_DIR}" for f in copies)
        raise ConfigError(
            f"{exc}\nThe sweep and figures are written ({target}); once the quote is mended, fill the README "
            f"with: python -m sim.report.quotes {readme} {outcome.path}{out}{figures}"
        ) from None
    if broken:
        print(
            f"warning: {len(broken)} claims of {readme.name} do not hold on this quick run's few replications "
            f"(a full run checks them); the first: {broken[0]}",
            file=sys.stderr,
        )
    if not quick:
        shutil.copy2(target / "README.md", readme)
        for figure in DOC_FIGURES.get(name, ()):
            shutil.copy2(target / figure, DOCS_FIGURES_DIR / figure)
    return target, count


def main(argv: list[str]) -> int:
    """Run the chosen studies (all by default); return the exit code."""
    parser = argparse.ArgumentParser(prog="python -m sim.report.studies", description=__doc__.split("\n")[0])
    parser.add_argument("studies", nargs="*", help=f"studies to run (default all: {', '.join(study_names())})")
    parser.add_argument("--quick", action="store_true", help="about a tenth of the runs, for checking")
    parser.add_argument("--workers", type=at_least(1), default=None, help="local worker processes (default every core)")
    parser.add_argument(
        "--results",
        type=Path,
        default=Path("results"),
        help="results folder (a full run also rewrites each study's README and docs/figures, wherever this is)",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.studies) - set(study_names()))
    if unknown:
        print(f"error: unknown studies {unknown}; allowed: {', '.join(study_names())}", file=sys.stderr)
        return 2
    try:
        args.results.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(
            f"error: --results {args.results}: cannot make it ({exc.strerror}); give a folder you can write",
            file=sys.stderr,
        )
        return 2
    failed = []
    for name in args.studies or study_names():
        began = time.perf_counter()
        try:
            folder, count = run_study(name, args.results, args.workers, args.quick)
        except ConfigError as exc:  # the other studies still run
            print(f"error: {exc}", file=sys.stderr)
            failed.append(name)
            continue
        print(f"{folder.resolve()}  ({time.perf_counter() - began:.0f} s; README quotes {count} numbers)")
    if failed:
        print(f"error: {', '.join(failed)} stopped with the errors above", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    with quiet_when_output_closes():
        sys.exit(main(sys.argv[1:]))
