"""What a worker does: run a batch of runs and return their rows, catching each run's failure."""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

import numpy as np
import pandas as pd

from sim.config import Config
from sim.run import RunResult, run
from sim.schema import SettingsError, with_settings
from sim.sweep.designs import POINT_ID, REPLICATION, RUN_ID
from sim.timeline import month_labels


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: its ids, seed, base scenario and factor settings."""

    run_id: int
    point_id: int
    replication: int
    seed: int
    scenario: str
    settings: dict[str, Any]


@dataclass
class BatchResult:
    """What a batch produced: a summary row per finished run, their time series, the failures."""

    runs: pd.DataFrame
    timeseries: pd.DataFrame | None
    failures: list[dict[str, Any]] = field(default_factory=list)


def run_batch(bases: dict[str, Config], specs: list[RunSpec], keep_timeseries: bool) -> BatchResult:
    """Run every spec on its base config; a failing run becomes a failure record, not an error.

    Args:
        bases: Base config of each scenario the specs name.
        specs: The runs to do, in order.
        keep_timeseries: Whether to return each run's monthly rows.

    Returns:
        The runs' summaries (metrics as float64), time series (with ``run_id``) and failures.
    """
    logging.getLogger("mesa").setLevel(logging.WARNING)
    rows, run_ids, series, failures = [], [], [], []
    for spec in specs:
        began = time.perf_counter()
        try:
            cfg = with_settings(bases[spec.scenario], {**spec.settings, "seed": spec.seed})
            result = run(cfg)
        except Exception as exc:  # any run error is recorded and the sweep goes on
            failures.append(failure_record(spec, exc))
            continue
        ids = {RUN_ID: spec.run_id, POINT_ID: spec.point_id, REPLICATION: spec.replication}
        summary = {k: float(v) for k, v in result.summary.items() if k != "seed"}
        rows.append({**ids, "seed": spec.seed, **summary, "wall_time_s": time.perf_counter() - began})
        if keep_timeseries:
            run_ids.append(spec.run_id)
            series.append(result)
    runs = pd.DataFrame(rows)
    return BatchResult(runs, _as_float(run_ids, series) if series else None, failures)


def _as_float(run_ids: list[int], results: list[RunResult]) -> pd.DataFrame:
    """Runs' monthly rows in one frame: ``run_id``, ``month``, every other column as float64.

    One dtype a column keeps every Parquet part's schema the same whatever values a run had
    (runs of scenarios with other hubs leave the columns they lack empty).
    """
    blocks = [  # runs of one layout one after the other make one block
        pd.DataFrame(np.concatenate([r.values for r in same]), columns=columns)
        for columns, same in groupby(results, key=lambda r: r.layout.columns)
    ]
    frame = pd.concat(blocks, ignore_index=True).astype("float64") if len(blocks) > 1 else blocks[0]
    labels = [label for r in results for label in month_labels(r.config.start, len(r.values))]
    frame.insert(0, "month", pd.array(labels, dtype="str"))
    frame.insert(0, RUN_ID, np.repeat(np.array(run_ids, dtype=np.int64), [len(r.values) for r in results]))
    return frame


def failure_record(spec: RunSpec, exc: Exception) -> dict[str, Any]:
    """The failures.jsonl record of a run that raised ``exc``."""
    message = str(exc) if isinstance(exc, SettingsError) else f"{type(exc).__name__}: {exc}"
    return {
        RUN_ID: spec.run_id,
        POINT_ID: spec.point_id,
        REPLICATION: spec.replication,
        "seed": spec.seed,
        "scenario": spec.scenario,
        "settings": spec.settings,
        "error": message,
        "traceback": traceback.format_exc(),
    }
