"""exportsim: an agent-based simulation of export-control enforcement on AI chips.

from sim import load_config, run
result = run(load_config(["scenario=crackdown_singapore", "seed=7"]))
result.timeseries, result.summary
"""

from sim.config import Config
from sim.loading import load_config
from sim.run import RunResult, run
from sim.schema import ConfigError

__all__ = ["Config", "ConfigError", "RunResult", "load_config", "run"]
