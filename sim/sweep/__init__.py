"""Sweeps: many runs over a design of levers and uncertainties, streamed to disk, resumable.

    python -m sim.sweep experiment=audits_vs_caps
    python -m sim.sweep.summarize results/sweeps/audits_vs_caps/<timestamp>

    from sim import sweep
    s = sweep.load("results/sweeps/audits_vs_caps/<timestamp>")
    s.runs, s.points(["access_ratio"]), s.timeseries(["access_smuggling"])
    s.contrast({"scenario": "crackdown_singapore"}, {"scenario": "baseline"}, ["access_ratio"])

See docs/sweeps.md.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.sweep.analysis import Sweep, load, point_means
    from sim.sweep.collect import collect_runs
    from sim.sweep.engine import SweepInterrupted, SweepOutcome, resume_sweep, start_sweep
    from sim.sweep.experiment import Experiment, load_experiment

#: Where each public name lives; imported on first use, so that a worker importing
#: ``sim.sweep.worker`` does not load the analysis stack (scipy.stats, SALib).
_HOME = {
    "Sweep": "sim.sweep.analysis",
    "load": "sim.sweep.analysis",
    "point_means": "sim.sweep.analysis",
    "collect_runs": "sim.sweep.collect",
    "SweepInterrupted": "sim.sweep.engine",
    "SweepOutcome": "sim.sweep.engine",
    "resume_sweep": "sim.sweep.engine",
    "start_sweep": "sim.sweep.engine",
    "Experiment": "sim.sweep.experiment",
    "load_experiment": "sim.sweep.experiment",
}

__all__ = [
    "Experiment",
    "Sweep",
    "SweepInterrupted",
    "SweepOutcome",
    "collect_runs",
    "load",
    "load_experiment",
    "point_means",
    "resume_sweep",
    "start_sweep",
]


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use."""
    if name not in _HOME:
        raise AttributeError(f"module 'sim.sweep' has no attribute {name!r}")
    return getattr(import_module(_HOME[name]), name)
