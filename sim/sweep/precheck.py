"""Before a sweep runs: factors that change nothing, values the timeline overrides, a timed pilot.

A factor is *inactive* when moving it between its extreme values changes no output of the
run at the design's first and last points (replication 0's seed, the whole run): a switch is
off (``policy.country_caps.enabled: false`` under ``jan2025``), or nothing the factor acts on
happens there. An inactive factor stops the sweep (exit 2) unless the experiment lists it
under ``allow_inactive``. A factor that a scenario's timeline event sets from some month on is
active only before it: that is a warning. The pilot's runs are timed for the sweep's estimate.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any

import pandas as pd

from sim.config import Config
from sim.loading import switched_off
from sim.run import run
from sim.schema import ConfigError, with_settings
from sim.sweep.designs import run_seed, settings
from sim.sweep.experiment import SCENARIO_FACTOR, Experiment, Range


@dataclass(frozen=True)
class Pilot:
    """What the pilot found.

    Attributes:
        warnings: Factors a timeline event overrides after some month, one sentence each.
        inactive: Inactive factors the experiment allows, one sentence each.
        runs: Pilot runs made.
        seconds_per_run: Their median wall time, the first run left out (it pays for imports and
            compilation, which a sweep's workers pay once).
    """

    warnings: list[str]
    inactive: list[str]
    runs: int
    seconds_per_run: float


def timeline_overrides(experiment: Experiment, bases: dict[str, Config]) -> list[str]:
    """Factors that a timeline event of a base scenario sets, from the event's month on."""
    found = []
    for scenario, cfg in bases.items():
        for name, event in cfg.timeline.items():
            for path, value in event.set.items():
                for factor in experiment.factors:
                    if factor == path or factor.startswith(f"{path}.") or path.startswith(f"{factor}."):
                        found.append(
                            f"{factor}: the timeline event {name!r} of scenario {scenario} sets {path} to "
                            f"{value!r} from {event.month}, so the design's values apply only before then"
                        )
    return found


def _extremes(spec: Any) -> tuple[Any, Any]:
    """The two values of a factor furthest apart: a range's ends, or a list's first and last distinct values."""
    if isinstance(spec, Range):
        return spec.low, spec.high
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in spec):
        return min(spec), max(spec)
    return spec[0], spec[-1]


class _Timer:
    """Runs configs and keeps each one's wall time."""

    def __init__(self) -> None:
        self.times_s: list[float] = []

    def run(self, cfg: Config) -> pd.DataFrame:
        began = time.perf_counter()
        timeseries = run(cfg).timeseries
        self.times_s.append(time.perf_counter() - began)
        return timeseries

    def seconds_per_run(self) -> float:
        """The median wall time of the runs after the first (of the first alone, if it is the only one)."""
        return statistics.median(self.times_s[1:] or self.times_s)


def _point(row: dict[str, Any], experiment: Experiment) -> tuple[str, dict[str, Any]]:
    """A design row's scenario and its other settings."""
    values = settings(row)
    return values.pop(SCENARIO_FACTOR, experiment.scenario), values


def pilot(experiment: Experiment, bases: dict[str, Config], design: pd.DataFrame) -> Pilot:
    """Run each factor at its extremes at the design's first and last points; time the runs.

    Raises:
        ConfigError: A factor changes nothing and is not in ``allow_inactive``: the message names
            it, the values tried and a switch that is off, if one is.
    """
    rows = design.drop_duplicates(subset=list(design.columns[1:])).iloc[[0, -1]].to_dict("records")
    seed = run_seed(experiment.seed, 0)
    timer = _Timer()
    refused, allowed = [], []
    for factor, spec in experiment.factors.items():
        if factor == SCENARIO_FACTOR:
            continue
        low, high = _extremes(spec)
        scenarios = []
        for row in rows:
            scenario, values = _point(row, experiment)
            scenarios.append(scenario)
            low_run, high_run = (
                timer.run(with_settings(bases[scenario], {**values, factor: value, "seed": seed}))
                for value in (low, high)
            )
            if not low_run.equals(high_run):
                break
        else:
            switch = "; ".join(filter(None, (switched_off(bases[s], factor) for s in sorted(set(scenarios)))))
            message = (
                f"{factor}: inactive: {low!r} and {high!r} give identical runs at the design's first and last "
                f"points (scenario {', '.join(sorted(set(scenarios)))}, seed of replication 0)"
                + (f"; {switch}" if switch else "")
            )
            (allowed if factor in experiment.allow_inactive else refused).append(message)
    if refused:
        raise ConfigError(
            "\n".join(refused) + "\nvary the switch too, pick another scenario, or list the factor under "
            "allow_inactive to run it anyway"
        )
    if not timer.times_s:  # only a scenario factor: time runs of the first point, the first one warming up
        scenario, values = _point(rows[0], experiment)
        for _ in range(2):
            timer.run(with_settings(bases[scenario], {**values, "seed": seed}))
    return Pilot(timeline_overrides(experiment, bases), allowed, len(timer.times_s), timer.seconds_per_run())
