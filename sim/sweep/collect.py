"""Gathering single-run folders (``python -m sim``, Hydra multirun) into a sweep's tidy runs table.

Each folder holding ``summary.json`` and ``config.yaml`` is one run. The factors are the
config values that differ between the runs gathered (the seed apart); runs with the same
factors form a point, so :func:`sim.sweep.analysis.point_means` applies as to a sweep.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from sim.results import read_summary
from sim.sweep.designs import POINT_ID, REPLICATION

#: Config keys that are not model inputs, left out of the factors.
NOT_FACTORS = ("description", "timeline", "paths", "seed")


def collect_runs(path: Path | str) -> pd.DataFrame:
    """One row per run folder under a results folder, or per job of a Hydra multirun folder.

    Args:
        path: A results folder (every run under it), or a multirun folder
            (``results/multirun/<timestamp>``), whose jobs each hold one run.

    Returns:
        Columns ``run`` (folder), ``point_id``, ``replication``, ``scenario``, the varying
        config values (dotted paths), ``seed`` and the summary metrics.

    Raises:
        FileNotFoundError: No run folder found.
    """
    path = Path(path)
    folders = sorted(p.parent for p in path.rglob("summary.json") if (p.parent / "config.yaml").is_file())
    if not folders:
        raise FileNotFoundError(f"no run folders (summary.json with config.yaml) under {path}")
    configs = [_flatten(yaml.safe_load((f / "config.yaml").read_text())) for f in folders]
    factors = sorted(
        key for key in {k for c in configs for k in c} if key != "name" and len({repr(c.get(key)) for c in configs}) > 1
    )
    rows = []
    for folder, cfg in zip(folders, configs, strict=True):
        summary = read_summary(folder)
        summary.pop("config_hash", None)
        values = {k: cfg.get(k) for k in factors}
        rows.append({"run": str(folder), "scenario": cfg.get("name"), **values, **summary})
    runs = pd.DataFrame(rows)
    keys = ["scenario", *factors]
    grouped = runs[keys].astype(str).groupby(keys, sort=False)
    runs.insert(1, POINT_ID, grouped.ngroup())
    runs.insert(2, REPLICATION, grouped.cumcount())
    return runs.sort_values([POINT_ID, REPLICATION], ignore_index=True)


def _flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in node.items():
        if not prefix and key in NOT_FACTORS:
            continue
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, path + "."))
        else:
            flat[path] = value
    return flat
