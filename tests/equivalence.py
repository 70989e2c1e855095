"""The outputs the statistical equivalence test compares, and the writer of their reference.

The reference (``tests/data/equivalence_reference.json``) holds these outputs over 50 seeds
of the model at the commit it names: first the model before the array-backed market and the
compiled decision rule, then the model after each change made on purpose. Rewrite it with
``python -m tests.equivalence`` only when the model's behaviour changes on purpose (a new
mechanism, a refit), and say so in the commit.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sim import load_config, run
from sim.schema import with_settings

REFERENCE = Path(__file__).parent / "data" / "equivalence_reference.json"
SCENARIOS = ("baseline", "crackdown_singapore")
METRICS = ("access_ratio", "smuggled_h100e_total", "detection_rate", "orders_cloud_rental_h100e_total")
REFERENCE_SEEDS = range(1000, 1050)  # disjoint from the test's seeds: two independent samples


def outputs(scenario: str, seeds: range, **settings: float) -> dict[str, list[float]]:
    """Each metric over ``seeds`` runs of ``scenario`` (with ``settings`` applied)."""
    base = with_settings(load_config([f"scenario={scenario}"]), settings)
    summaries = [run(with_settings(base, {"seed": seed})).summary for seed in seeds]
    return {metric: [float(s[metric]) for s in summaries] for metric in METRICS}


def main() -> int:
    """Write the reference from the model as it is now."""
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    reference = {
        "commit": commit,
        "seeds": [REFERENCE_SEEDS.start, REFERENCE_SEEDS.stop],
        "scenarios": {scenario: outputs(scenario, REFERENCE_SEEDS) for scenario in SCENARIOS},
    }
    REFERENCE.write_text(json.dumps(reference, indent=1) + "\n")
    print(f"wrote {REFERENCE} at {commit[:7]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
