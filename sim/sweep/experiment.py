"""The experiment file: what a sweep runs, validated before any run starts.

An experiment names a base scenario, a design over config paths split into levers (policies)
and uncertainties (behaviour, markets), the replications per point, a sweep seed and the
executor. Files live in ``configs/experiment/<name>.yaml``; Hydra composes them with
command-line overrides in its own grammar (``replications=2 executor.workers=1
+levers.policy.penalties.seizure=[true,false]``), as ``python -m sim`` does for run configs.
Every mistake is one :class:`~sim.schema.ConfigError` naming the key and what is allowed.
"""

from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import yaml
from hydra import compose, initialize
from hydra.core.config_store import ConfigStore
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException
from pydantic import BaseModel, Discriminator, PrivateAttr, Tag, ValidationError, model_validator
from pydantic_core import to_jsonable_python

from sim.config import Config
from sim.loading import CONFIG_DIR, check_path, group_options, load_config
from sim.schema import (
    PATTERN_RULES,
    ConfigError,
    PlainName,
    Schema,
    SettingsError,
    field,
    format_validation_error,
    inner_model,
    suggest,
    with_settings,
)

EXPERIMENT_DIR = CONFIG_DIR / "experiment"
FACTOR_SECTIONS = ("levers", "uncertainties")
SCHEDULER_ADDRESS = r"^(tcp|tls|ucx|inproc|ws|wss)://\S+$"
PATTERN_RULES[SCHEDULER_ADDRESS] = "expected a Dask scheduler address such as tcp://host:8786"

#: Sweeps larger than this, or with more local workers per core, need ``confirm=true``.
LARGE_SWEEP_RUNS = 1_000_000
WORKERS_PER_CORE = 4

#: A factor named ``scenario`` picks the base scenario itself (factorial designs only).
SCENARIO_FACTOR = "scenario"
#: Config keys a design may not set: the sweep sets the seed, the rest are not model inputs.
RESERVED_PATHS = ("seed", "name", "description", "timeline", "paths")
#: Name under which an experiment is put in Hydra's config store to be composed.
COMPOSED_NAME = "exportsim_experiment"


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

    low: float = field("Lower bound, inclusive.")
    high: float = field("Upper bound.")


def _factor_kind(value: Any) -> str | None:
    """The union member a factor's spec belongs to (tags named so the error formatter skips them)."""
    if isinstance(value, dict | Range):
        return "Range"
    return "list[values]" if isinstance(value, list) else None


#: A factor: a list of values (factorial designs) or a range (sampled designs).
Factor = Annotated[
    Annotated[list[Any], Tag("list[values]")] | Annotated[Range, Tag("Range")],
    Discriminator(
        _factor_kind,
        custom_error_type="factor",
        custom_error_message="a factor is a list of values or a range {low: ..., high: ...}",
    ),
]


class Design(Schema):
    """The design over the factors."""

    kind: DesignKind = field("factorial, lhs, sobol or morris.")
    samples: int = field(
        "lhs: points; sobol: base samples N (a power of 2); morris: trajectories. Unused by factorial.",
        default=0,
        ge=0,
    )
    second_order: bool = field("sobol: also sample for second-order indices.", default=False)
    levels: int = field("morris: levels of the grid.", default=4, ge=2)


class Executor(Schema):
    """Where and how runs execute."""

    kind: ExecutorKind = field("local processes, a dask cluster, or serial.", default=ExecutorKind.LOCAL)
    workers: int | None = field("Local or LocalCluster workers; null for every core.", default=None, ge=1)
    address: str | None = field(
        "dask scheduler address (tcp://host:port, tls://..., ucx://...); null starts a LocalCluster.",
        default=None,
        pattern=SCHEDULER_ADDRESS,
    )
    batch_size: int | None = field("Runs per task; null picks 1-50 from the sweep size.", default=None, ge=1)
    retries: int = field(
        "Times a run whose worker process died is retried alone before it is recorded as failed.",
        default=1,
        ge=0,
        le=10,
    )

    @model_validator(mode="after")
    def _address_is_for_dask(self) -> Executor:
        if self.address is not None and self.kind is not ExecutorKind.DASK:
            raise ValueError(
                f"address {self.address!r} is a dask scheduler's, but kind is {self.kind.value!r}: "
                "set kind: dask to use it, or leave address out"
            )
        return self


