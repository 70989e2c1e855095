"""``run(config)``: the one pure entry point from a config to its results."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.config import Config
from sim.schema import ConfigError

if TYPE_CHECKING:
    from sim.metrics import RowLayout


@dataclass(frozen=True)
class RunResult:
    """What one run produced.

    Attributes:
        config: The validated config that was run.
        summary: Per-run metrics: numbers only.
        values: (months x ``layout.columns``) the monthly rows, as numbers.
        layout: The time series' columns (``sim.metrics.RowLayout``).
        wall_time_s: Seconds the run took.
    """

    config: Config
    summary: dict[str, float | int]
    values: np.ndarray = field(repr=False, compare=False)
    layout: RowLayout = field(repr=False, compare=False)
    wall_time_s: float = field(default=0.0, compare=False)

    @cached_property
    def timeseries(self) -> pd.DataFrame:
        """One row a month (docs/ODD.md, section 4, observation), ``month`` as YYYY-MM; built when first read."""
        return self.layout.frame(self.config.start, self.values)


def run(config: Config) -> RunResult:
    """Simulate one config and return its results; writes nothing.

    The same config (seed included) always gives the same results. A validated config cannot
    be changed in place (``sim.schema.ReadOnlyError``), so it is run as it was validated.

    Raises:
        ConfigError: ``config`` is not a :class:`Config` (build one with ``load_config``; change
            it with ``with_settings``, which validates).
    """
    if not isinstance(config, Config):
        raise ConfigError(
            f"run() takes a validated Config, got {type(config).__name__}; "
            "build one with sim.load_config([...overrides]) or sim.schema.with_settings(config, {...})"
        )
    from sim.model import ExportControlModel  # Mesa and the compiled rule load on the first run

    began = time.perf_counter()
    model = ExportControlModel(config)
    model.run_for(config.months)
    return RunResult(config, model.summary(), model.values(), model.layout, time.perf_counter() - began)
