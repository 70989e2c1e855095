"""The experiment file: what a sweep runs, validated before any run starts.

An experiment names a base scenario, a design over config paths split into levers (policies)
and uncertainties (behaviour, markets), the replications per point, a sweep seed and the
executor. Files live in ``configs/experiment/<name>.yaml``; command-line overrides
(``replications=2 executor.workers=1``) change their keys. Every mistake is one
:class:`~sim.loading.ConfigError` naming the key and what is allowed.
"""

from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.config import Config
from sim.loading import CONFIG_DIR, ConfigError, check_path, group_options, load_config

EXPERIMENT_DIR = CONFIG_DIR / "experiment"
FACTOR_SECTIONS = ("levers", "uncertainties")
#: A factor named ``scenario`` picks the base scenario itself (factorial designs only).
SCENARIO_FACTOR = "scenario"
#: Config keys a design may not set: the sweep sets the seed, the rest are not model inputs.
RESERVED_PATHS = ("seed", "name", "description", "timeline", "paths")


class Schema(BaseModel):
    """Base of the experiment sections: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DesignKind(StrEnum):
    """How points are chosen."""

    FACTORIAL = "factorial"
    LHS = "lhs"
    SOBOL = "sobol"
    MORRIS = "morris"


class ExecutorKind(StrEnum):
    """Where runs execute."""

    LOCAL = "local"
    DASK = "dask"
    SERIAL = "serial"


class Range(Schema):
    """A continuous range sampled by the lhs, sobol and morris designs."""

    low: float = Field(description="Lower bound, inclusive.")
    high: float = Field(description="Upper bound.")


class Design(Schema):
    """The design over the factors."""

    kind: DesignKind = Field(description="factorial, lhs, sobol or morris.")
    samples: int = Field(
        0,
        ge=0,
        description="lhs: points; sobol: base samples N (a power of 2); morris: trajectories. Unused by factorial.",
    )
    second_order: bool = Field(False, description="sobol: also sample for second-order indices.")
    levels: int = Field(4, ge=2, description="morris: levels of the grid.")


class Executor(Schema):
    """Where and how runs execute."""

    kind: ExecutorKind = Field(ExecutorKind.LOCAL, description="local processes, a dask cluster, or serial.")
    workers: int | None = Field(None, ge=1, description="Local or LocalCluster workers; null for every core.")
    address: str | None = Field(None, description="dask scheduler address; null starts a LocalCluster.")
    batch_size: int | None = Field(None, ge=1, description="Runs per task; null picks 1-50 from the sweep size.")


class Experiment(Schema):
    """A sweep: a design over levers and uncertainties, replicated, on one base config."""

    name: str = Field(description="Experiment name; results go under results/sweeps/<name>/.")
    description: str = Field("", description="What the experiment asks.")
    scenario: str = Field("baseline", description="Base scenario, a file of configs/scenario.")
    overrides: list[str] = Field(default_factory=list, description="Hydra overrides of the base config.")
    design: Design = Field(description="How points are chosen.")
    levers: dict[str, list[Any] | Range] = Field(
        default_factory=dict, description="Policy factors: config path to values (factorial) or range."
    )
    uncertainties: dict[str, list[Any] | Range] = Field(
        default_factory=dict, description="Behaviour and world factors, as levers."
    )
    replications: int = Field(1, ge=1, description="Runs per point, each with its own seed.")
    seed: int = Field(0, ge=0, description="Sweep seed; each run's seed derives from it and the run id.")
    timeseries: bool = Field(True, description="Store each run's monthly time series.")
    executor: Executor = Field(default_factory=Executor, description="Where runs execute.")

    @model_validator(mode="after")
    def _factors_fit_design(self) -> Experiment:
        factors = self.factors
        if not factors:
            raise ValueError("the design has no factors: add config paths under levers or uncertainties")
        both = sorted(set(self.levers) & set(self.uncertainties))
        if both:
            raise ValueError(f"{', '.join(both)}: a factor is either a lever or an uncertainty, not both")
        kind = self.design.kind
        for section in FACTOR_SECTIONS:
            for path, spec in getattr(self, section).items():
                where = f"{section}.{path}"
                if kind is DesignKind.FACTORIAL:
                    _check_values(where, spec)
                else:
                    _check_range(where, spec, kind)
        if kind is not DesignKind.FACTORIAL and self.design.samples < 1:
            raise ValueError(f"design.samples must be >= 1 for a {kind} design")
        if kind is DesignKind.SOBOL and self.design.samples & (self.design.samples - 1):
            raise ValueError(
                f"design.samples = {self.design.samples}: a sobol design needs a power of 2 "
                f"(e.g. {2 ** round(math.log2(self.design.samples))})"
            )
        return self

    @property
    def factors(self) -> dict[str, list[Any] | Range]:
        """Levers then uncertainties, in file order."""
        return {**self.levers, **self.uncertainties}

    @property
    def scenarios(self) -> list[str]:
        """Every base scenario the design runs: the factor's values, or the experiment's one."""
        values = self.factors.get(SCENARIO_FACTOR)
        return list(values) if isinstance(values, list) else [self.scenario]


def _check_values(where: str, spec: list[Any] | Range) -> None:
    if isinstance(spec, Range):
        raise ValueError(f"{where}: a factorial design needs a list of values, not a range")
    if not spec:
        raise ValueError(f"{where}: empty list of values")
    if len({yaml.safe_dump(v) for v in spec}) < len(spec):
        raise ValueError(f"{where}: repeated values {spec}")


def _check_range(where: str, spec: list[Any] | Range, kind: DesignKind) -> None:
    if not isinstance(spec, Range):
        raise ValueError(f"{where}: a {kind} design needs a range {{low: ..., high: ...}}, not a list")
    if spec.low > spec.high:
        raise ValueError(f"{where}: lower bound {spec.low} > upper bound {spec.high}")
    if spec.low == spec.high:
        raise ValueError(f"{where}: empty range, low = high = {spec.low}")


def experiment_path(name: str) -> Path:
    """The file of an experiment given by name (``configs/experiment/<name>.yaml``) or path."""
    if name.endswith((".yaml", ".yml")) or "/" in name:
        return Path(name)
    return EXPERIMENT_DIR / f"{name}.yaml"


def experiment_names() -> list[str]:
    """Names of the shipped experiments."""
    return sorted(p.stem for p in EXPERIMENT_DIR.glob("*.yaml"))


def apply_override(data: dict[str, Any], line: str) -> None:
    """Set one ``key=value`` override (value read as YAML) in a raw experiment dict.

    Under ``levers`` and ``uncertainties`` the keys are dotted config paths, so
    ``levers.policy.penalties.seizure=[true,false]`` sets that factor and
    ``uncertainties.behaviour.temperature.high=0.5`` one bound of a range.
    """
    key, sep, raw = line.partition("=")
    if not sep or not key:
        raise ConfigError(f"{line!r}: expected key=value")
    value = yaml.safe_load(raw)
    parts = key.split(".")
    if parts[0] in FACTOR_SECTIONS and len(parts) > 1:
        section = data.get(parts[0]) or {}
        data[parts[0]] = section
        rest = ".".join(parts[1:])
        for name in sorted(section, key=len, reverse=True):
            if rest.startswith(name + ".") and isinstance(section[name], dict):
                section[name][rest[len(name) + 1 :]] = value
                return
        section[rest] = value
        return
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"{line!r}: {part} has no sub-keys")
    node[parts[-1]] = value


def load_experiment(name: str, overrides: list[str] | None = None) -> Experiment:
    """Read, override and validate an experiment file.

    Args:
        name: A name in ``configs/experiment`` or a path to a YAML file.
        overrides: ``key=value`` changes of experiment keys.

    Returns:
        The validated experiment; its config paths are checked by :func:`check_experiment`.

    Raises:
        ConfigError: The file is missing or a key or value is not allowed.
    """
    path = experiment_path(name)
    if not path.is_file():
        raise ConfigError(f"experiment {name!r}: no file {path}; shipped: {', '.join(experiment_names())}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"experiment {path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"experiment {path}: expected a mapping of keys, got {type(data).__name__}")
    data.setdefault("name", path.stem)
    for line in overrides or []:
        apply_override(data, line)
    return parse_experiment(data, str(path))


def parse_experiment(data: dict[str, Any], source: str = "experiment") -> Experiment:
    """Validate a raw experiment dict, with one user message for every problem."""
    try:
        return Experiment.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"invalid experiment {source}: {_format(exc)}") from None


def _format(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith(("list[", "Range")))
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            parent = _section_model(err["loc"][:-1])
            msg = f"unknown key; valid keys there: {', '.join(parent.model_fields)}"
        lines.append(f"{loc}: {msg}." if loc else f"{msg}.")
    return " ".join(dict.fromkeys(lines))


def _section_model(loc: tuple) -> type[BaseModel]:
    model: type[BaseModel] = Experiment
    for part in loc:
        annotation = model.model_fields.get(str(part))
        if annotation is None or not isinstance(annotation.annotation, type):
            break
        if issubclass(annotation.annotation, BaseModel):
            model = annotation.annotation
    return model


def base_configs(experiment: Experiment) -> dict[str, Config]:
    """Compose the base config of every scenario the experiment runs, once each.

    Raises:
        ConfigError: A scenario or base override does not exist.
    """
    bases = {}
    for scenario in experiment.scenarios:
        if scenario not in group_options("scenario"):
            raise ConfigError(
                f"scenario {scenario!r}: unknown scenario; allowed: {', '.join(group_options('scenario'))}"
            )
        bases[scenario] = load_config([f"scenario={scenario}", *experiment.overrides])
    return bases


def check_experiment(experiment: Experiment, bases: dict[str, Config]) -> None:
    """Check that every factor names a settable config value of the right kind.

    Raises:
        ConfigError: A path does not exist, is a section, is reserved, or a range is not numeric.
    """
    base = next(iter(bases.values())).model_dump(mode="python")
    for section in FACTOR_SECTIONS:
        for path, spec in getattr(experiment, section).items():
            where = f"{section}.{path}"
            if path == SCENARIO_FACTOR:
                if isinstance(spec, Range):
                    raise ConfigError(f"{where}: the scenario is a choice; give a list of scenario names")
                continue
            if path.split(".")[0] in RESERVED_PATHS:
                raise ConfigError(f"{where}: {path.split('.')[0]} cannot be a factor; the sweep sets it")
            check_path(base, path, where)
            node: Any = base
            for part in path.split("."):
                node = node[part]
            if isinstance(node, dict | list):
                raise ConfigError(f"{where}: {path} is a section, not a value; name one of its keys")
            if isinstance(spec, Range) and (isinstance(node, bool) or not isinstance(node, int | float)):
                raise ConfigError(
                    f"{where}: a range needs a numeric config value; {path} is {node!r} in the base config"
                )
