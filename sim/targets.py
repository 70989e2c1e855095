"""Public targets as data: what the model is fitted to (calibration) and judged on (validation).

A target file (``configs/targets/targets.yaml``) names the runs it needs (``scenarios``: Hydra
overrides of the base config) and the targets. Each target is an expression over one run's
monthly time series and summary in a small, safe language (docs/calibration.md), compared with
a public value or range, or with a sign for a contrast between two scenarios paired by seed.

The language is parsed with :mod:`ast` into a whitelisted tree (numbers, month strings,
column names, ``+ - * /`` and the functions of :data:`FUNCTIONS`) and evaluated by a walker
of that tree: nothing in a target file is ever executed as Python.
"""

from __future__ import annotations

import ast
import functools
import math
import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import field_validator, model_validator

from sim.schema import ConfigError, Schema, field, load_yaml

#: The target file used when none is given.
DEFAULT_TARGETS = Path(__file__).resolve().parent.parent / "configs" / "targets" / "targets.yaml"
#: The scenario every target file defines and targets use by default.
BASELINE = "baseline"
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class ExpressionError(ValueError):
    """An expression that is not in the target language; the message says what is wrong."""


class NotComputable(Exception):
    """A target that cannot be computed on these runs (a column, month or scenario is missing)."""


@dataclass(frozen=True)
class Signature:
    """How a function of the language is called.

    Attributes:
        columns: Whether the first argument is a column or a list of columns.
        months: How many month strings may follow (min, max).
        doc: One line for the docs.
    """

    columns: bool
    months: tuple[int, int]
    doc: str


FUNCTIONS: dict[str, Signature] = {
    "total": Signature(True, (0, 2), "sum over the months from..to (inclusive; the whole run if omitted)"),
    "mean": Signature(True, (0, 2), "mean over the months from..to, NaN months skipped"),
    "slope": Signature(True, (0, 2), "least-squares slope per month over from..to, NaN months skipped"),
    "value": Signature(True, (1, 1), "the value in one month"),
    "ratio": Signature(False, (0, 0), "a / b; NaN when b is 0 (the same as a / b)"),
    "summary": Signature(False, (0, 0), "a key of the run's summary, e.g. summary(detection_rate)"),
    "at": Signature(False, (0, 0), "at(scenario, expr): expr on the same seed's run of another scenario"),
}
OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}


@dataclass(frozen=True)
class RunData:
    """What an expression reads: one run's monthly rows (``month`` as YYYY-MM) and summary."""

    timeseries: pd.DataFrame
    summary: Mapping[str, Any]


@functools.lru_cache(maxsize=512)
def parse_expression(text: str) -> ast.expr:
    """Parse and check an expression of the target language.

    Args:
        text: The expression, e.g. ``ratio(total(smuggled_h100e, "2025-01", "2025-12"), 12)``.

    Returns:
        The checked tree (evaluate it with :func:`evaluate`).

    Raises:
        ExpressionError: Syntax or a construct outside the language, naming it.
    """
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ExpressionError(f"cannot parse {text!r}: {exc.msg}") from None
    _check(tree)
    return tree


def _check(node: ast.expr) -> None:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return
    if isinstance(node, ast.BinOp) and type(node.op) in (*OPERATORS, ast.Div):
        _check(node.left)
        _check(node.right)
        return
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        _check(node.operand)
        return
    if isinstance(node, ast.Call):
        _check_call(node)
        return
    if isinstance(node, ast.Name):
        raise ExpressionError(f"a bare name {node.id!r} is not a number: use total({node.id}), mean({node.id}), ...")
    raise ExpressionError(f"{ast.unparse(node)!r} is not allowed: use numbers, + - * /, and {', '.join(FUNCTIONS)}")


