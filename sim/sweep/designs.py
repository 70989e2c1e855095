"""Designs: the points of a sweep, one row each, and the seed of every run.

Sampled designs (lhs, sobol, morris) come from SALib's samplers, so that
:mod:`sim.sweep.sensitivity` can analyse them with the matching SALib method.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd

from sim.config import Config
from sim.sweep.experiment import DesignKind, Experiment, Range

POINT_ID = "point_id"
RUN_ID = "run_id"
REPLICATION = "replication"


def problem(experiment: Experiment) -> dict[str, Any]:
    """The SALib problem of a sampled design: factor names and bounds, levers first."""
    factors = {p: s for p, s in experiment.factors.items() if isinstance(s, Range)}
    return {
        "num_vars": len(factors),
        "names": list(factors),
        "bounds": [[s.low, s.high] for s in factors.values()],
    }


def integer_paths(experiment: Experiment, base: Config) -> list[str]:
    """Factors whose config value is an integer count, rounded after sampling."""
    data = base.model_dump(mode="python")
    found = []
    for path in experiment.factors:
        node: Any = data
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, int) and not isinstance(node, bool):
            found.append(path)
    return found


def sample(experiment: Experiment, integers: list[str] | None = None) -> pd.DataFrame:
    """The design's points: ``point_id`` and one column per factor path.

    Args:
        experiment: The validated experiment.
        integers: Factor paths to round to whole numbers (sampled designs only).

    Returns:
        One row per point, in the sampler's order (SALib's analysis relies on it).
    """
    design = experiment.design
    if design.kind is DesignKind.FACTORIAL:
        factors = experiment.factors
        rows = list(itertools.product(*factors.values()))
        points = pd.DataFrame.from_records(rows, columns=list(factors)) if rows else pd.DataFrame()
    else:
        from SALib.sample import latin, morris, sobol  # only here: workers import this module, not SALib

        spec = problem(experiment)
        seed = experiment.seed
        if design.kind is DesignKind.LHS:
            values = latin.sample(spec, design.samples, seed=seed)
        elif design.kind is DesignKind.SOBOL:
            values = sobol.sample(spec, design.samples, calc_second_order=design.second_order, seed=seed)
        else:
            values = morris.sample(spec, design.samples, num_levels=design.levels, seed=seed)
        points = pd.DataFrame(values, columns=spec["names"])
        for path in integers or []:
            points[path] = points[path].round().astype("int64")
    points.insert(0, POINT_ID, np.arange(len(points), dtype="int64"))
    return points


def run_seed(sweep_seed: int, replication: int) -> int:
    """The seed of a run: spawned from the sweep seed by its replication, never by worker order.

    Replication r has the same seed at every point (common random numbers), so two points'
    runs pair up seed by seed and their difference is measured with a paired interval.
    """
    state = np.random.SeedSequence(sweep_seed, spawn_key=(replication,)).generate_state(1, np.uint64)[0]
    return int(state % np.uint64(2**63))


def settings(row: dict[str, Any]) -> dict[str, Any]:
    """A design row's factor values as plain Python config settings (NaN and nulls as None)."""
    out = {}
    for path, value in row.items():
        if path == POINT_ID:
            continue
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, float) and np.isnan(value):
            value = None
        out[path] = value
    return out
