"""``python -m sim.bench``: how fast a run is, and what the sweep engine adds.

Reports the start-up time of ``python -m sim`` (``--help`` in a fresh process: interpreter,
imports and composing the config; median of 5), the wall time of one baseline run (mean and
min), the runs per second of a sweep on 1 and 2 local workers (worker start-up included), the
sweep engine's overhead per run against a plain loop of :func:`sim.run` (a worker's batch
against the loop), its fixed cost per sweep (composing, estimating, writing; and starting a
worker), and the peak resident memory of this process and of its largest child.
"""

from __future__ import annotations

import argparse
import io
import logging
import resource
import statistics
import subprocess
import sys
import tempfile
import time

from sim import load_config, run
from sim.schema import with_settings
from sim.sweep.designs import sample
from sim.sweep.engine import RunPlan, start_sweep
from sim.sweep.experiment import Experiment, parse_experiment
from sim.sweep.worker import run_batch

FACTOR = "policy.enforcement.audit_budget_per_month"
STARTUPS = 5


def _experiment(runs: int, executor: dict[str, object]) -> Experiment:
    """A baseline factorial over the audit budget with ``runs`` runs (2 replications a point)."""
    points = max(1, runs // 2)
    return parse_experiment(
        {
            "name": "bench",
            "scenario": "baseline",
            "design": {"kind": "factorial"},
            "levers": {FACTOR: [float(b) for b in range(points)]},
            "replications": 2,
            "seed": 1,
            "executor": executor,
        }
    )


def _sweep_s(runs: int, executor: dict[str, object]) -> float:
    """Wall time of a whole sweep, start-up and writing included."""
    with tempfile.TemporaryDirectory() as folder:
        began = time.perf_counter()
        outcome = start_sweep(_experiment(runs, executor), folder, progress=False, out=io.StringIO())
        elapsed = time.perf_counter() - began
    if outcome.failed:
        raise RuntimeError(f"{outcome.failed} bench runs failed")
    return elapsed


def _startup_s() -> float:
    """Median wall time of ``python -m sim --help`` in a fresh process, from starting it to its exit."""
    times_s = []
    for _ in range(STARTUPS):
        began = time.perf_counter()
        subprocess.run([sys.executable, "-m", "sim", "--help"], check=True, capture_output=True)
        times_s.append(time.perf_counter() - began)
    return statistics.median(times_s)


def measure(runs: int) -> list[tuple[str, str]]:
    """Run the benchmarks; return (figure, value) rows."""
    logging.getLogger("mesa").setLevel(logging.WARNING)
    startup_s = _startup_s()
    base = load_config(["scenario=baseline"])
    configs = [with_settings(base, {FACTOR: float(i // 2), "seed": i}) for i in range(runs)]
    run(configs[0])  # warm-up: imports and caches
    singles_s = []
    for cfg in configs[:5]:
        began = time.perf_counter()
        run(cfg)
        singles_s.append(time.perf_counter() - began)
    began = time.perf_counter()
    for cfg in configs:
        run(cfg)
    loop_s = (time.perf_counter() - began) / runs
    plan = RunPlan(_experiment(runs, {"kind": "serial"}), sample(_experiment(runs, {"kind": "serial"})))
    specs = [plan.spec(i) for i in range(runs)]
    began = time.perf_counter()
    run_batch({"baseline": base}, specs, keep_timeseries=True)
    batch_s = (time.perf_counter() - began) / runs
    serial_s = _sweep_s(runs, {"kind": "serial"})
    one_s = _sweep_s(runs, {"kind": "local", "workers": 1})
    two_s = _sweep_s(runs, {"kind": "local", "workers": 2})
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return [
        (f"start-up of python -m sim (--help), median of {STARTUPS} (s)", f"{startup_s:.2f}"),
        ("one baseline run, mean of 5 (s)", f"{statistics.fmean(singles_s):.3f}"),
        ("one baseline run, min of 5 (s)", f"{min(singles_s):.3f}"),
        (f"plain loop of run(), {runs} runs (runs/s)", f"{1 / loop_s:.1f}"),
        ("sweep, 1 local worker (runs/s)", f"{runs / one_s:.1f}"),
        ("sweep, 2 local workers (runs/s)", f"{runs / two_s:.1f}"),
        ("engine overhead per run, in a batch (ms)", f"{(batch_s - loop_s) * 1000:.1f}"),
        ("engine fixed cost per sweep, serial (s)", f"{serial_s - runs * batch_s:.2f}"),
        ("engine fixed cost per sweep, 1 worker (s)", f"{one_s - runs * batch_s:.2f}"),
        ("peak memory, this process (MB)", f"{self_kb / 1024:.0f}"),
        ("peak memory, largest child (MB)", f"{children_kb / 1024:.0f}"),
    ]


def main(argv: list[str]) -> int:
    """Print the figures as a table."""
    parser = argparse.ArgumentParser(prog="python -m sim.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=80, help="runs per sweep and in the plain loop")
    args = parser.parse_args(argv)
    rows = measure(args.runs)
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value:>8}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
