"""``python -m sim.report.quotes README SWEEP``: fill the numbers a study's README quotes from its sweep.

A README quotes a number between two HTML comments, which Markdown does not show::

    smuggled <!-- n smuggled_h100e_total scenario=baseline show=ci -->156,000 (140,000 to 171,000)<!-- /n -->

The opening comment is a query; the text up to ``<!-- /n -->`` (one line, no ``<``) is replaced
by its answer. ``python -m sim.report.studies`` fills every study's README this way after a
full run of its sweep, so its numbers are those of the model that ran last. A quote never
starts a line: there Markdown would take it for a block of HTML. The words of a query:

- first, what to measure: a run metric (a column of the runs table) or a time-series column,
  summed over the months of each run; ``*`` in a time-series name sums every column it matches
  (``orders_hub_*_h100e``: all hubs); ``a/b`` is the ratio of two, each summed first (no value
  where ``b`` is 0);
- ``factor=value`` (any number): only the runs of points with that value; varying factors not
  named are averaged within each replication (a marginal mean over them);
- ``over=YYYY-MM..YYYY-MM`` or ``over=YYYY-MM``: only those months of the time series;
  ``agg=mean`` averages over them instead of summing;
- ``minus factor=value ...``: the paired difference from the runs with those values instead
  (the point names those factors too), run against run of the same replication and the same
  other factors, as ``sim.sweep.contrast`` pairs them;
- ``factor=low..high``, of a sampled design's numeric factor: the mean over the points in that
  range, each point's replications averaged first, its interval over the points (no ``minus``:
  two ranges hold different points, which do not pair);
- of a Sobol sweep, ``S1:metric of=factor`` or ``ST:metric of=factor`` is the factor's first-order
  or total index of the metric (replications averaged per point, as ``sim.sweep.sensitivity``
  computes it), its interval the 95% bootstrap interval; ``n=N/8`` (``N/4``, ``N/2``, or a
  number of base samples) takes the first base samples, as its convergence table does;
- ``show=mean`` (the default), ``pm`` (mean ± half-width), ``ci`` (mean (low to high)) or
  ``interval`` (low to high), of the 95% t-interval of the mean over replications, clipped as
  ``sim.intervals`` clips (shares only where the value is one: a run metric, or one column
  averaged over months); a difference has signs;
- ``unit=percent`` (a difference of shares in points), ``thousand``, ``million`` or
  ``billion``, and ``sig=N``: significant digits (default 3) of the largest number shown, the
  others rounded to the same place;
- ``claim=above0``, ``below0`` or ``spans0``: what the sentence around the quote says of its
  interval (above zero, below zero, or "not distinguishable from zero"). Filling checks it: a
  claim the new numbers break is an error naming its line, so prose cannot go stale unseen;
- ``claim=lowest`` or ``highest`` with ``among=factor[:low..high],...``: the sentence names the
  point as the lowest (highest) of the points that differ from it in those factors (within
  their ranges), e.g. "between 0.961 (16 checks) and 0.962 (2 checks)": filling checks each
  such point's mean against the quote's and names the one that beats it.

A month without a value (a price while its channel is closed) is left out: ``agg=mean`` averages
the months a run has, and a run (or a pair of runs) without a value is left out of the mean.
"""

from __future__ import annotations

import argparse
import dataclasses
import fnmatch
import itertools
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import yaml

from sim.commands import fixed, quiet_when_output_closes, rounding_place
from sim.intervals import clip_bounds, is_share, t_half_width
from sim.schema import ConfigError, suggest
from sim.sweep.analysis import Sweep, load, paired_runs, runs_at
from sim.sweep.designs import POINT_ID, REPLICATION, RUN_ID
from sim.sweep.experiment import DesignKind
from sim.sweep.sensitivity import sweep_convergence, sweep_indices

