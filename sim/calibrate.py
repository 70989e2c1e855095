"""``python -m sim.calibrate``: fit uncertain parameters to the calibration targets with ABC-SMC.

Approximate Bayesian computation by sequential Monte Carlo (``pyabc``): particles drawn from
the priors of ``configs/calibration/priors.yaml`` are simulated (every scenario the targets
read, one random seed per particle) and kept when the distance to the public figures falls
under a threshold that shrinks each generation. The distance is the Euclidean norm of each
target's miss divided by the width of its public range, so a model inside every range is
about 1 or less away. Outputs, under ``results/calibration/<name>/``:

- ``abc.db``: pyabc's database (``--resume`` continues from it);
- ``posterior.parquet``: every generation's particles with their weights and distances;
- ``marginals.png``: the last generation's weighted marginals on the prior ranges;
- with ``--write-config``: ``configs/calibrated/<name>.yaml``, the posterior mean as a config
  that a run uses with ``calibrated=<name>`` (the default config uses ``calibrated=baseline``).

Local worker processes by default (pyabc's multicore sampler), a Dask scheduler with ``--dask
ADDRESS``. See docs/calibration.md.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import math
import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from pydantic import model_validator
from tqdm import tqdm

from sim.commands import at_least, quiet_when_output_closes
from sim.config import Config
from sim.loading import CONFIG_DIR, check_path, load_config
from sim.run import run
from sim.schema import ConfigError, Schema, field, load_yaml, with_settings
from sim.targets import NotComputable, Role, RunData, Target, load_targets
from sim.validate import seed_values

EXIT_BAD_INPUT = 2
DEFAULT_PRIORS = CONFIG_DIR / "calibration" / "priors.yaml"
RESULTS_DIR = Path("results") / "calibration"
CALIBRATED_DIR = CONFIG_DIR / "calibrated"
DB_FILE = "abc.db"
#: Loggers pyabc writes a line per generation to; the progress bar replaces them.
PYABC_LOGGERS = ("ABC", "ABC.History", "ABC.Sampler", "ABC.Epsilon", "ABC.Distance", "ABC.Acceptor", "ABC.Transition")


class Prior(Schema):
    """A uniform prior on one config value."""

    low: float = field("Lower end of the range.")
    high: float = field("Upper end of the range.")
    source: str = field("Where the range comes from: a bibliography key with the reasoning, or 'assumption: ...'.")

    @model_validator(mode="after")
    def _ordered(self) -> Prior:
        if not self.low < self.high:
            raise ValueError(f"low {self.low} must be below high {self.high}")
        return self


class Calibration(Schema):
    """A calibration: its priors, the targets it fits and the ABC-SMC settings."""

    name: str = field("Name of the fit; results go under results/calibration/<name>/.")
    description: str = field("What is fitted and why.", default="")
    targets: str = field(
        "Target file, relative to the repository (or absolute).", default="configs/targets/targets.yaml"
    )
    target_names: list[str] = field("Calibration targets to fit; empty for all of them.", default_factory=list)
    overrides: list[str] = field("Hydra overrides of every scenario's config.", default_factory=list)
    population: int = field("Particles per generation.", ge=2)
    generations: int = field("Generations (populations) of the sequential Monte Carlo.", ge=1)
    parameters: dict[str, Prior] = field("Uniform priors, by dotted config path.")

    @model_validator(mode="after")
    def _some(self) -> Calibration:
        if not self.parameters:
            raise ValueError("parameters: give at least one prior")
        return self


def load_calibration(path: str | Path = DEFAULT_PRIORS) -> Calibration:
    """Read and validate a priors file.

    Raises:
        ConfigError: Unreadable, or a key or value is wrong (named in the message).
    """
    return load_yaml(path, Calibration, "priors file")


def key(path: str) -> str:
    """The name pyabc gets for a parameter (no dots): ``world.market.x`` -> ``world__market__x``."""
    return path.replace(".", "__")


#: How much a miss inside a target's range counts against one outside it.
INSIDE_WEIGHT = 0.1


class ScaledDistance:
    """Distance between simulated and public targets, in units of each public range's width.

    A target's miss is its distance outside the public range plus ``INSIDE_WEIGHT`` times its
    distance to the central value, both over the range's width: the fit keeps every target
    inside its range first and prefers the central values second. A target the simulation
    could not compute (NaN) makes the distance infinite.
    """

    def __init__(self, ranges: Mapping[str, tuple[float, float]]):
        self.ranges = dict(ranges)

    def __call__(self, x: Mapping[str, float], x0: Mapping[str, float]) -> float:
        """The Euclidean norm of the scaled misses (``x0``: the central values)."""
        total = 0.0
        for name, (low, high) in self.ranges.items():
            outside = max(low - x[name], 0.0, x[name] - high)
            miss = (outside + INSIDE_WEIGHT * abs(x[name] - x0[name])) / (high - low)
            total += miss * miss
        return math.inf if math.isnan(total) else math.sqrt(total)


def particle_seed(settings: Mapping[str, float]) -> int:
    """A particle's random seed, a hash of its parameter values: its runs can be repeated from them alone.

    pyabc proposes particles with numpy's global generator in each worker, so a fit as a whole
    is not repeatable bit for bit; each particle's simulation is.
    """
    text = repr(sorted((path, float(value)) for path, value in settings.items()))
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest()) >> 1


class ExportsimSimulator:
    """A particle's simulation: every scenario the targets read, one random seed, the targets computed."""

    def __init__(self, configs: Mapping[str, Config], targets: Mapping[str, Target], integers: set[str]):
        self.configs = dict(configs)
        self.targets = dict(targets)
        self.integers = integers

    def __call__(self, parameters: Mapping[str, float]) -> dict[str, float]:
        """Target values for one particle (NaN where a target is not computable)."""
        logging.getLogger("mesa").setLevel(logging.WARNING)
        settings: dict[str, Any] = {
            path: round(value) if path in self.integers else float(value) for path, value in parameters.items()
        }
        settings["seed"] = particle_seed(settings)
        runs = {name: run(with_settings(cfg, settings)) for name, cfg in self.configs.items()}
        data = {name: RunData(r.timeseries, r.summary) for name, r in runs.items()}
        out = {}
        for name, target in self.targets.items():
            try:
                out[name] = target.compute(data)
            except NotComputable:
                out[name] = math.nan
        return out