def _check_call(node: ast.Call) -> None:
    name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
    if name not in FUNCTIONS or node.keywords:
        raise ExpressionError(f"unknown function {name!r} (or keyword arguments); allowed: {', '.join(FUNCTIONS)}")
    sig, args = FUNCTIONS[name], node.args
    if sig.columns:
        low, high = sig.months
        if not args or not low <= len(args) - 1 <= high:
            months = f"{low}" if low == high else f"{low} to {high}"
            raise ExpressionError(f"{name}() takes a column (or [columns]) and {months} month(s) 'YYYY-MM'")
        _columns(args[0], name)
        for arg in args[1:]:
            if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str) and MONTH.match(arg.value)):
                raise ExpressionError(f"{name}(): {ast.unparse(arg)} is not a month 'YYYY-MM'")
    elif name == "ratio":
        if len(args) != 2:
            raise ExpressionError("ratio() takes two expressions")
        for arg in args:
            _check(arg)
    elif name == "summary":
        if len(args) != 1 or not isinstance(args[0], ast.Name | ast.Constant):
            raise ExpressionError("summary() takes one summary key, e.g. summary(detection_rate)")
    else:
        if len(args) != 2 or not isinstance(args[0], ast.Name):
            raise ExpressionError("at() takes a scenario name and an expression, e.g. at(baseline, total(x))")
        _check(args[1])


def _columns(node: ast.expr, name: str) -> list[str]:
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.List) and node.elts and all(isinstance(e, ast.Name) for e in node.elts):
        return [e.id for e in node.elts]  # type: ignore[attr-defined]
    raise ExpressionError(f"{name}(): {ast.unparse(node)} is not a column name or a list [a, b] of them")


def columns_of(text: str) -> list[str]:
    """The time-series columns an expression reads, in order of appearance."""
    found: list[str] = []
    for node in ast.walk(parse_expression(text)):
        if isinstance(node, ast.Call) and FUNCTIONS[node.func.id].columns:  # type: ignore[attr-defined]
            found += [c for c in _columns(node.args[0], "") if c not in found]
    return found


def scenarios_of(text: str, scenario: str) -> list[str]:
    """The scenarios an expression reads when evaluated on ``scenario`` (``at()`` reaches others)."""
    found: list[str] = []

    def visit(node: ast.AST, current: str) -> None:
        if isinstance(node, ast.Call) and node.func.id == "at":  # type: ignore[attr-defined]
            visit(node.args[1], node.args[0].id)  # type: ignore[attr-defined]
            return
        if isinstance(node, ast.Call) and node.func.id != "ratio" and current not in found:  # type: ignore[attr-defined]
            found.append(current)
        for child in ast.iter_child_nodes(node):
            visit(child, current)

    visit(parse_expression(text), scenario)
    return found


def evaluate(text: str, runs: Mapping[str, RunData], scenario: str = BASELINE) -> float:
    """The value of an expression on one seed's runs.

    Args:
        text: The expression.
        runs: The runs of one seed, by scenario name.
        scenario: The scenario whose run the expression reads (``at()`` switches it).

    Raises:
        ExpressionError: The expression is not in the language.
        NotComputable: A scenario, column, month or summary key it needs is missing.
    """
    return _eval(parse_expression(text), runs, scenario)


def _eval(node: ast.expr, runs: Mapping[str, RunData], scenario: str) -> float:
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.UnaryOp):
        value = _eval(node.operand, runs, scenario)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left, runs, scenario), _eval(node.right, runs, scenario)
        return _divide(left, right) if isinstance(node.op, ast.Div) else OPERATORS[type(node.op)](left, right)
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)  # guaranteed by _check
    name, args = node.func.id, node.args
    if name == "at":
        return _eval(args[1], runs, args[0].id)  # type: ignore[attr-defined]
    if name == "ratio":
        return _divide(_eval(args[0], runs, scenario), _eval(args[1], runs, scenario))
    run = _run(runs, scenario)
    if name == "summary":
        key = args[0].id if isinstance(args[0], ast.Name) else str(args[0].value)  # type: ignore[attr-defined]
        if key not in run.summary:
            raise NotComputable(f"summary key {key!r} is not in the {scenario} run's summary")
        return float(run.summary[key])
    series = _series(run, _columns(args[0], name), [a.value for a in args[1:]], scenario)  # type: ignore[attr-defined]
    return _reduce(name, series)