#: A quoted number: its query and the text it stands for (one line, no ``<``).
QUOTE = re.compile(r"<!-- n (?P<query>[^>]*?) -->(?P<text>[^<\n]*)<!-- /n -->")
OPENING = re.compile(r"<!-- n ")
SHOWS = ("mean", "pm", "ci", "interval")
UNITS = {"": (1.0, ""), "percent": (100.0, "%"), "thousand": (1e-3, ""), "million": (1e-6, ""), "billion": (1e-9, "")}
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
#: Sobol indices a quote can give (``S1:metric``).
INDICES = ("S1", "ST")
#: Words that say how to measure, not which points.
OPTIONS = ("over", "agg", "show", "unit", "sig", "of", "n", "claim", "among")
#: What a sentence may claim of a quote's interval, and the test of each.
CLAIMS = {
    "above0": lambda low, high: low > 0,
    "below0": lambda low, high: high < 0,
    "spans0": lambda low, high: low <= 0 <= high,
}
#: What a sentence may claim of a quote's mean against other points' (with ``among=``).
RANKS = ("lowest", "highest")
SAMPLES = re.compile(r"N(/(?P<divisor>[1-9]\d*))?|(?P<count>[1-9]\d*)")


class Between(NamedTuple):
    """A range of a factor's values, both ends included (``factor=low..high``)."""

    low: float
    high: float


@dataclass(frozen=True)
class Query:
    """One quoted number (the module's docstring gives the words).

    Attributes:
        what: A metric or time-series column, ``*`` patterns and one ``/`` allowed.
        point: Factor values (or :class:`Between` ranges) of the runs measured.
        reference: Factor values replaced for the paired difference (empty: no difference).
        months: First and last month of the time series counted (None: all).
        mean_over_months: Average over the months instead of summing.
        show: One of :data:`SHOWS`.
        unit: A key of :data:`UNITS`.
        sig: Significant digits of the largest number shown.
        index: ``S1`` or ``ST`` for a Sobol index of ``what`` ('' for a mean).
        of: The factor of the index.
        samples: Base samples of the index: ``N``, ``N/k`` or a number ('' for all).
        claim: A key of :data:`CLAIMS` or one of :data:`RANKS` ('' for none).
        among: For a rank, the factors the compared points differ in, each with its range
            (None: all its values in the design).
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
    samples: str = ""
    claim: str = ""
    among: dict[str, Between | None] = field(default_factory=dict)


def parse(text: str) -> Query:
    """The query of a quote's opening comment.

    Raises:
        ValueError: A word is none of the module docstring's, or a value is not allowed.
    """
    if "--" in text:
        raise ValueError("a query may not hold '--': on GitHub it would end the comment and show the query")
    words = text.split()
    if not words:
        raise ValueError("empty query: say what to measure first, e.g. access_ratio")
    options: dict[str, str] = {}
    point: dict[str, Any] = {}
    reference: dict[str, Any] = {}
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
        chosen = options if key in OPTIONS else side
        if key in chosen:
            raise ValueError(f"{key} given twice")
        chosen[key] = value if key in OPTIONS else _factor_value(word, value)
    if "minus" in words and not reference:
        raise ValueError("minus names no factor=value")
    index, _, metric = words[0].rpartition(":")
    if (index or "of" in options or "n" in options) and (
        index not in INDICES or not metric or "of" not in options or point or reference or "over" in options
    ):
        raise ValueError(
            f"a Sobol index is S1:metric or ST:metric with of=factor (and n=N/k), no points nor months; got {text!r}"
        )
    if "n" in options and not SAMPLES.fullmatch(options["n"]):
        raise ValueError(f"n={options['n']}: allowed N, N/k (k a whole number) or a number of base samples")
    among = _among(options.get("among", ""), options.get("claim", ""), point, reference)
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
        options.get("n", ""),
        _allowed("claim", options.get("claim", ""), (*CLAIMS, *RANKS)),
        among,
    )


def _among(text: str, claim: str, point: dict[str, Any], reference: dict[str, Any]) -> dict[str, Between | None]:
    """The factors (and ranges) of ``among=``, which a rank claim needs and only it takes."""
    if (claim in RANKS) != bool(text):
        raise ValueError(f"claim={'|'.join(RANKS)} goes with among=factor[:low..high],... and only with it")
    among: dict[str, Between | None] = {}
    for item in filter(None, text.split(",")):
        factor, colon, within = item.partition(":")
        value = _factor_value(item, within) if colon else None
        if colon and not isinstance(value, Between):
            raise ValueError(f"among={text}: {item} gives a range as factor:low..high")
        if factor not in point or isinstance(point[factor], Between) or reference:
            raise ValueError(f"among={text}: the point names {factor}=<its value>; a rank compares points (no minus)")
        among[factor] = value
    return among


def _factor_value(word: str, value: str) -> Any:
    """A factor's value (YAML-typed, as ``sim.sweep.contrast`` reads one), or a :class:`Between`."""
    low, dots, high = value.partition("..")
    try:
        return Between(float(low), float(high)) if dots else yaml.safe_load(value)
    except (ValueError, yaml.YAMLError):
        allowed = "a range is low..high, two numbers" if dots else "not a value (write it as YAML: 8, 0.5, baseline)"
        raise ValueError(f"{word}: {allowed}") from None


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
    """What ``query`` measures in each of the runs, by run id (NaN: no value)."""
    numerator, _, denominator = query.what.partition("/")
    values = _term(sweep, query, numerator, run_ids)
    if denominator:
        values = (values / _term(sweep, query, denominator, run_ids)).replace([np.inf, -np.inf], np.nan)
    return values