class _ByPath:
    """Calls a simulator with dotted config paths instead of pyabc's keys."""

    def __init__(self, simulate: Callable[[dict[str, float]], dict[str, float]], paths: list[str]):
        self.simulate = simulate
        self.paths = paths

    def __call__(self, parameters: Mapping[str, float]) -> dict[str, float]:
        return self.simulate({p: float(parameters[key(p)]) for p in self.paths})


def _sampler(workers: int | None, dask: str | None) -> Any:
    """The pyabc sampler: a Dask scheduler's workers, local processes, or the calling process."""
    from pyabc.sampler import DaskDistributedSampler, MulticoreEvalParallelSampler, SingleCoreSampler

    if dask:
        try:
            from distributed import Client
        except ImportError:
            raise ConfigError("--dask needs dask.distributed; install it with: pip install -e '.[dask]'") from None
        try:
            client = Client(dask, timeout="30s")
        except OSError as exc:
            raise ConfigError(f"--dask {dask}: cannot reach the scheduler: {exc}") from None
        return DaskDistributedSampler(dask_client=client)
    if workers == 1:
        return SingleCoreSampler()
    return MulticoreEvalParallelSampler(n_procs=workers or os.cpu_count() or 1)


def fit(
    priors: Mapping[str, Prior],
    simulate: Callable[[dict[str, float]], dict[str, float]],
    targets: Mapping[str, Target],
    db: Path,
    *,
    population: int,
    generations: int,
    resume: bool = False,
    workers: int | None = None,
    dask: str | None = None,
    progress: bool = True,
) -> Any:
    """Run (or continue) ABC-SMC until ``generations`` generations are in the database.

    Args:
        priors: Uniform priors by dotted config path.
        simulate: Parameters by path -> target values by name (must be picklable for workers).
        targets: The calibration targets (their public centre and range width set the distance).
        db: The SQLite database file.
        population: Particles per generation.
        generations: Generations wanted in total (a resumed fit runs only the missing ones).
        resume: Continue the last fit in ``db`` instead of starting one.
        workers: Local worker processes (1: in this process; None: every core).
        dask: A Dask scheduler address; its workers run the simulations.
        progress: Show a progress bar over generations.

    Returns:
        pyabc's History of the fit.

    Raises:
        ConfigError: ``db`` exists and ``resume`` is False, or ``resume`` without a database.
    """
    try:
        import pyabc
    except ImportError:
        raise ConfigError("calibration needs pyabc; install it with: pip install -e '.[calibrate]'") from None
    for name in PYABC_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    paths = list(priors)
    prior = pyabc.Distribution(**{key(p): pyabc.RV("uniform", pr.low, pr.high - pr.low) for p, pr in priors.items()})
    distance = ScaledDistance({n: t.public.closed_range() for n, t in targets.items()})
    sampler = _sampler(workers, dask)
    url = f"sqlite:///{db.resolve()}"

    def smc() -> Any:
        return pyabc.ABCSMC(_ByPath(simulate, paths), prior, distance, population_size=population, sampler=sampler)

    if resume and not db.exists():
        raise ConfigError(f"--resume: there is no fit to continue in {db}")
    if not resume and db.exists():
        raise ConfigError(f"{db} exists: continue that fit with --resume, or remove the folder to start again")
    if resume:
        stored = pyabc.History(url)
        run_id, done = stored.id, stored.max_t + 1
    else:
        db.parent.mkdir(parents=True, exist_ok=True)
        abc = smc()
        run_id = abc.new(url, {n: t.public.center() for n, t in targets.items()}).id
        done = 0
    for t in tqdm(range(done, generations), desc="generations", initial=done, total=generations, disable=not progress):
        # a fresh sampler state per generation, loaded from the database: each generation's
        # threshold is set from the one before, and an interrupted fit resumes the same way
        if t > 0 or resume:
            abc = smc()
            abc.load(url, run_id)
        abc.run(max_nr_populations=1)
    return pyabc.History(url, _id=run_id)


