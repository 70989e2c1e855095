"""The chart of one run, as ``python -m sim`` writes it: compute used per month by source.

Kept apart from the sweep tables (``sim.report.tables``) so that a single run imports no sweep code.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import pandas as pd

from sim.report.figures import access_over_time
from sim.report.names import SOURCE_ORDER
from sim.report.style import theme

if TYPE_CHECKING:
    from sim.run import RunResult

FIGURE_NAME = "access_by_source.png"
PNG_DPI = 200


def access_by_source_table(timeseries: pd.DataFrame) -> pd.DataFrame:
    """One run's compute used per month and source, and demand: ``month``, ``source``, ``mean``."""
    wide = timeseries.set_index("month")[[f"access_{s}" for s in SOURCE_ORDER] + ["demand_h100e_months"]]
    wide.columns = [*SOURCE_ORDER, "demand"]
    return wide.reset_index().melt(id_vars="month", var_name="source", value_name="mean")


def write_figure(result: RunResult, folder: Path) -> Path:
    """Write the run's compute-by-source chart as PNG into ``folder``; return its path."""
    cfg = result.config
    tidy = access_by_source_table(result.timeseries).assign(scenario=f"{cfg.name}, seed {cfg.seed}")
    path = folder / FIGURE_NAME
    with theme("paper"):
        fig = access_over_time(tidy)
        fig.savefig(path, dpi=PNG_DPI)
    plt.close(fig)
    return path