def _term(sweep: Sweep, query: Query, name: str, run_ids: list[int]) -> pd.Series:
    """A metric, or time-series columns summed over the query's months, per run.

    A name that is both (``access_ratio``) is the run metric, and the time series with ``over=``.
    """
    if name in sweep.metrics and query.months is None:
        return sweep.runs.set_index(RUN_ID).loc[run_ids, name].astype(float)
    columns = fnmatch.filter(sweep.timeseries_columns, name)
    if not columns:
        if name in sweep.metrics:
            raise ValueError(f"{name} is a run metric; over= needs a time-series column")
        raise ValueError(
            f"{name!r} is no run metric nor time-series column of this sweep."
            f"{suggest(name, [*sweep.metrics, *sweep.timeseries_columns])}"
        )
    ts = sweep.timeseries(columns, run_ids=run_ids)
    if query.months is not None:
        months = ts["month"]
        ts = ts[months.between(*query.months)]
        if ts.empty:
            raise ValueError(
                f"over={'..'.join(query.months)}: no month of the runs in it; they run {months.min()}..{months.max()}"
            )
    monthly = ts[columns].sum(axis=1, min_count=1).groupby(ts[RUN_ID])  # NaN: no column has a value
    values = monthly.mean() if query.mean_over_months else monthly.sum(min_count=1)
    return values.reindex(run_ids)


@dataclass(frozen=True)
class Answer:
    """A quoted number: its sample (replications, points or base samples), mean, interval, and whether a difference."""

    n: int
    mean: float
    low: float
    high: float
    difference: bool


def answer(sweep: Sweep, query: Query, indices: dict[tuple, pd.DataFrame] | None = None) -> Answer:
    """The mean and 95% interval of what ``query`` measures, or its Sobol index.

    Args:
        sweep: The sweep.
        query: The query.
        indices: Sobol tables already computed for this sweep, by metric and base samples
            (filled as they are computed).

    Raises:
        ConfigError: The query names a factor or value the sweep does not have.
        ValueError: It names no metric or column of the sweep, asks a Sobol index of another
            design, pairs what does not pair, or nothing has a value.
    """
    if query.index:
        return _sobol_index(sweep, query, {} if indices is None else indices)
    if query.reference:
        values = _paired_differences(sweep, query)
    elif any(isinstance(v, Between) for v in query.point.values()):
        values = _point_means(sweep, query)
    else:
        runs = runs_at(sweep, query.point, "the point") if query.point else sweep.runs
        values = per_run(sweep, query, runs[RUN_ID].tolist()).groupby(runs[REPLICATION].to_numpy()).mean()
    values = values.dropna()
    if values.empty:
        raise ValueError("no run has a value of it")
    half = float(t_half_width(values.std(), len(values)))
    table = pd.DataFrame({"ci_low": [values.mean() - half], "ci_high": [values.mean() + half]})
    if not query.reference:
        share = is_share(query.what) and not set("*/") & set(query.what)
        share = share and (query.months is None or query.mean_over_months)  # a single value, not a sum of them
        name = query.what if share else "quantity"  # a sum or ratio of shares is no share
        table = clip_bounds(table, name, {name} if (values >= 0).all() else ())
    return Answer(len(values), float(values.mean()), *table.iloc[0].tolist(), difference=bool(query.reference))


