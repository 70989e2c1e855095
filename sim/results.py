"""Writing a run's files and reading them back."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import platform
import re
import subprocess
import tempfile
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from sim.config import Config
from sim.intervals import CONFIDENCE, clip_bounds, mean_ci, never_negative
from sim.run import RunResult
from sim.schema import ConfigError

PACKAGES = ("exportsim", "mesa", "numpy", "pandas", "pyarrow", "pydantic", "hydra-core", "matplotlib")
REPO_DIR = Path(__file__).resolve().parent.parent


def package_versions() -> dict[str, str]:
    """Installed versions of the packages a result depends on."""
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def code_hash() -> str:
    """SHA-256 of the model's source (every ``.py`` file under ``sim/``), in path order."""
    digest = hashlib.sha256()
    package = REPO_DIR / "sim"
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def git_commit() -> str | None:
    """The project's git commit, with ``-dirty`` if the work tree has changes; None outside git."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO_DIR), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO_DIR), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("-dirty" if dirty else "")


def manifest(config: Config, wall_time_s: float, overrides: list[str] | None = None) -> dict[str, Any]:
    """Provenance of one run: versions, commit, seed, config hash, wall time and the overrides given."""
    return {
        "scenario": config.name,
        "seed": config.seed,
        **({"overrides": list(overrides)} if overrides is not None else {}),
        "config_hash": config.config_hash(),
        "git_commit": git_commit(),
        "packages": package_versions(),
        "wall_time_s": round(wall_time_s, 4),
        "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def new_timestamped_dir(parent: Path, suffix: str = "") -> Path:
    """A fresh, writable ``<parent>/<timestamp>[_<suffix>]`` folder (numbered if one exists this second).

    Raises:
        ConfigError: The folder cannot be made or written (before any work is done).
    """
    stamp = datetime.now().strftime("%Y-%m-%dT%H-%M-%S")
    tail = f"_{suffix}" if suffix else ""
    for n in itertools.count():
        path = parent / (f"{stamp}{tail}" if n == 0 else f"{stamp}_{n}{tail}")
        try:
            path.mkdir(parents=True)  # made by this process alone, whatever else starts this second
            break
        except FileExistsError:
            continue
        except OSError as exc:
            raise ConfigError(
                f"cannot write results under {parent}: {exc.strerror or exc}; "
                "set paths.results to a folder you can write"
            ) from None
    check_writable(path, "set paths.results to a folder you can write")
    return path


def check_writable(folder: Path, remedy: str) -> None:
    """Raise :class:`ConfigError` naming ``folder`` and ``remedy`` unless a file can be written in it.

    A folder not made yet is checked where it would be made: in the nearest folder above it that
    exists. Nothing is left behind.
    """
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    try:
        with tempfile.TemporaryFile(dir=existing):  # a name of its own: sweeps starting together do not clash
            pass
    except OSError as exc:
        raise ConfigError(f"cannot write results under {folder}: {exc.strerror or exc}; {remedy}") from None


def _write_atomically(path: Path, data: bytes) -> None:
    """Write a file through a temporary one renamed into place: whole or absent, never torn."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


#: Longest folder suffix spelling out the changes; longer lists are named by a short hash.
MAX_CHANGES_CHARS = 100


def changes_hash(changes: list[str]) -> str:
    """A short stable hash of a list of overrides (8 hex digits)."""
    return hashlib.sha256("\n".join(changes).encode()).hexdigest()[:8]


def changes_slug(changes: list[str]) -> str:
    """The overrides as a folder-name suffix (``policy=strict,months=24``), or ``changes-<hash>`` when long.

    Within an override a comma becomes ``+`` (``seeds=1+5+9``) and other characters than letters,
    digits and ``_ . = + -`` become ``-``; '' without changes.
    """
    if not changes:
        return ""
    slug = ",".join(re.sub(r"[^A-Za-z0-9_.=+-]", "-", change.replace(",", "+")) for change in changes)
    return slug if len(slug) <= MAX_CHANGES_CHARS else f"changes-{changes_hash(changes)}"


def new_run_dir(results_root: Path, scenario: str, changes: list[str] | None = None) -> Path:
    """A fresh ``runs/<scenario>/<timestamp>[_<changes>]`` folder; the suffix says what was changed."""
    return new_timestamped_dir(results_root / "runs" / scenario, changes_slug(changes or []))


def write_run(result: RunResult, folder: Path | str, overrides: list[str] | None = None) -> Path:
    """Write config.yaml, timeseries.parquet, summary.json and manifest.json into a folder.

    Args:
        result: The run.
        folder: Where to write (made if missing).
        overrides: The overrides the run was given, recorded in manifest.json.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = yaml.safe_dump(result.config.model_dump(mode="json"), sort_keys=False)
    _write_atomically(folder / "config.yaml", config.encode())
    _write_atomically(folder / "timeseries.parquet", result.timeseries.to_parquet(index=False))
    summary = {**result.summary, "config_hash": result.config.config_hash()}
    standard = {key: None if isinstance(v, float) and math.isnan(v) else v for key, v in summary.items()}
    _write_atomically(folder / "summary.json", json.dumps(standard, indent=2, allow_nan=False).encode())
    provenance = manifest(result.config, result.wall_time_s, overrides)
    _write_atomically(folder / "manifest.json", json.dumps(provenance, indent=2).encode())
    return folder


def read_summary(folder: Path | str) -> dict[str, Any]:
    """A written run's summary.json, with NaN for the nulls it writes for values that are not defined.

    (A detection rate with no attempt to detect is ``null`` in the file: JSON has no NaN.)
    """
    summary = json.loads((Path(folder) / "summary.json").read_text())
    return {key: math.nan if value is None else value for key, value in summary.items()}


def read_run(folder: Path | str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The time series and summary of a written run."""
    return pd.read_parquet(Path(folder) / "timeseries.parquet"), read_summary(folder)


def seeds_table(results: list[RunResult]) -> pd.DataFrame:
    """One row per run (seed) with its summary metrics."""
    return pd.DataFrame([r.summary for r in results])


def interval_table(results: list[RunResult], confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Mean of every summary metric over the runs, with a t-based confidence interval of the mean.

    Returns:
        One row per metric, in the summary's order: ``metric``, ``n`` (runs with a value; NaN left
        out), ``mean``, ``std``, ``ci_low`` and ``ci_high`` (NaN with fewer than two values; clipped
        to what the metric can take, :func:`sim.intervals.clip_bounds`).
    """
    frame = seeds_table(results).drop(columns=["seed"])
    metrics = list(frame.columns)
    long = frame.melt(var_name="metric", value_name="value")
    long["metric"] = pd.Categorical(long["metric"], categories=metrics)
    table = mean_ci(long, ["metric"], "value", confidence)
    table["metric"] = table["metric"].astype(str)
    return clip_bounds(table, table["metric"], never_negative(frame, metrics))


def write_replications(results: list[RunResult], folder: Path | str, overrides: list[str] | None = None) -> Path:
    """Write each seed's run into ``seed_<seed>/`` and, beside them, seeds.csv and summary.csv.

    seeds.csv has one row per seed (its summary metrics); summary.csv one row per metric: its mean
    over every seed and the 95% t interval of that mean.
    """
    folder = Path(folder)
    for result in results:
        write_run(result, folder / f"seed_{result.config.seed}", overrides)
    _write_atomically(folder / "seeds.csv", seeds_table(results).to_csv(index=False).encode())
    _write_atomically(folder / "summary.csv", interval_table(results).to_csv(index=False).encode())
    return folder
