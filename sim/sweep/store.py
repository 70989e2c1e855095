"""A sweep's folder on disk, written as runs finish so that a killed sweep loses nothing.

Layout::

    design.parquet            one row per point, written before any run
    manifest.json             experiment, SALib problem, counts, provenance
    runs/part-NNNNN.parquet   one row per finished run (ids, seed, metrics), one part a batch
    timeseries/part-NNNNN.parquet   the same runs' monthly rows, with run_id
    failures.jsonl            one line per failed run: ids, seed, settings, error

Every Parquet part is written to a hidden temporary file and renamed, so a part is either
whole or absent. A batch's time-series part is written first and its runs part last: a run
counts as finished once it is in a runs part (or in failures.jsonl).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from sim.results import new_timestamped_dir
from sim.sweep.designs import RUN_ID

DESIGN_FILE = "design.parquet"
MANIFEST_FILE = "manifest.json"
FAILURES_FILE = "failures.jsonl"
RUNS_DIR = "runs"
TIMESERIES_DIR = "timeseries"
PART = re.compile(r"^part-(\d{5,})\.parquet$")


def new_sweep_dir(results_root: Path, name: str) -> Path:
    """A fresh ``sweeps/<name>/<timestamp>`` folder."""
    return new_timestamped_dir(results_root / "sweeps" / name)


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _atomic_write_table(path: Path, frame: pd.DataFrame) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp)
    os.replace(tmp, path)


class SweepStore:
    """Reads and writes one sweep folder."""

    def __init__(self, path: Path | str):
        self.path = Path(path)

    # ------------------------------------------------------------------ writing

    def write_design(self, design: pd.DataFrame) -> None:
        """Write the points before any run starts."""
        _atomic_write_table(self.path / DESIGN_FILE, design)

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """Replace the manifest."""
        _atomic_write_bytes(self.path / MANIFEST_FILE, json.dumps(manifest, indent=2, default=str).encode())

    def next_part(self) -> int:
        """The number of the next part: one more than any part on disk."""
        numbers = [int(m[1]) for d in (RUNS_DIR, TIMESERIES_DIR) for m in self._parts(d)]
        return max(numbers, default=-1) + 1

    def write_batch(
        self, part: int, runs: pd.DataFrame, timeseries: pd.DataFrame | None, failures: list[dict[str, Any]]
    ) -> None:
        """Commit a finished batch: time series, then failures, then the runs part."""
        name = f"part-{part:05d}.parquet"
        if timeseries is not None and len(timeseries):
            (self.path / TIMESERIES_DIR).mkdir(exist_ok=True)
            _atomic_write_table(self.path / TIMESERIES_DIR / name, timeseries)
        if failures:
            with open(self.path / FAILURES_FILE, "a") as out:
                out.write("".join(json.dumps(f, default=str) + "\n" for f in failures))
                out.flush()
                os.fsync(out.fileno())
        if len(runs):
            (self.path / RUNS_DIR).mkdir(exist_ok=True)
            _atomic_write_table(self.path / RUNS_DIR / name, runs)

    def clean(self) -> None:
        """Before resuming: drop temporary files, torn failure lines and time series without runs."""
        for tmp in self.path.rglob(".*.tmp"):
            tmp.unlink()
        committed = {m[0] for m in self._parts(RUNS_DIR)}
        for m in self._parts(TIMESERIES_DIR):
            if m[0] not in committed:
                (self.path / TIMESERIES_DIR / m[0]).unlink()
        failures = self.path / FAILURES_FILE
        if failures.exists():
            kept = [json.dumps(f) + "\n" for f in self.failures()]
            _atomic_write_bytes(failures, "".join(kept).encode())

    # ------------------------------------------------------------------ reading

    def manifest(self) -> dict[str, Any]:
        """The manifest."""
        return json.loads((self.path / MANIFEST_FILE).read_text())

    def design(self) -> pd.DataFrame:
        """The points."""
        return pd.read_parquet(self.path / DESIGN_FILE)

    def failures(self) -> list[dict[str, Any]]:
        """Failure records; a line torn by a kill is skipped."""
        path = self.path / FAILURES_FILE
        if not path.exists():
            return []
        records = []
        for line in path.read_text().splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return records

    def dataset(self, kind: str) -> ds.Dataset | None:
        """The runs or timeseries parts as one pyarrow dataset; None before the first part."""
        folder = self.path / kind
        if not any(self._parts(kind)):
            return None
        return ds.dataset(folder, format="parquet")

    def finished_run_ids(self) -> set[int]:
        """Ids of runs that finished, with results or a failure."""
        done = {int(f[RUN_ID]) for f in self.failures()}
        runs = self.dataset(RUNS_DIR)
        if runs is not None:
            done.update(runs.to_table(columns=[RUN_ID]).column(RUN_ID).to_pylist())
        return done

    def _parts(self, kind: str) -> list[re.Match[str]]:
        folder = self.path / kind
        if not folder.is_dir():
            return []
        return sorted((m for p in folder.iterdir() if (m := PART.match(p.name))), key=lambda m: m[0])
