"""Writing a run's files and reading them back."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from sim.config import Config
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


def manifest(config: Config, wall_time_s: float) -> dict[str, Any]:
    """Provenance of one run: versions, commit, seed, config hash and wall time."""
    return {
        "scenario": config.name,
        "seed": config.seed,
        "config_hash": config.config_hash(),
        "git_commit": git_commit(),
        "packages": package_versions(),
        "wall_time_s": round(wall_time_s, 4),
        "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def new_timestamped_dir(parent: Path) -> Path:
    """A fresh, writable ``<parent>/<timestamp>`` folder (suffixed if one exists this second).

    Raises:
        ConfigError: The folder cannot be made or written (before any work is done).
    """
    stamp = datetime.now().strftime("%Y-%m-%dT%H-%M-%S")
    path = parent / stamp
    n = 1
    while path.exists():
        path = parent / f"{stamp}_{n}"
        n += 1
    try:
        path.mkdir(parents=True)
        probe = path / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(
            f"cannot write results under {parent}: {exc.strerror or exc}; set paths.results to a folder you can write"
        ) from None
    return path


def _write_atomically(path: Path, data: bytes) -> None:
    """Write a file through a temporary one renamed into place: whole or absent, never torn."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def new_run_dir(results_root: Path, scenario: str) -> Path:
    """A fresh ``runs/<scenario>/<timestamp>`` folder."""
    return new_timestamped_dir(results_root / "runs" / scenario)


def write_run(result: RunResult, folder: Path | str) -> Path:
    """Write config.yaml, timeseries.parquet, summary.json and manifest.json into a folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = yaml.safe_dump(result.config.model_dump(mode="json"), sort_keys=False)
    _write_atomically(folder / "config.yaml", config.encode())
    _write_atomically(folder / "timeseries.parquet", result.timeseries.to_parquet(index=False))
    summary = {**result.summary, "config_hash": result.config.config_hash()}
    _write_atomically(folder / "summary.json", json.dumps(summary, indent=2, allow_nan=True).encode())
    provenance = manifest(result.config, result.wall_time_s)
    _write_atomically(folder / "manifest.json", json.dumps(provenance, indent=2).encode())
    return folder


def read_run(folder: Path | str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The time series and summary of a written run."""
    folder = Path(folder)
    return pd.read_parquet(folder / "timeseries.parquet"), json.loads((folder / "summary.json").read_text())