def _divide(a: float, b: float) -> float:
    return a / b if b != 0 else math.nan


def _run(runs: Mapping[str, RunData], scenario: str) -> RunData:
    if scenario not in runs:
        raise NotComputable(f"no run of scenario {scenario!r}")
    return runs[scenario]


def _series(run: RunData, columns: list[str], months: list[str], scenario: str) -> pd.Series:
    """The columns summed month by month (NaN where all are NaN), restricted to a month window."""
    ts = run.timeseries
    missing = [c for c in columns if c not in ts.columns]
    if missing:
        raise NotComputable(f"the {scenario} run has no column {', '.join(missing)}")
    labels = ts["month"].astype(str)
    first, last = labels.iloc[0], labels.iloc[-1]
    low, high = (months[0], months[-1]) if months else (first, last)
    if low < first or high > last:
        raise NotComputable(f"the {scenario} run covers {first}..{last}, the target needs {low}..{high}")
    window = ts.loc[(labels >= low) & (labels <= high), columns]
    return window.sum(axis=1, min_count=1).reset_index(drop=True)


def _reduce(name: str, series: pd.Series) -> float:
    if name == "total":
        return float(series.sum())
    if name in ("mean", "value"):
        return float(series.mean()) if series.notna().any() else math.nan
    known = series.dropna()
    if len(known) < 2:
        return math.nan
    return float(np.polyfit(known.index.to_numpy(dtype=float), known.to_numpy(dtype=float), 1)[0])


# ---------------------------------------------------------------------------------------------
# The target file
# ---------------------------------------------------------------------------------------------


class Role(StrEnum):
    """What a target is for: the model is fitted to calibration targets and judged on validation ones."""

    CALIBRATION = "calibration"
    VALIDATION = "validation"


class Sign(StrEnum):
    """The direction a contrast or slope must take."""

    POSITIVE = "positive"
    NEGATIVE = "negative"


class Scenario(Schema):
    """A run the targets need: the base config with Hydra overrides."""

    description: str = field("What the run is.", default="")
    overrides: list[str] = field("Hydra overrides, e.g. ['scenario=crackdown_singapore'].", default_factory=list)


class Public(Schema):
    """The public figure: a value and/or range (``low``, ``high``; a null bound is open), or a sign."""

    value: float | None = field("The central public figure.", default=None)
    low: float | None = field("Lower end of the public range (null: open).", default=None)
    high: float | None = field("Upper end of the public range (null: open).", default=None)
    sign: Sign | None = field("For contrasts and trends: the direction the public record shows.", default=None)

    @model_validator(mode="after")
    def _consistent(self) -> Public:
        if self.sign is not None:
            if self.low is not None or self.high is not None:
                raise ValueError("give either a sign or a range (low, high), not both")
            return self
        if self.low is None and self.high is None:
            raise ValueError("give a range (low and/or high) or a sign")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"low {self.low} is above high {self.high}")
        return self

    def bounds(self) -> tuple[float, float]:
        """The range the model's mean must fall in (a sign is a half-line from 0)."""
        if self.sign is Sign.POSITIVE:
            return 0.0, math.inf
        if self.sign is Sign.NEGATIVE:
            return -math.inf, 0.0
        return (self.low if self.low is not None else -math.inf, self.high if self.high is not None else math.inf)

    def center(self) -> float:
        """The value the calibration aims at: ``value``, else the range's midpoint."""
        if self.value is not None:
            return self.value
        low, high = self.bounds()
        if math.isinf(low) or math.isinf(high):
            raise ValueError("a calibration target needs a value or a closed range")
        return (low + high) / 2

    def closed_range(self) -> tuple[float, float]:
        """The public range, which a calibration target needs closed and of positive width."""
        low, high = self.bounds()
        if math.isinf(low) or math.isinf(high) or high <= low:
            raise ValueError("a calibration target needs a closed range of positive width")
        return low, high