def _paired_differences(sweep: Sweep, query: Query) -> pd.Series:
    """Each replication's mean difference of the runs at the point from their pairs at ``minus``."""
    if any(isinstance(v, Between) for v in [*query.point.values(), *query.reference.values()]):
        raise ValueError("minus pairs points; factor=low..high holds several, which do not pair")
    unnamed = [f for f in query.reference if f not in query.point]
    if unnamed:
        raise ValueError(f"minus {unnamed[0]}: the point names it too (e.g. {unnamed[0]}=<its value>)")
    pairs, _ = paired_runs(sweep, query.point, query.point | query.reference, ("the point", "minus"))
    values = per_run(sweep, query, [*pairs["run_id_a"], *pairs["run_id_b"]]).to_numpy()  # one read of both sides
    a, b = values[: len(pairs)], values[len(pairs) :]
    return pd.Series(a - b).groupby(pairs[REPLICATION].to_numpy()).mean()  # NaN pairs left out


def _point_means(sweep: Sweep, query: Query) -> pd.Series:
    """The mean of each point in the query's ranges, its replications averaged."""
    exact = {f: v for f, v in query.point.items() if not isinstance(v, Between)}
    runs = runs_at(sweep, exact, "the point") if exact else sweep.runs
    for factor, value in query.point.items():
        if not isinstance(value, Between):
            continue
        if factor not in sweep.factors:
            raise ValueError(f"{factor} is not a factor of this sweep; factors: {', '.join(sweep.factors)}")
        column = sweep.design[factor]
        if not _numeric(column):
            raise ValueError(f"{factor}={value.low:g}..{value.high:g}: a range needs a numeric factor")
        runs = runs[runs[factor].between(value.low, value.high)]
        if runs.empty:
            raise ValueError(
                f"{factor}={value.low:g}..{value.high:g}: no point in that range; "
                f"the design's points span {column.min():g}..{column.max():g}"
            )
    return per_run(sweep, query, runs[RUN_ID].tolist()).groupby(runs[POINT_ID].to_numpy()).mean()


def _numeric(column: pd.Series) -> bool:
    """Whether a design's factor takes numbers (not booleans), as a range of it needs."""
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def _sobol_index(sweep: Sweep, query: Query, indices: dict[tuple, pd.DataFrame]) -> Answer:
    """A factor's Sobol index of a metric, with its bootstrap interval."""
    design = sweep.manifest["experiment"]["design"]
    if DesignKind(design["kind"]) is not DesignKind.SOBOL:
        raise ValueError(f"S1 and ST are indices of a Sobol design; this sweep's is {design['kind']}")
    if query.what not in sweep.metrics:
        raise ValueError(f"{query.what!r} is not a run metric of this sweep.{suggest(query.what, sweep.metrics)}")
    found = SAMPLES.fullmatch(query.samples) if query.samples else None
    n_base = int(design["samples"])
    if found and found["count"]:
        n_base = int(found["count"])
    elif found and found["divisor"]:
        n_base //= int(found["divisor"])
    convergence = n_base != int(design["samples"])
    key = (query.what, convergence)
    if key not in indices:
        indices[key] = (sweep_convergence if convergence else sweep_indices)(sweep, [query.what])
    table = indices[key]
    factors = list(dict.fromkeys(table["factor"]))
    if query.of not in factors:
        raise ValueError(f"of={query.of}: not a factor of this sweep; factors: {', '.join(factors)}")
    rows = table[table["factor"] == query.of]
    if convergence:
        sizes = sorted(set(rows["n_base"]))
        rows = rows[rows["n_base"] == n_base]
        if rows.empty:
            raise ValueError(f"n={query.samples}: the convergence table has base samples {', '.join(map(str, sizes))}")
    value, half = float(rows[query.index].iloc[0]), float(rows[f"{query.index}_conf"].iloc[0])
    return Answer(n_base, value, value - half, value + half, difference=False)


def formatted(answer: Answer, query: Query) -> str:
    """The answer as the query shows it (module docstring)."""
    scale, suffix = UNITS[query.unit]
    points = " points" if suffix and answer.difference else ""  # a difference of shares is in points
    suffix = "" if points else suffix
    mean, low, high = answer.mean * scale, answer.low * scale, answer.high * scale
    half = (high - low) / 2
    place = rounding_place({"mean": [mean], "pm": [mean, half]}.get(query.show, [mean, low, high]), query.sig)

    def number(value: float, signed: bool = answer.difference) -> str:
        return "n/a" if math.isnan(value) else f"{fixed(value, place, signed)}{suffix}"

    if query.show == "pm":
        text = f"{number(mean)} ± {'n/a' if math.isnan(half) else fixed(half, place)}{' points' if suffix else ''}"
    elif query.show == "ci":
        text = f"{number(mean)} ({number(low)} to {number(high)})"
    elif query.show == "interval":
        text = f"{number(low)} to {number(high)}"
    else:
        text = number(mean)
    return text + points


