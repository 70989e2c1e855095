"""exportsim: an agent-based simulation of export-control enforcement on AI chips.

from sim import load_config, run
result = run(load_config(["scenario=crackdown_singapore", "seed=7"]))
result.timeseries, result.summary

``import sim`` stays light: Hydra loads when a config is first composed (``load_config``), Mesa
and the compiled decision rule when one is first run.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from sim.config import Config
from sim.run import RunResult, run
from sim.schema import ConfigError

if TYPE_CHECKING:
    from sim.loading import load_config

__all__ = ["Config", "ConfigError", "RunResult", "load_config", "run"]


def __getattr__(name: str) -> Any:
    """Import ``load_config`` (and with it Hydra) on first use."""
    if name != "load_config":
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    return import_module("sim.loading").load_config
