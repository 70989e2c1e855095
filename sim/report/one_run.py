"""The chart of one run, as ``python -m sim`` writes it: compute used per month by source.

With replications it draws the mean over every seed, with the 95% bands of total access and of
the offshore channels. Its title names the scenario, the seed(s) and what the command line
changed; numbered lines mark the config's timeline events (rule changes), explained in the
legend. Kept apart from the sweep tables (``sim.report.tables``) so that a single run imports no
sweep code.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import pandas as pd

from sim.intervals import CONFIDENCE, clip_bounds, mean_ci, never_negative
from sim.report.figures import EVENT_GID, access_over_time, room_for_event_numbers
from sim.report.names import OFFSHORE_CHANNELS, SOURCE_ORDER, event_marks, label
from sim.report.style import theme
from sim.results import changes_hash

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from sim.run import RunResult

FIGURE_NAME = "access_by_source.png"
PNG_DPI = 200
#: Longest list of changes a title spells out; a longer one is named by its hash (as the folder is).
MAX_TITLE_CHANGES_CHARS = 120
TITLE_WIDTH = 80


def access_by_source_table(timeseries: pd.DataFrame) -> pd.DataFrame:
    """One run's compute used per month and source, and demand: ``month``, ``source``, ``mean``."""
    wide = timeseries.set_index("month")[[f"access_{s}" for s in SOURCE_ORDER] + ["demand_h100e_months"]]
    wide.columns = [*SOURCE_ORDER, "demand"]
    return wide.reset_index().melt(id_vars="month", var_name="source", value_name="mean")


def mean_access_table(results: list[RunResult], confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Mean compute used per month and source over runs, with t bands of total access (``total``) and offshore use."""
    tidy = pd.concat([access_by_source_table(r.timeseries) for r in results])
    banded = tidy["source"].isin(OFFSHORE_CHANNELS)
    means = tidy[~banded].groupby(["month", "source"], sort=False, as_index=False)["mean"].mean()
    totals = pd.concat([r.timeseries[["month", "access_h100e_months"]] for r in results], ignore_index=True)
    long = pd.concat([tidy[banded], totals.rename(columns={"access_h100e_months": "mean"}).assign(source="total")])
    bands = mean_ci(long, ["month", "source"], "mean", confidence)  # months in order: YYYY-MM sorts so
    bands = clip_bounds(bands, bands["source"], never_negative(long, set(long["source"]), key="source", value="mean"))
    return pd.concat([means, bands[["month", "source", "mean", "ci_low", "ci_high"]]], ignore_index=True)


def chart_title(scenario: str, seeds: list[int], changes: list[str]) -> str:
    """The chart's title: scenario, seed(s) and the changes (by hash when long), wrapped.

    ``Baseline, seed 0`` alone only when nothing was changed.
    """
    seed_text = f"seed {seeds[0]}" if len(seeds) == 1 else f"mean of {len(seeds)} seeds ({_seed_range(seeds)})"
    head = f"{label(scenario)}, {seed_text}"
    if not changes:
        return head
    text = " ".join(changes)
    if len(text) > MAX_TITLE_CHANGES_CHARS:
        text = f"{len(changes)} changes, hash {changes_hash(changes)} (listed in manifest.json)"
    return head + "\n" + "\n".join(textwrap.wrap(f"changed: {text}", TITLE_WIDTH, break_on_hyphens=False))


def _seed_range(seeds: list[int]) -> str:
    if seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]}-{seeds[-1]}"
    return ", ".join(map(str, seeds))


def figure(tidy: pd.DataFrame, title: str, events: Sequence[tuple[str, str]] = ()) -> Figure:
    """The compute-by-source chart of a tidy table (:func:`access_by_source_table`), titled, with its events marked."""
    fig = access_over_time(tidy.assign(scenario="run"), events=events)
    ax = fig.axes[0]
    ax.set_title(title, fontsize="small")
    if any(text.get_gid() == EVENT_GID for text in ax.texts):  # numbered events: the title goes above them
        room_for_event_numbers(ax)
    return fig


def write_figure(result: RunResult | list[RunResult], folder: Path, changes: list[str] | None = None) -> Path:
    """Write the compute-by-source chart of a run (or the mean of several seeds) as PNG; return its path.

    Args:
        result: One run, or the runs of one config over several seeds.
        folder: Where the PNG goes.
        changes: The overrides the run was given, named in the title.
    """
    results = result if isinstance(result, list) else [result]
    tidy = access_by_source_table(results[0].timeseries) if len(results) == 1 else mean_access_table(results)
    title = chart_title(results[0].config.name, [r.config.seed for r in results], changes or [])
    path = folder / FIGURE_NAME
    with theme("paper"):
        fig = figure(tidy, title, event_marks(results[0].config))
        fig.savefig(path, dpi=PNG_DPI)
    plt.close(fig)
    return path
