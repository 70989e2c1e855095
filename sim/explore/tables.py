"""The explorer's tables as HTML: every number shown with its exact value and a stable test id.

A cell shows a number rounded for reading (:func:`fmt`; a mean and its interval at one place,
:func:`sim.commands.readable_interval`) and carries the exact value
(``data-value``, Python's ``repr``) and a ``data-testid``, so a test reads back what the page
shows and compares it with ``run()``.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

import pandas as pd

from sim.commands import readable_interval
from sim.explore.compare import KEY_METRICS, Comparison
from sim.metrics import column_docs
from sim.report.names import label

#: Readable names of the run metrics of the comparison table.
METRIC_LABELS = {
    "access_ratio": "Access ratio (used / wanted, whole run)",
    "access_h100e_months_total": "Compute used (H100e-months)",
    "smuggled_h100e_total": "Chips smuggled (H100e)",
    "seized_h100e_total": "Chips seized (H100e)",
    "detection_rate": "Detection rate, illicit channels",
    "detections_total": "Detections",
    "listed_entities_final": "Entities listed (end)",
    "fines_usd_total": "Fines (USD)",
    "legit_denied_h100e_months_total": "Legitimate demand denied (H100e-months)",
}


def metric_label(metric: str) -> str:
    """A readable name of a run metric."""
    if metric in METRIC_LABELS:
        return METRIC_LABELS[metric]
    if metric.startswith("access_") and metric.endswith("_total"):
        return f"Compute used: {label(metric.removeprefix('access_').removesuffix('_total')).lower()}"
    if metric.startswith("detection_rate_"):
        return f"Detection rate: {label(metric.removeprefix('detection_rate_')).lower()}"
    return label(metric)


def fmt(value: Any) -> str:
    """A number for reading: thousands separators from 1,000 up, else 4 significant digits; '–' for NaN."""
    if value is None or (isinstance(value, Real) and math.isnan(value)):
        return "–"
    if isinstance(value, bool) or not isinstance(value, Real):
        return str(value)
    if abs(value) >= 1000 or isinstance(value, Integral):
        return f"{value:,.0f}"
    return f"{value:.4g}"


def cell(value: Any, testid: str, tag: str = "td") -> str:
    """One table cell showing ``fmt(value)``, with ``data-testid`` and the exact ``data-value``."""
    exact = repr(float(value)) if isinstance(value, Real) and not isinstance(value, bool) else str(value)
    return (
        f'<{tag} data-testid="{html.escape(testid)}" data-value="{html.escape(exact)}" title="{html.escape(exact)}" '
        f'style="text-align:right;padding:1px 8px">{html.escape(fmt(value))}</{tag}>'
    )


def _span(value: float, text: str, testid: str) -> str:
    """A number shown as ``text``, its exact value in ``data-value`` and on hover."""
    exact = repr(float(value))
    return f'<span data-testid="{testid}" data-value="{exact}" title="{exact}">{html.escape(text)}</span>'


def _interval(row: pd.Series, value: str, testid: str) -> str:
    """A cell of ``value [low, high]`` (:func:`sim.commands.readable_interval`); the bounds carry their own test ids."""
    numbers = (float(row[value]), float(row["ci_low"]), float(row["ci_high"]))
    texts = readable_interval(*numbers, missing="–")
    ids = (testid, f"{testid}-low", f"{testid}-high")
    mean, low, high = (_span(number, text, i) for number, text, i in zip(numbers, texts, ids, strict=True))
    inner = f'{mean} <span style="color:#666">[{low}, {high}]</span>'
    return f'<td style="text-align:right;padding:1px 8px;white-space:nowrap">{inner}</td>'


def _table(header: Sequence[str], rows: Sequence[str], testid: str) -> str:
    head = "".join(f'<th style="text-align:right;padding:1px 8px">{html.escape(h)}</th>' for h in header)
    body = "".join(f"<tr>{r}</tr>" for r in rows)
    return (
        f'<table data-testid="{testid}" style="border-collapse:collapse;font-size:13px">'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def comparison_table(comparison: Comparison, metrics: Sequence[str] = KEY_METRICS) -> str:
    """'What did my change do?': each metric's mean [95% CI] for both sides and the paired difference.

    Test ids: ``chosen-<metric>``, ``reference-<metric>``, ``difference-<metric>`` (and ``-low``, ``-high``).
    """
    chosen = comparison.metrics["chosen"].set_index("metric")
    reference = comparison.metrics["reference"].set_index("metric")
    paired = comparison.paired.set_index("metric")
    rows = []
    for metric in metrics:
        name = f'<td style="padding:1px 8px" title="{html.escape(metric)}">{html.escape(metric_label(metric))}</td>'
        rows.append(
            name
            + _interval(chosen.loc[metric], "mean", f"chosen-{metric}")
            + _interval(reference.loc[metric], "mean", f"reference-{metric}")
            + _interval(paired.loc[metric], "difference", f"difference-{metric}")
            + cell(int(paired.loc[metric, "n"]), f"pairs-{metric}")
        )
    header = ["Metric", "Chosen: mean [95% CI]", "Reference: mean [95% CI]", "Chosen − reference [95% CI]", "Pairs"]
    return _table(header, rows, "comparison-table")


def runs_table(comparison: Comparison, metrics: Sequence[str] = KEY_METRICS) -> str:
    """Every run's metrics as ``run()`` gave them, one column per seed and side.

    Test ids: ``run-<side>-<seed>-<metric>`` (side ``chosen`` or ``reference``).
    """
    sides = {"chosen": comparison.chosen, "reference": comparison.reference}
    header = ["Metric"] + [f"{side} seed {seed}" for side, batch in sides.items() for seed in batch.seeds]
    summaries = {side: batch.summaries() for side, batch in sides.items()}
    rows = []
    for metric in metrics:
        cells = [f'<td style="padding:1px 8px">{html.escape(metric_label(metric))}</td>']
        for side, batch in sides.items():
            for i, seed in enumerate(batch.seeds):
                cells.append(cell(summaries[side][metric].iloc[i], f"run-{side}-{seed}-{metric}"))
        rows.append("".join(cells))
    return _table(header, rows, "runs-table")


def month_table(row: pd.Series, columns: Sequence[str]) -> str:
    """One month's values of some time-series columns. Test ids: ``step-<column>``."""
    docs = column_docs()
    rows = []
    for column in columns:
        doc = docs.get(column, "")
        rows.append(
            f'<td style="padding:1px 8px" title="{html.escape(doc)}">{html.escape(column)}</td>'
            + cell(row[column], f"step-{column}")
        )
    return _table(["Column", "Value"], rows, "month-table")


def frame_table(frame: pd.DataFrame, testid: str) -> str:
    """Any small frame as an HTML table; cell test ids ``<testid>-<row>-<column>``."""
    rows = []
    for i, record in enumerate(frame.to_dict("records")):
        rows.append("".join(cell(value, f"{testid}-{i}-{column}") for column, value in record.items()))
    return _table([str(c) for c in frame.columns], rows, testid)
