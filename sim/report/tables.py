"""Tidy tables for the figure functions, from run time series and sweep results."""

from __future__ import annotations

import pandas as pd

from sim.report.figures import SOURCE_ORDER


def access_by_source_table(timeseries: pd.DataFrame) -> pd.DataFrame:
    """One run's compute used per month and source, and demand: ``month``, ``source``, ``mean``."""
    wide = timeseries.set_index("month")[[f"access_{s}" for s in SOURCE_ORDER] + ["demand_h100e_months"]]
    wide.columns = [*SOURCE_ORDER, "demand"]
    return wide.reset_index().melt(id_vars="month", var_name="source", value_name="mean")