class ReportOptions(Schema):
    """How ``python -m sim.report`` treats the factors a figure does not show."""

    pool: list[str] = field(
        "Factors the figures average over within each replication (marginal means, labelled as such); "
        "the other factors a figure does not show are held.",
        default_factory=list,
    )
    hold: dict[str, Any] = field(
        "Values to hold factors at when a figure does not show them (default: each one's first value).",
        default_factory=dict,
    )
    metrics: list[str] = field(
        "Run metrics the heatmaps show, a panel each (default: access_ratio and detection_rate).",
        default_factory=list,
    )


class Experiment(Schema):
    """A sweep: a design over levers and uncertainties, replicated, on one base config."""

    name: PlainName = field("Experiment name; results go under results/sweeps/<name>/.")
    description: str = field("What the experiment asks.", default="")
    scenario: str = field("Base scenario, a file of configs/scenario.", default="baseline")
    overrides: list[str] = field("Hydra overrides of the base config.", default_factory=list)
    design: Design = field("How points are chosen.")
    levers: dict[str, Factor] = field(
        "Policy factors: dotted config path to values (factorial) or range.", default_factory=dict
    )
    uncertainties: dict[str, Factor] = field("Behaviour and world factors, as levers.", default_factory=dict)
    replications: int = field(
        "Runs per point; replication r has the same seed at every point (common random numbers).", default=1, ge=1
    )
    seed: int = field("Sweep seed; each run's seed derives from it and the run's replication.", default=0, ge=0)
    timeseries: bool = field("Store each run's monthly time series.", default=True)
    executor: Executor = field("Where runs execute.", default_factory=Executor)
    report: ReportOptions = field("How the report draws this experiment's figures.", default_factory=ReportOptions)
    allow_inactive: list[str] = field(
        "Factors to run although the pilot finds them inactive (no output changes between their extremes).",
        default_factory=list,
    )
    _source_file: str | None = PrivateAttr(default=None)
    confirm: bool = field(
        f"Start a sweep of more than {LARGE_SWEEP_RUNS:,} runs, or with more local workers than "
        f"{WORKERS_PER_CORE} per core.",
        default=False,
    )

    @property
    def source_file(self) -> str | None:
        """The YAML file the experiment was read from (None when built in Python)."""
        return self._source_file

    @model_validator(mode="after")
    def _factors_fit_design(self) -> Experiment:
        factors = self.factors
        if not factors:
            raise ValueError("the design has no factors: add config paths under levers or uncertainties")
        for where, names in (
            ("allow_inactive", self.allow_inactive),
            ("report.pool", self.report.pool),
            ("report.hold", list(self.report.hold)),
        ):
            unknown = [f for f in names if f not in factors]
            if unknown:
                raise ValueError(f"{where}: {unknown[0]} is not a factor; factors: {', '.join(factors)}")
        pooled_and_held = [f for f in self.report.pool if f in self.report.hold]
        if pooled_and_held:
            raise ValueError(f"report: {pooled_and_held[0]} is both in report.pool and in report.hold; pick one")
        for factor, value in self.report.hold.items():
            values = factors[factor]
            if isinstance(values, list) and not matches(pd.Series(values), value).any():
                raise ValueError(
                    f"report.hold: {factor}={value!r} is not one of its values: {', '.join(map(str, values))}"
                )
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
    def factors(self) -> dict[str, Factor]:
        """Levers then uncertainties, in file order."""
        return {**self.levers, **self.uncertainties}

    @property
    def scenarios(self) -> list[str]:
        """Every base scenario the design runs: the factor's values, or the experiment's one."""
        values = self.factors.get(SCENARIO_FACTOR)
        return list(values) if isinstance(values, list) else [self.scenario]


def matches(column: pd.Series, value: Any) -> np.ndarray:
    """Where a factor column has ``value``: numbers compared with a tolerance, anything else exactly."""
    numeric = (
        pd.api.types.is_numeric_dtype(column)
        and not pd.api.types.is_bool_dtype(column)
        and isinstance(value, int | float)
        and not isinstance(value, bool)
    )
    if numeric:
        return np.isclose(column.to_numpy(dtype=float), float(value))
    return (column == value).to_numpy()