def posterior(history: Any, priors: Mapping[str, Prior]) -> pd.DataFrame:
    """Every generation's particles: generation, epsilon, one column per parameter path, weight, distance."""
    epsilons = history.get_all_populations().set_index("t")["epsilon"]
    frames = []
    for t in range(history.max_t + 1):
        particles = history.get_weighted_distances(t=t)
        params, weights = history.get_distribution(t=t)
        frame = pd.DataFrame({p: params[key(p)].to_numpy() for p in priors})
        frame.insert(0, "epsilon", float(epsilons.loc[t]))
        frame.insert(0, "generation", t)
        frame["weight"] = weights
        frame["distance"] = particles["distance"].to_numpy()
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def estimate(particles: pd.DataFrame, priors: Mapping[str, Prior]) -> dict[str, float]:
    """The last generation's weighted posterior mean of each parameter."""
    last = particles[particles["generation"] == particles["generation"].max()]
    weights = last["weight"].to_numpy() / last["weight"].sum()
    return {p: float(np.dot(weights, last[p].to_numpy())) for p in priors}


def write_marginals(particles: pd.DataFrame, priors: Mapping[str, Prior], path: Path) -> None:
    """Weighted histograms of each parameter: the first generation light, the last dark, on the prior range."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(priors), figsize=(3.2 * len(priors), 2.8), squeeze=False)
    first, last = particles["generation"].min(), particles["generation"].max()
    for ax, (p, prior) in zip(axes[0], priors.items(), strict=True):
        bins = np.linspace(prior.low, prior.high, 21)
        for t, alpha in ((first, 0.3), (last, 0.8)) if first != last else ((last, 0.8),):
            gen = particles[particles["generation"] == t]
            ax.hist(gen[p], bins=bins, weights=gen["weight"], density=True, alpha=alpha, label=f"generation {t}")
        ax.set_title(p, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_yticks([])
    axes[0][0].legend(fontsize=7)
    fig.suptitle("ABC-SMC posterior marginals (weighted), x-axis = prior range", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def calibrated_yaml(values: Mapping[str, float], integers: set[str], header: str) -> str:
    """A global-package config setting each dotted path, for ``calibrated=<name>``."""
    tree: dict[str, Any] = {}
    for path, value in values.items():
        *parents, leaf = path.split(".")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = round(value) if path in integers else float(f"{value:.6g}")
    comment = "".join(f"# {line}\n" for line in header.splitlines())
    return f"# @package _global_\n{comment}" + yaml.safe_dump(tree, sort_keys=False)


def integer_paths(base: dict[str, Any], paths: list[str]) -> set[str]:
    """The paths whose value in the validated config (dumped) is an integer (rounded when set).

    Raises:
        ConfigError: A path is not a value of the config.
    """
    found = set()
    for path in paths:
        check_path(base, path, f"parameters.{path}")
        node: Any = base
        for part in path.split("."):
            node = node[part]
        if isinstance(node, bool) or not isinstance(node, int | float):
            raise ConfigError(f"parameters.{path}: {node!r} is not a number; only numeric values can be fitted")
        if isinstance(node, int):
            found.add(path)
    return found


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command-line options."""
    parser = argparse.ArgumentParser(prog="python -m sim.calibrate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--priors", type=Path, default=DEFAULT_PRIORS, help="priors file")
    parser.add_argument("--population", type=at_least(2), help="particles per generation (default: the file's)")
    parser.add_argument("--generations", type=at_least(1), help="generations (default: the file's)")
    parser.add_argument("--override", action="append", default=[], help="Hydra override of every scenario")
    parser.add_argument("--out", type=Path, help="output folder (default results/calibration/<name>)")
    parser.add_argument("--resume", action="store_true", help="continue the fit in the output folder's abc.db")
    parser.add_argument(
        "--workers", type=at_least(1), help="local worker processes (1: this process; default: every core)"
    )
    parser.add_argument("--dask", metavar="ADDRESS", help="run the simulations on this Dask scheduler's workers")
    parser.add_argument(
        "--write-config", action="store_true", help="write configs/calibrated/<name>.yaml (the posterior mean)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Fit, write the posterior and its figure (and the calibrated config); 2 on bad input."""
    args = parse_args(argv)
    began = time.perf_counter()
    try:
        cal = load_calibration(args.priors)
        overrides = [*cal.overrides, *args.override]
        target_path = Path(cal.targets)
        target_file = load_targets(target_path if target_path.is_absolute() else CONFIG_DIR.parent / target_path)
        targets = target_file.select(Role.CALIBRATION, cal.target_names or None)
        if cal.target_names and any(
            t.role is not Role.CALIBRATION for t in target_file.select(None, cal.target_names).values()
        ):
            raise ConfigError("target_names: only calibration targets can be fitted")
        integers = integer_paths(load_config(overrides).model_dump(mode="python"), list(cal.parameters))
        configs = {n: load_config([*s.overrides, *overrides]) for n, s in target_file.scenarios_for(targets).items()}
        configs = {n: c for n, c in configs.items() if any(n in t.scenarios() for t in targets.values())}
        probe = seed_values(configs, targets, seed=0)
        missing = {n: v for n, v in probe.items() if isinstance(v, str)}
        for name, reason in missing.items():
            print(f"skipped (not computable): {name}: {reason}")
        targets = {n: t for n, t in targets.items() if n not in missing}
        if not targets:
            raise ConfigError("no calibration target is computable on this model; nothing to fit")
        out = args.out or RESULTS_DIR / cal.name
        population = args.population or cal.population
        generations = args.generations or cal.generations
        print(f"fitting {', '.join(cal.parameters)} to {', '.join(targets)}: {population} particles x {generations}")
        history = fit(
            cal.parameters,
            ExportsimSimulator(configs, targets, integers),
            targets,
            out / DB_FILE,
            population=population,
            generations=generations,
            resume=args.resume,
            workers=args.workers,
            dask=args.dask,
        )
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    particles = posterior(history, cal.parameters)
    particles.to_parquet(out / "posterior.parquet", index=False)
    write_marginals(particles, cal.parameters, out / "marginals.png")
    values = estimate(particles, cal.parameters)
    last = particles[particles["generation"] == particles["generation"].max()]
    print(f"generation {int(last['generation'].iloc[0])}, epsilon {last['epsilon'].iloc[0]:.3g}; posterior mean:")
    for path, value in values.items():
        print(f"  {path} = {value:.4g}  (prior {cal.parameters[path].low:g}-{cal.parameters[path].high:g})")
    if args.write_config:
        CALIBRATED_DIR.mkdir(parents=True, exist_ok=True)
        target = CALIBRATED_DIR / f"{cal.name}.yaml"
        priors = Path(args.priors).resolve()
        shown = priors.relative_to(CONFIG_DIR.parent) if priors.is_relative_to(CONFIG_DIR.parent) else priors.name
        header = (
            f"Calibrated by python -m sim.calibrate --priors {shown} (fit {cal.name}): the posterior mean of\n"
            f"generation {int(last['generation'].iloc[0])} fitted to {', '.join(targets)}.\n"
            f"The default config uses calibrated=baseline; pick another with calibrated={cal.name}, or none\n"
            "with ~calibrated (docs/calibration.md)."
        )
        target.write_text(calibrated_yaml(values, integers, header))
        print(f"wrote {target}")
    print(f"wrote {out / 'posterior.parquet'} and {out / 'marginals.png'} in {time.perf_counter() - began:.0f} s")
    print(out)
    return 0


if __name__ == "__main__":
    with quiet_when_output_closes():
        sys.exit(main())
