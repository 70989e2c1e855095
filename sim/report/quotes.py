"""``python -m sim.report.quotes README SWEEP``: fill the numbers a study's README quotes from its sweep.

A README quotes a number between two HTML comments, which Markdown does not show::

    <!-- n smuggled_h100e_total scenario=baseline show=ci -->157,000 (139,000 to 176,000)<!-- /n -->

The opening comment is a query; the text up to ``<!-- /n -->`` is replaced by its answer.
``python -m sim.report.studies`` fills every study's README this way after its sweep, so no
number in a README outlives the model that produced it. The words of a query:

- first, what to measure: a run metric (a column of the runs table) or a time-series column,
  summed over the months of each run; ``*`` in a time-series name sums every column it matches
  (``orders_hub_*_h100e``: all hubs); ``a/b`` is the ratio of two, each summed first;
- ``factor=value`` (any number): only the runs of points with that value, or with
  ``factor=low..high`` in that range (a sampled design's factors); varying factors not named
  are averaged within each replication (a marginal mean over them);
- ``over=YYYY-MM..YYYY-MM`` or ``over=YYYY-MM``: only those months of the time series;
  ``agg=mean`` averages over them instead of summing;
- ``minus factor=value ...``: the paired difference from the runs with those values instead,
  replication r against replication r (they share a seed);
- ``show=mean`` (the default), ``pm`` (mean ± half-width), ``ci`` (mean (low to high)) or
  ``interval`` (low to high), of the 95% t-interval of the mean over replications, clipped as
  ``sim.intervals`` clips; a difference has signs;
- of a Sobol sweep, ``S1:metric of=factor`` or ``ST:metric of=factor`` is the factor's first-order
  or total index of the metric (replications averaged per point, as ``sim.sweep.sensitivity``
  computes it), its interval the 95% bootstrap interval; ``n=K`` takes the first K base samples
  (its convergence table);
- ``unit=percent``, ``thousand``, ``million`` or ``billion``, and ``sig=N``: significant digits
  (default 3) of the mean, or of the largest number shown, the others rounded to the same place.

A month without a value (a price while its channel is closed) is left out: ``agg=mean`` averages
the months a run has, and a run or replication with no value at all is left out of the mean.
"""

from __future__ import annotations

import argparse
import fnmatch
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd
import yaml

from sim.commands import fixed, quiet_when_output_closes, rounding_place
from sim.intervals import clip_bounds, t_half_width
from sim.schema import ConfigError, suggest
from sim.sweep.analysis import Sweep, load, runs_at
from sim.sweep.designs import REPLICATION, RUN_ID
from sim.sweep.sensitivity import sweep_convergence, sweep_indices

#: A quoted number: its query and the text it stands for.
QUOTE = re.compile(r"<!-- n (?P<query>[^>]*?) -->(?P<text>.*?)<!-- /n -->", re.DOTALL)
OPENING = re.compile(r"<!-- n ")
SHOWS = ("mean", "pm", "ci", "interval")
UNITS = {"": (1.0, ""), "percent": (100.0, "%"), "thousand": (1e-3, ""), "million": (1e-6, ""), "billion": (1e-9, "")}
MONTH = re.compile(r"\d{4}-\d{2}")
#: Sobol indices a quote can give (``S1:metric``).
INDICES = ("S1", "ST")
#: Words that say how to measure, not which points.
OPTIONS = ("over", "agg", "show", "unit", "sig", "of", "n")


class Between(NamedTuple):
    """A range of a factor's values, both ends included (``factor=low..high``)."""

    low: float
    high: float