def _check_values(where: str, spec: Factor) -> None:
    if isinstance(spec, Range):
        raise ValueError(f"{where}: a factorial design needs a list of values, not a range")
    if not spec:
        raise ValueError(f"{where}: empty list of values")
    if len({yaml.safe_dump(v) for v in spec}) < len(spec):
        raise ValueError(f"{where}: repeated values {spec}")


def _check_range(where: str, spec: Factor, kind: DesignKind) -> None:
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


def load_experiment(name: str, overrides: list[str] | None = None) -> Experiment:
    """Read an experiment file, apply Hydra overrides and validate it.

    Args:
        name: A name in ``configs/experiment`` or a path to a YAML file.
        overrides: Hydra overrides of experiment keys, e.g. ``["replications=3",
            "+levers.policy.penalties.seizure=[true,false]"]``.

    Returns:
        The validated experiment; its config paths are checked by :func:`check_experiment`.

    Raises:
        ConfigError: The file is missing or unreadable, an override cannot be parsed, or a key
            or value is not allowed.
    """
    path = experiment_path(name)
    if not path.is_file():
        shipped = experiment_names()
        raise ConfigError(
            f"experiment {name!r}: no file {path}; shipped: {', '.join(shipped)}.{suggest(name, shipped)}"
        )
    try:
        data = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"experiment {path}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start}); "
            "save the file as UTF-8"
        ) from None
    except (yaml.YAMLError, OmegaConfBaseException) as exc:
        raise ConfigError(f"experiment {path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"experiment {path}: expected a mapping of keys, got {type(data).__name__}")
    experiment = parse_experiment({"name": path.stem, **data}, overrides, str(path))
    experiment._source_file = str(path.resolve())
    return experiment


def parse_experiment(
    data: dict[str, Any], overrides: list[str] | None = None, source: str = "experiment"
) -> Experiment:
    """Compose a raw experiment with Hydra overrides and validate it.

    Hydra composes the experiment, filled in with the schema's defaults, so every override has
    Hydra's grammar; factors are nested for it (``levers.policy.penalties.seizure``) and
    flattened back to dotted config paths afterwards, in the order they were written.

    Args:
        data: Experiment keys; factors nested, dotted or both.
        overrides: Hydra overrides of experiment keys.
        source: Where the data came from, for messages.

    Raises:
        ConfigError: An override cannot be parsed or applied, or a key or value is not allowed.
    """
    overrides = list(overrides or [])
    order: dict[str, int] = {}
    tree = dict(data)
    for section in FACTOR_SECTIONS:
        if isinstance(tree.get(section), dict):
            flat = _flat_factors(tree[section], section)
            order.update({f"{section}.{path}": i for i, path in enumerate(flat)})
            tree[section] = _nest(flat, section)
    composed = _compose(_with_defaults(_defaults(Experiment), tree), overrides, source)
    for section in FACTOR_SECTIONS:
        if isinstance(composed.get(section), dict):
            flat = _flat_factors(composed[section], section)
            rank = sorted(flat, key=lambda path: order.get(f"{section}.{path}", len(order)))
            composed[section] = {path: flat[path] for path in rank}
    try:
        return Experiment.model_validate(composed)
    except ValidationError as exc:
        raise ConfigError(f"invalid experiment {source}: {format_validation_error(exc, Experiment)}") from None


def _flat_factors(tree: dict[Any, Any], section: str) -> dict[str, Any]:
    """Factors written nested or dotted, as ``{dotted config path: values or range}``.

    A leaf is anything but a mapping (a list of values), or a mapping with ``low`` or ``high``
    (a range); empty mappings (a factor removed by ``~``) are dropped.

    Raises:
        ConfigError: A path is given twice.
    """
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        path = str(key)
        if isinstance(value, dict) and not ({"low", "high"} & set(value)):
            inner = _flat_factors(value, section)
            items = {f"{path}.{sub}": spec for sub, spec in inner.items()}
        else:
            items = {path: value}
        for sub, spec in items.items():
            if sub in flat:
                raise ConfigError(f"{section}.{sub}: factor given twice")
            flat[sub] = spec
    return flat


def _nest(flat: dict[str, Any], section: str) -> dict[str, Any]:
    """Dotted factor paths as nested mappings, so that Hydra overrides reach every factor."""
    tree: dict[str, Any] = {}
    for path, spec in flat.items():
        parts = path.split(".")
        for depth in range(1, len(parts)):
            if ".".join(parts[:depth]) in flat:
                raise ConfigError(
                    f"{section}.{path}: {section}.{'.'.join(parts[:depth])} is already a factor, not a section"
                )
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = spec
    return tree


def _defaults(model: type[BaseModel]) -> dict[str, Any]:
    """The defaults of a schema as plain data, sections without defaults filled in part."""
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if not info.is_required():
            out[name] = to_jsonable_python(info.get_default(call_default_factory=True))
        elif (inner := inner_model(info.annotation)) is not None:
            out[name] = _defaults(inner)
    return out


def _with_defaults(defaults: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """``data`` over ``defaults``, mappings merged key by key."""
    out = dict(defaults)
    for key, value in data.items():
        below = out.get(key)
        out[key] = _with_defaults(below, value) if isinstance(below, dict) and isinstance(value, dict) else value
    return out


def _compose(data: dict[str, Any], overrides: list[str], source: str) -> dict[str, Any]:
    """Apply Hydra overrides to raw experiment data with Hydra's Compose API."""
    parser = OverridesParser.create()
    for line in overrides:
        try:
            parsed = parser.parse_override(line)
            if not parsed.is_sweep_override():
                parsed.value()  # evaluates functions such as int(...) now, for a clear message
        except Exception as exc:  # Hydra raises its own OverrideParseException / HydraException
            raise ConfigError(_unreadable(line, exc)) from None
        if not (parsed.is_add() or parsed.is_force_add() or parsed.is_delete()):
            try:
                check_path(data, parsed.key_or_group, line)
            except ConfigError as exc:
                new_factor = parsed.key_or_group.startswith(FACTOR_SECTIONS) and _ends_in_section(
                    data, parsed.key_or_group
                )
                raise ConfigError(f"{exc} To add a factor, write +{line}" if new_factor else str(exc)) from None
    try:
        node = OmegaConf.create(data)
    except OmegaConfBaseException as exc:
        raise ConfigError(f"experiment {source}: {exc}") from None
    ConfigStore.instance().store(name=COMPOSED_NAME, node=node)
    GlobalHydra.instance().clear()
    with initialize(version_base="1.3", config_path=None):
        try:
            cfg = compose(config_name=COMPOSED_NAME, overrides=overrides)
            return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
        except Exception as exc:  # composition errors are user errors: report, no traceback
            raise ConfigError(f"experiment {source} with {overrides}: {str(exc).strip()}") from None


def _unreadable(line: str, exc: Exception) -> str:
    """The message for an override Hydra cannot parse, with the quoted form to use instead."""
    key, _, value = line.partition("=")
    if value.startswith("[") and value.endswith("]"):
        quoted = "[" + ",".join(f"'{item.strip()}'" for item in value[1:-1].split(",")) + "]"
    else:
        quoted = f"'{value}'"
    reason = " ".join(str(exc).split())
    return (
        f"{line}: Hydra cannot read the value {value!r} of {key.lstrip('+~')!r} ({reason}); "
        f"quote a value holding = , ( ) [ ] {{ }} or spaces, e.g. {key}={quoted}"
    )


def _ends_in_section(data: dict[str, Any], path: str) -> bool:
    """Whether the last existing node along a dotted path is a section (not a list or a range)."""
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            break
        node = node[part]
    return isinstance(node, dict) and not {"low", "high"} & set(node)


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
            if isinstance(spec, Range) and isinstance(node, int) and round(spec.high) == round(spec.low):
                raise ConfigError(
                    f"{where}: {path} is an integer and the range {spec.low}..{spec.high} rounds to one value; "
                    "widen it or give a list"
                )
            values = [spec.low, spec.high] if isinstance(spec, Range) else list(spec)
            for value in values:  # every value (a range's ends) must be one the config allows
                try:
                    with_settings(bases[experiment.scenarios[0]], {path: value})
                except SettingsError as exc:
                    detail = str(exc).removeprefix("invalid settings: ")
                    if not detail.startswith(f"{path} = "):
                        continue  # a rule across keys (news_trials >= news_weight): checked on the design's points
                    raise ConfigError(f"{where}: {value!r} is not allowed: {detail}") from None
            if not isinstance(spec, Range):  # after the values: true is not 1 listed twice, but a wrong value
                twice = [v for i, v in enumerate(spec) if any(v == w for w in spec[:i])]
                if twice:
                    raise ConfigError(f"{where}: {twice[0]!r} is listed twice; each point would be run twice")