def fill(text: str, sweep: Sweep, where: str = "README", broken: list[str] | None = None) -> tuple[str, int]:
    """``text`` with every quote answered from ``sweep``, and how many quotes it has.

    Args:
        text: The Markdown.
        sweep: The sweep the numbers come from.
        where: The file's name, for messages.
        broken: Where to list the claims the numbers break (a quick run's noise may), instead
            of raising.

    Raises:
        ConfigError: A quote is not closed on its line, its query is wrong, or (without
            ``broken``) the numbers break its claim; the message names its line.
    """
    for opening in OPENING.finditer(text):
        if not QUOTE.match(text, opening.start()):
            raise ConfigError(
                f"{where}:{_line(text, opening.start())}: a quote without its closing <!-- /n --> on the same line"
            )
    indices: dict[tuple, pd.DataFrame] = {}  # a Sobol analysis per metric, shared by the quotes

    def replace(match: re.Match[str]) -> str:
        where_quote = f"{where}:{_line(text, match.start())}: <!-- n {match['query']} -->"
        try:
            query = parse(match["query"])
            found = answer(sweep, query, indices)
        except (ValueError, ConfigError) as exc:
            raise ConfigError(f"{where_quote}: {exc}") from None
        shown = formatted(found, query)
        problem = ""
        if query.claim in CLAIMS and not CLAIMS[query.claim](found.low, found.high):
            problem = (
                f"{where_quote}: its sentence claims {query.claim}, but the interval is now "
                f"{formatted(found, dataclasses.replace(query, show='ci'))}; rewrite the sentence and its claim"
            )
        elif query.claim in RANKS and (beaten_by := _outranked(sweep, query, found.mean, where_quote)):
            problem = (
                f"{where_quote}: its sentence calls it the {query.claim} of its points ({shown}), but {beaten_by}; "
                "rewrite the sentence and the point it names"
            )
        if problem and broken is None:
            raise ConfigError(problem)
        if problem:
            broken.append(problem)
        return f"<!-- n {match['query']} -->{shown}<!-- /n -->"

    return QUOTE.sub(replace, text), len(QUOTE.findall(text))


def _outranked(sweep: Sweep, query: Query, mean: float, where_quote: str) -> str:
    """The first point of the query's ``among`` whose mean beats ``mean`` (its rank claim), as words, or ''."""
    levels = []
    for factor, within in query.among.items():
        if factor not in sweep.factors:
            raise ConfigError(f"{where_quote}: among: {factor} is not a factor of this sweep")
        if within is not None and not _numeric(sweep.design[factor]):
            raise ConfigError(f"{where_quote}: among: {factor}:low..high needs a numeric factor")
        values = list(dict.fromkeys(sweep.design[factor]))
        values = [v for v in values if within is None or within.low <= v <= within.high]
        if query.point[factor] not in values:
            raise ConfigError(f"{where_quote}: among: the point's {factor}={query.point[factor]} is not in its range")
        levels.append([(factor, v) for v in values])
    plain = dataclasses.replace(query, claim="", among={})
    for combination in itertools.product(*levels):
        other = dataclasses.replace(plain, point=query.point | dict(combination))
        found = answer(sweep, other)
        if found.mean < mean if query.claim == "lowest" else found.mean > mean:
            words = " ".join(f"{factor}={value}" for factor, value in combination)
            return f"{words} has {formatted(found, other)}"
    return ""


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def fill_file(readme: Path, sweep: Sweep, out: Path, note: str = "", broken: list[str] | None = None) -> int:
    """Write ``readme`` with its quotes answered from ``sweep`` to ``out``, ``note`` first; return how many it has.

    ``broken`` is as :func:`fill` takes it.
    """
    text, count = fill(readme.read_text(), sweep, str(readme), broken)
    out.write_text(note + text)
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