class Source(Schema):
    """Where the public figure comes from and what exactly it counts."""

    cite: str = field("Key of the entry in docs/ODD.md, section 10 (Bibliography).")
    publisher: str = field("Who published it.")
    title: str = field("Title, or a description of the report.")
    date: str = field("Publication date.")
    counts: str = field("What exactly the figure counts (chips or H100e, shipped or delivered, which year).")


class Target(Schema):
    """One public target."""

    role: Role = field("calibration (fitted to) or validation (judged on).")
    description: str = field("The pattern in a sentence.")
    expression: str = field("Model output, in the target language (docs/calibration.md).")
    scenario: str = field("The scenario whose runs the expression reads.", default=BASELINE)
    versus: str | None = field("For a contrast: the scenario subtracted, paired by seed.", default=None)
    unit: str = field("Unit of the expression and of the public figure.")
    public: Public = field("The public value, range or sign.")
    source: Source = field("The source of the public figure.")
    note: str = field("How the model's output is made like-for-like with the source.", default="")

    @field_validator("expression")
    @classmethod
    def _parses(cls, text: str) -> str:
        parse_expression(text)
        return text

    def scenarios(self) -> list[str]:
        """Every scenario the target reads, in order of use."""
        names = [*scenarios_of(self.expression, self.scenario)]
        if self.versus is not None:
            names += scenarios_of(self.expression, self.versus)
        return list(dict.fromkeys(names))

    def compute(self, runs: Mapping[str, RunData]) -> float:
        """The target's model value on one seed's runs (a contrast subtracts ``versus``).

        Raises:
            NotComputable: A scenario, column, month or summary key is missing.
        """
        value = evaluate(self.expression, runs, self.scenario)
        if self.versus is not None:
            value -= evaluate(self.expression, runs, self.versus)
        return value


class TargetFile(Schema):
    """A target file: the scenarios the targets need and the targets."""

    scenarios: dict[str, Scenario] = field("Runs the targets need, by name; 'baseline' is required.")
    targets: dict[str, Target] = field("The targets, by name.")

    @model_validator(mode="after")
    def _known_scenarios(self) -> TargetFile:
        if BASELINE not in self.scenarios:
            raise ValueError(f"scenarios needs a {BASELINE!r} entry")
        for name, target in self.targets.items():
            unknown = [s for s in target.scenarios() if s not in self.scenarios]
            if unknown:
                raise ValueError(
                    f"targets.{name} uses scenario {unknown[0]!r}, not in scenarios "
                    f"(defined: {', '.join(self.scenarios)})"
                )
            if target.role is Role.CALIBRATION:
                try:
                    target.public.center(), target.public.closed_range()
                except ValueError as exc:
                    raise ValueError(f"targets.{name}: {exc}") from None
        return self

    def select(self, role: Role | None = None, names: list[str] | None = None) -> dict[str, Target]:
        """The targets of a role (all if None), or the named ones.

        Raises:
            ConfigError: A name is not a target of the file.
        """
        unknown = [n for n in names or [] if n not in self.targets]
        if unknown:
            raise ConfigError(f"unknown target {unknown[0]!r}; targets: {', '.join(self.targets)}")
        return {
            name: t
            for name, t in self.targets.items()
            if (role is None or t.role is role) and (not names or name in names)
        }

    def scenarios_for(self, targets: Mapping[str, Target]) -> dict[str, Scenario]:
        """The scenarios some of ``targets`` read, in file order, always with the baseline."""
        needed = {BASELINE} | {s for t in targets.values() for s in t.scenarios()}
        return {name: s for name, s in self.scenarios.items() if name in needed}


def load_targets(path: str | Path = DEFAULT_TARGETS) -> TargetFile:
    """Read and validate a target file.

    Raises:
        ConfigError: The file is unreadable or a key or value is wrong (the message names the key).
    """
    return load_yaml(path, TargetFile, "target file")