@dataclass(frozen=True)
class Query:
    """One quoted number (the module's docstring gives the words).

    Attributes:
        what: A metric or time-series column, ``*`` patterns and one ``/`` allowed.
        point: Factor values of the runs measured.
        reference: Factor values replaced for the paired difference (empty: no difference).
        months: First and last month of the time series counted (None: all).
        mean_over_months: Average over the months instead of summing.
        show: One of :data:`SHOWS`.
        unit: A key of :data:`UNITS`.
        sig: Significant digits of the mean.
        index: ``S1`` or ``ST`` for a Sobol index of ``what`` ('' for a mean).
        of: The factor of the index.
        n_base: Base samples the index is computed on (None: all).
    """

    what: str
    point: dict[str, Any] = field(default_factory=dict)
    reference: dict[str, Any] = field(default_factory=dict)
    months: tuple[str, str] | None = None
    mean_over_months: bool = False
    show: str = "mean"
    unit: str = ""
    sig: int = 3
    index: str = ""
    of: str = ""
    n_base: int | None = None


def parse(text: str) -> Query:
    """The query of a quote's opening comment.

    Raises:
        ValueError: A word is none of the module docstring's, or a value is not allowed.
    """
    words = text.split()
    if not words:
        raise ValueError("empty query: say what to measure first, e.g. access_ratio")
    what, options, point, reference = words[0], {}, {}, {}
    side = point
    for word in words[1:]:
        if word == "minus":
            if side is reference:
                raise ValueError("minus twice")
            side = reference
            continue
        key, sep, value = word.partition("=")
        if not sep or not key or not value:
            raise ValueError(f"{word!r} is not key=value (or minus)")
        if key in OPTIONS:
            options[key] = value
        else:
            side[key] = _factor_value(value)
    if "minus" in words and not reference:
        raise ValueError("minus names no factor=value")
    index, _, metric = what.rpartition(":")
    if (index or "of" in options or "n" in options) and (
        index not in INDICES or not metric or "of" not in options or point or reference or "over" in options
    ):
        raise ValueError(
            f"a Sobol index is S1:metric or ST:metric with of=factor (and n=K), no points nor months; got {text!r}"
        )
    return Query(
        metric,
        point,
        reference,
        _months(options.get("over")),
        _allowed("agg", options.get("agg", "sum"), ("sum", "mean")) == "mean",
        _allowed("show", options.get("show", "mean"), SHOWS),
        _allowed("unit", options.get("unit", ""), tuple(u for u in UNITS if u)),
        _whole("sig", options.get("sig", "3"), 1, 6),
        index,
        options.get("of", ""),
        _whole("n", options["n"], 2, 10**9) if "n" in options else None,
    )


def _factor_value(value: str) -> Any:
    """A factor's value, or a :class:`Between` for ``low..high``."""
    low, dots, high = value.partition("..")
    if not dots:
        return yaml.safe_load(value)
    try:
        return Between(float(low), float(high))
    except ValueError:
        raise ValueError(f"{value}: a range is low..high, two numbers") from None


def _allowed(key: str, value: str, allowed: tuple[str, ...]) -> str:
    if value and value not in allowed:
        raise ValueError(f"{key}={value}: allowed {', '.join(allowed)}")
    return value


def _months(over: str | None) -> tuple[str, str] | None:
    if over is None:
        return None
    first, _, last = over.partition("..")
    last = last or first
    if not (MONTH.fullmatch(first) and MONTH.fullmatch(last)) or first > last:
        raise ValueError(f"over={over}: allowed YYYY-MM or YYYY-MM..YYYY-MM, first month first")
    return first, last


def _whole(key: str, value: str, low: int, high: int) -> int:
    if not value.isdigit() or not low <= int(value) <= high:
        raise ValueError(f"{key}={value}: allowed a whole number from {low} to {high:,}")
    return int(value)


def per_run(sweep: Sweep, query: Query, run_ids: list[int]) -> pd.Series:
    """What ``query`` measures in each of the runs, by run id."""
    numerator, _, denominator = query.what.partition("/")
    values = _term(sweep, query, numerator, run_ids)
    if denominator:
        values = values / _term(sweep, query, denominator, run_ids)
    return values


