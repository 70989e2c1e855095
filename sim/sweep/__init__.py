"""Sweeps: many runs over a design of levers and uncertainties, streamed to disk, resumable.

    python -m sim.sweep experiment=audits_vs_caps
    python -m sim.sweep.summarize results/sweeps/audits_vs_caps/<timestamp>

    from sim import sweep
    s = sweep.load("results/sweeps/audits_vs_caps/<timestamp>")
    s.runs, s.points(["access_ratio"]), s.timeseries(["access_smuggling"])
    s.contrast({"scenario": "crackdown_singapore"}, {"scenario": "baseline"}, ["access_ratio"])

See docs/sweeps.md.
"""

from sim.sweep.analysis import Sweep, load, point_means
from sim.sweep.collect import collect_runs
from sim.sweep.engine import SweepInterrupted, SweepOutcome, resume_sweep, start_sweep
from sim.sweep.experiment import Experiment, load_experiment

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
