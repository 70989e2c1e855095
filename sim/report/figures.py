"""Figure functions: each takes a tidy table and returns a matplotlib Figure.

None reads files or runs simulations, so authors can call them on their own tables and
restyle the result.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from sim.report.style import WIDTHS_IN, colour

SOURCE_ORDER = ("stockpile", "domestic", "compliant", "smuggling", "remote_rental", "data_transport")


def access_by_source(table: pd.DataFrame, title: str = "") -> Figure:
    """Stacked areas of compute used per month, by source.

    Args:
        table: Tidy rows of ``month`` (YYYY-MM), ``source`` and ``access_h100e_months``.
        title: Optional title.
    """
    wide = table.pivot(index="month", columns="source", values="access_h100e_months")
    sources = [s for s in SOURCE_ORDER if s in wide.columns]
    fig, ax = plt.subplots(figsize=(WIDTHS_IN["one_column"], 2.4))
    x = pd.to_datetime(wide.index)
    ax.stackplot(x, *(wide[s] / 1e3 for s in sources), labels=sources, colors=[colour(s) for s in sources])
    ax.set_xlabel("Month")
    ax.set_ylabel("Compute used (k H100e-months)")
    if title:
        ax.set_title(title)
    ax.legend(loc="upper left", ncols=2)
    fig.autofmt_xdate()
    return fig