def _term(sweep: Sweep, query: Query, name: str, run_ids: list[int]) -> pd.Series:
    """A metric, or time-series columns summed over the query's months, per run."""
    if name in sweep.metrics:
        if query.months is not None:
            raise ValueError(f"{name} is a run metric; over= needs a time-series column")
        return sweep.runs.set_index(RUN_ID).loc[run_ids, name].astype(float)
    columns = fnmatch.filter(sweep.timeseries_columns, name)
    if not columns:
        raise ValueError(
            f"{name!r} is no run metric nor time-series column of this sweep."
            f"{suggest(name, [*sweep.metrics, *sweep.timeseries_columns])}"
        )
    ts = sweep.timeseries(columns, run_ids=run_ids)
    if query.months is not None:
        ts = ts[ts["month"].between(*query.months)]
        if ts.empty:
            raise ValueError(f"over={'..'.join(query.months)}: no month of the runs in it")
    monthly = ts[columns].sum(axis=1, min_count=1).groupby(ts[RUN_ID])  # NaN: no column has a value
    values = monthly.mean() if query.mean_over_months else monthly.sum(min_count=1)
    return values.reindex(run_ids)


def per_replication(sweep: Sweep, query: Query, point: dict[str, Any], side: str) -> pd.Series:
    """The query's value of every replication at ``point``, other varying factors averaged."""
    exact = {f: v for f, v in point.items() if not isinstance(v, Between)}
    runs = runs_at(sweep, exact, side) if exact else sweep.runs
    for factor, value in point.items():
        if isinstance(value, Between):
            if factor not in sweep.factors:
                raise ValueError(f"{factor} is not a factor of this sweep; factors: {', '.join(sweep.factors)}")
            runs = runs[runs[factor].astype(float).between(value.low, value.high)]
            if runs.empty:
                raise ValueError(f"{factor}={value.low:g}..{value.high:g}: no point of the sweep in that range")
    values = per_run(sweep, query, runs[RUN_ID].tolist())
    return values.groupby(runs[REPLICATION].to_numpy()).mean()


@dataclass(frozen=True)
class Answer:
    """A quoted number's statistics over replications: ``n``, mean and interval."""

    n: int
    mean: float
    low: float
    high: float
    difference: bool


def answer(sweep: Sweep, query: Query, indices: dict[tuple, pd.DataFrame] | None = None) -> Answer:
    """The mean and 95% t-interval of what ``query`` measures, over replications, or its Sobol index.

    Args:
        sweep: The sweep.
        query: The query.
        indices: Sobol tables already computed for this sweep, by metric and base samples
            (filled as they are computed).

    Raises:
        ConfigError: The query names a factor or value the sweep does not have, or an index of
            a sweep that is not a Sobol design.
        ValueError: It names no metric or column of the sweep, or nothing has a value.
    """
    if query.index:
        return _sobol_index(sweep, query, {} if indices is None else indices)
    values = per_replication(sweep, query, query.point, "the point")
    if query.reference:
        unknown = [f for f in query.reference if f not in sweep.factors]
        if unknown:
            raise ValueError(f"minus {unknown[0]}: not a factor of this sweep; factors: {', '.join(sweep.factors)}")
        reference = per_replication(sweep, query, query.point | query.reference, "minus")
        values = (values - reference).dropna()  # replication r against replication r
    values = values.dropna()
    if values.empty:
        raise ValueError("no run has a value of it")
    half = float(t_half_width(values.std(), len(values)))
    table = pd.DataFrame({"ci_low": [values.mean() - half], "ci_high": [values.mean() + half]})
    if not query.reference:
        table = clip_bounds(table, query.what, {query.what} if (values >= 0).all() else set())
    return Answer(len(values), float(values.mean()), *table.iloc[0].tolist(), difference=bool(query.reference))


