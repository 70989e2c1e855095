"""Statistical equivalence: the array-backed market and compiled decision rule keep the model's outputs.

The reference holds the outputs of 50 seeds of the model before them, rewritten since only when
the model changed on purpose (``tests/equivalence.py``).
Results may differ from it in the last bits and in the order random numbers are drawn, so each
output's distribution over 50 other seeds is compared with it by two-sample tests: Kolmogorov-
Smirnov (any difference in shape) and Mann-Whitney (a shift). Each test is run at 0.1%, so the
16 comparisons together falsely fail less than 2% of the time, once (with fixed seeds, the outcome is fixed too).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from tests.equivalence import METRICS, REFERENCE, SCENARIOS, outputs

ALPHA = 0.001
SEEDS = range(50)


@pytest.fixture(scope="module")
def reference() -> dict[str, dict[str, list[float]]]:
    """The reference outputs per scenario and metric."""
    return json.loads(REFERENCE.read_text())["scenarios"]


def differing(now: dict[str, list[float]], before: dict[str, list[float]]) -> list[str]:
    """The metrics whose two samples differ at ``ALPHA`` by either test, with their p-values."""
    found = []
    for metric in METRICS:
        a, b = (np.array(sample)[~np.isnan(sample)] for sample in (now[metric], before[metric]))
        ks = stats.ks_2samp(a, b).pvalue
        mw = stats.mannwhitneyu(a, b).pvalue
        if min(ks, mw) < ALPHA:
            found.append(f"{metric}: KS p={ks:.2g}, Mann-Whitney p={mw:.2g}, means {a.mean():.4g} vs {b.mean():.4g}")
    return found


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_outputs_are_distributed_as_before(scenario: str, reference: dict) -> None:
    assert differing(outputs(scenario, SEEDS), reference[scenario]) == []


def test_the_comparison_rejects_a_changed_model(reference: dict) -> None:
    """Customs that inspect three times as much cargo change detections and smuggling: the test must see it."""
    changed = outputs("baseline", SEEDS, **{"policy.customs.cargo_multiplier": 3.0})
    assert any(
        d.startswith(("detection_rate", "smuggled_h100e_total")) for d in differing(changed, reference["baseline"])
    )
