"""A sweep's folder on disk, written as runs finish so that a killed sweep loses nothing.

Layout::

    design.parquet            one row per point, written before any run
    manifest.json             experiment, SALib problem, counts, provenance
    runs/part-NNNNN.parquet   one row per finished run (ids, seed, metrics), one part a batch
    timeseries/part-NNNNN.parquet   the same runs' monthly rows, with run_id
    checksums/<kind>/<part>.sha256   the SHA-256 of each part's bytes
    failures.jsonl            one line per failed run: ids, seed, settings, error
    .lock                     held by the one process writing the sweep
    quarantine/               damaged parts, moved aside on resume (their runs are redone)

Every Parquet part is written to a hidden temporary file, its checksum recorded, and renamed,
so a part is either whole or absent. A batch's time-series part is written first and its runs
part last: a run counts as finished once it is in a runs part (or in failures.jsonl). Reading
verifies every part against its checksum and run ids for duplicates; files that are not parts
are ignored with a warning.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shlex
import shutil
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from sim.results import new_timestamped_dir
from sim.schema import ConfigError
from sim.sweep.designs import RUN_ID

DESIGN_FILE = "design.parquet"
MANIFEST_FILE = "manifest.json"
FAILURES_FILE = "failures.jsonl"
RUNS_DIR = "runs"
TIMESERIES_DIR = "timeseries"
LOCK_FILE = ".lock"
QUARANTINE_DIR = "quarantine"
CHECKSUMS_DIR = "checksums"
CHECKSUM_SUFFIX = ".sha256"
PART = re.compile(r"^part-(\d{5,})\.parquet$")


class DamagedSweep(ConfigError):
    """A sweep folder whose parts fail their checksums or repeat run ids; the message says which."""


def resume_command(path: Path) -> str:
    """The command that continues the sweep in ``path``, quoted for a shell (a path may hold spaces)."""
    return f"python -m sim.sweep {shlex.quote(f'resume={path.resolve()}')}"


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


def file_sha256(path: Path | str) -> str | None:
    """SHA-256 of a file's bytes, read in blocks; None when it cannot be read."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as data:
            for block in iter(lambda: data.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def _checksum_path(part: Path) -> Path:
    """Where a part's checksum lives: ``<sweep>/checksums/<kind>/<part>.sha256``."""
    return part.parent.parent / CHECKSUMS_DIR / part.parent.name / (part.name + CHECKSUM_SUFFIX)


def _write_part(path: Path, frame: pd.DataFrame) -> None:
    """Write a part atomically, its checksum first (a checksum without its part is cleaned away)."""
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp)
    _checksum_path(path).parent.mkdir(parents=True, exist_ok=True)
    _atomic_write_bytes(_checksum_path(path), str(file_sha256(tmp)).encode())
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
            _write_part(self.path / TIMESERIES_DIR / name, timeseries)
        if failures:
            with open(self.path / FAILURES_FILE, "a") as out:
                out.write("".join(json.dumps(f, default=str) + "\n" for f in failures))
                out.flush()
                os.fsync(out.fileno())
        if len(runs):
            (self.path / RUNS_DIR).mkdir(exist_ok=True)
            _write_part(self.path / RUNS_DIR / name, runs)

    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        """Hold the sweep's exclusive writer lock (released when the process ends, however it ends).

        Raises:
            ConfigError: Another process holds it; the message names that process.
        """
        path = self.path / LOCK_FILE
        handle = open(path, "a+")  # noqa: SIM115 - held open for the lock's lifetime
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise ConfigError(
                f"{self.path}: this sweep is being written by {holder}; wait for it to end (or stop it), then resume"
            ) from None
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"process {os.getpid()} since {datetime.now(UTC).isoformat(timespec='seconds')}")
            handle.flush()
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()

    def clean(self) -> list[str]:
        """Before resuming: quarantine damaged parts, drop leftovers of a kill.

        Leftovers are temporary files, torn failure lines, checksums without parts and time
        series without runs.

        Returns:
            The parts quarantined (``runs/part-00003.parquet``, ...); their runs will be redone.
        """
        for tmp in self.path.rglob(".*.tmp"):
            tmp.unlink()
        quarantined = self._quarantine(self.damaged_parts())
        if not self.has_checksums():  # adopt the parts of a sweep written before checksums, unverified
            for kind in (RUNS_DIR, TIMESERIES_DIR):
                for m in self._parts(kind):
                    part = self.path / kind / m[0]
                    _checksum_path(part).parent.mkdir(parents=True, exist_ok=True)
                    _atomic_write_bytes(_checksum_path(part), str(file_sha256(part)).encode())
            (self.path / CHECKSUMS_DIR).mkdir(exist_ok=True)
        for kind in (RUNS_DIR, TIMESERIES_DIR):
            for checksum in (self.path / CHECKSUMS_DIR / kind).glob(f"*{CHECKSUM_SUFFIX}"):
                if not (self.path / kind / checksum.name.removesuffix(CHECKSUM_SUFFIX)).exists():
                    checksum.unlink()
        committed = {m[0] for m in self._parts(RUNS_DIR)}
        for m in self._parts(TIMESERIES_DIR):
            if m[0] not in committed:
                self._remove_part(self.path / TIMESERIES_DIR / m[0])
        failures = self.path / FAILURES_FILE
        if failures.exists():
            kept = [json.dumps(f) + "\n" for f in self.failures()]
            _atomic_write_bytes(failures, "".join(kept).encode())
        return quarantined

    def damaged_parts(self) -> list[str]:
        """Damaged parts, as paths relative to the sweep.

        A part is damaged when its bytes do not match its checksum (or it has none), or when it
        is a runs part repeating a run id of an earlier part. A sweep written before checksums
        existed (no ``checksums/`` folder) is checked for repeated run ids only, with a warning.
        """
        damaged = []
        if self.has_checksums():
            for kind in (RUNS_DIR, TIMESERIES_DIR):
                for m in self._parts(kind):
                    part = self.path / kind / m[0]
                    checksum = _checksum_path(part)
                    if not checksum.exists() or checksum.read_text().strip() != file_sha256(part):
                        damaged.append(f"{kind}/{m[0]}")
        else:
            warnings.warn(
                f"{self.path}: written before sweeps had checksums; its parts cannot be verified", stacklevel=2
            )
        seen: set[int] = set()
        for m in self._parts(RUNS_DIR):
            if f"{RUNS_DIR}/{m[0]}" in damaged:
                continue
            ids = pq.read_table(self.path / RUNS_DIR / m[0], columns=[RUN_ID]).column(RUN_ID).to_pylist()
            if seen.intersection(ids) or len(set(ids)) < len(ids):
                damaged.append(f"{RUNS_DIR}/{m[0]}")
            seen.update(ids)
        return damaged

    def has_checksums(self) -> bool:
        """Whether the sweep records its parts' checksums (sweeps written before they existed do not)."""
        return (self.path / CHECKSUMS_DIR).is_dir() or not any(self._parts(RUNS_DIR))

    def verify(self) -> None:
        """Check every part before reading.

        Raises:
            DamagedSweep: Some parts fail their checksums or repeat run ids (named in the message).
        """
        damaged = self.damaged_parts()
        if damaged:
            raise DamagedSweep(
                f"{self.path}: {len(damaged)} damaged part(s) ({', '.join(damaged)}): their bytes do not match "
                "their checksums or they repeat runs already stored; resume the sweep to quarantine them and "
                "redo their runs"
            )

    def _quarantine(self, parts: list[str]) -> list[str]:
        """Move damaged parts (and the other half of their batch) to ``quarantine/``."""
        for relative in parts:
            name = Path(relative).name
            for kind in (RUNS_DIR, TIMESERIES_DIR):
                part = self.path / kind / name
                if part.exists():
                    target = self.path / QUARANTINE_DIR / kind
                    target.mkdir(parents=True, exist_ok=True)
                    shutil.move(part, target / name)
                    if _checksum_path(part).exists():
                        shutil.move(_checksum_path(part), target / _checksum_path(part).name)
        return parts

    def _remove_part(self, part: Path) -> None:
        part.unlink()
        _checksum_path(part).unlink(missing_ok=True)

    # ------------------------------------------------------------------ reading

    def manifest(self) -> dict[str, Any]:
        """The manifest.

        Raises:
            DamagedSweep: It is missing or unreadable.
        """
        try:
            return json.loads((self.path / MANIFEST_FILE).read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DamagedSweep(
                f"{self.path}: cannot read {MANIFEST_FILE} ({exc}); the sweep folder is damaged"
            ) from None

    def design(self) -> pd.DataFrame:
        """The points.

        Raises:
            DamagedSweep: The design file is missing or unreadable.
        """
        try:
            return pd.read_parquet(self.path / DESIGN_FILE)
        except (OSError, pa.ArrowException) as exc:
            raise DamagedSweep(
                f"{self.path}: cannot read {DESIGN_FILE} ({type(exc).__name__}: {exc}); the sweep folder is damaged"
            ) from None

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
        parts = self._parts(kind)
        if not parts:
            return None
        return ds.dataset([str(self.path / kind / m[0]) for m in parts], format="parquet")

    def finished_run_ids(self) -> set[int]:
        """Ids of runs that finished, with results or a failure."""
        done = {int(f[RUN_ID]) for f in self.failures()}
        runs = self.dataset(RUNS_DIR)
        if runs is not None:
            done.update(runs.to_table(columns=[RUN_ID]).column(RUN_ID).to_pylist())
        return done

    def _parts(self, kind: str) -> list[re.Match[str]]:
        """The parts of a folder in order; other files are ignored with a warning."""
        folder = self.path / kind
        if not folder.is_dir():
            return []
        names = [p.name for p in folder.iterdir() if not p.name.startswith(".")]
        stray = [n for n in names if not PART.match(n)]
        if stray:
            warnings.warn(
                f"{folder}: ignoring files that are not sweep parts: {', '.join(sorted(stray))}", stacklevel=2
            )
        return sorted((m for n in names if (m := PART.match(n))), key=lambda m: m[0])