def _sobol_index(sweep: Sweep, query: Query, indices: dict[tuple, pd.DataFrame]) -> Answer:
    """A factor's Sobol index of a metric, with its bootstrap interval."""
    key = (query.what, query.n_base)
    if key not in indices:
        if query.what not in sweep.metrics:
            raise ValueError(f"{query.what!r} is not a run metric of this sweep.{suggest(query.what, sweep.metrics)}")
        found = sweep_convergence(sweep, [query.what]) if query.n_base else sweep_indices(sweep, [query.what])
        indices[key] = found
    table = indices[key]
    factors = list(dict.fromkeys(table["factor"]))
    if query.of not in factors:
        raise ValueError(f"of={query.of}: not a factor of this sweep; factors: {', '.join(factors)}")
    rows = table[table["factor"] == query.of]
    if query.n_base:
        sizes = sorted(set(rows["n_base"]))
        rows = rows[rows["n_base"] == query.n_base]
        if rows.empty:
            raise ValueError(f"n={query.n_base}: the convergence table has base samples {', '.join(map(str, sizes))}")
    value, half = float(rows[query.index].iloc[0]), float(rows[f"{query.index}_conf"].iloc[0])
    n = query.n_base or int(sweep.manifest["experiment"]["design"]["samples"])
    return Answer(n, value, value - half, value + half, difference=False)


def formatted(answer: Answer, query: Query) -> str:
    """The answer as the query shows it (module docstring)."""
    scale, suffix = UNITS[query.unit]
    mean, low, high = answer.mean * scale, answer.low * scale, answer.high * scale
    half = (high - low) / 2
    shown = {"mean": [mean], "pm": [mean, half]}.get(query.show, [mean, low, high])
    place = rounding_place(shown, query.sig)

    def number(value: float, signed: bool = answer.difference, unit: str = suffix) -> str:
        return "n/a" if math.isnan(value) else f"{fixed(value, place, signed)}{unit}"

    if query.show == "pm":
        return f"{number(mean)} ± {number(half, False, ' points' if suffix else '')}"
    if query.show == "ci":
        return f"{number(mean)} ({number(low)} to {number(high)})"
    if query.show == "interval":
        return f"{number(low)} to {number(high)}"
    return number(mean)


def fill(text: str, sweep: Sweep, where: str = "README") -> tuple[str, int]:
    """``text`` with every quote answered from ``sweep``, and how many quotes it has.

    Raises:
        ConfigError: A quote is not closed, or its query is wrong; the message names its line.
    """
    if len(OPENING.findall(text)) != len(QUOTE.findall(text)):
        unclosed = next(m for m in OPENING.finditer(text) if not QUOTE.match(text, m.start()))
        raise ConfigError(f"{where}:{_line(text, unclosed.start())}: a quote without its closing <!-- /n -->")

    indices: dict[tuple, pd.DataFrame] = {}  # a Sobol analysis per metric, shared by the quotes

    def replace(match: re.Match[str]) -> str:
        try:
            query = parse(match["query"])
            return f"<!-- n {match['query']} -->{formatted(answer(sweep, query, indices), query)}<!-- /n -->"
        except (ValueError, ConfigError) as exc:
            raise ConfigError(f"{where}:{_line(text, match.start())}: <!-- n {match['query']} -->: {exc}") from None

    return QUOTE.sub(replace, text), len(QUOTE.findall(text))


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def fill_file(readme: Path, sweep: Sweep, out: Path) -> int:
    """Write ``readme`` with its quotes answered from ``sweep`` to ``out``; return how many it has."""
    text, count = fill(readme.read_text(), sweep, str(readme))
    out.write_text(text)
    return count


def main(argv: list[str]) -> int:
    """Fill a README's quotes from a sweep; return the exit code."""
    parser = argparse.ArgumentParser(prog="python -m sim.report.quotes", description=__doc__.split("\n")[0])
    parser.add_argument("readme", type=Path, help="the Markdown file whose quotes to fill")
    parser.add_argument("sweep", type=Path, help="the sweep folder the numbers come from")
    parser.add_argument("--out", type=Path, default=None, help="where to write it (default: in place)")
    args = parser.parse_args(argv)
    try:
        sweep = load(args.sweep)
        count = fill_file(args.readme, sweep, args.out or args.readme)
    except (ConfigError, FileNotFoundError, IsADirectoryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{args.out or args.readme}: {count} numbers from {args.sweep}")
    return 0


if __name__ == "__main__":
    with quiet_when_output_closes():
        sys.exit(main(sys.argv[1:]))
