"""``python -m sim.validate``: the model beside every public target, with pass or fail.

Runs every scenario the selected targets read over the same seeds (0 .. N-1, so contrasts are
paired by seed), computes each target on each seed, and prints and writes (``docs/validation.md``
and ``docs/figures/validation.png`` by default) the model's mean, its 95% interval and the
runs' spread beside the public value and range. It reports; it is not a test: it exits 0
whatever passes, and 2 on bad input.

Pass rule (docs/calibration.md):

- a range target passes when the model's mean over seeds lies inside the public range (a null
  bound is open);
- a sign target (a contrast between two scenarios, or a trend) passes when the whole 95%
  confidence interval of the mean lies on the stated side of zero.

A target whose columns, months or scenarios the model does not have is "not computable"
(with the reason) and counts as neither.
"""

from __future__ import annotations

import argparse
import logging
import math
import subprocess
import sys
import textwrap
import time
from collections.abc import Mapping
from concurrent.futures import as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from sim.commands import at_least, fixed, quiet_when_output_closes, rounding_place
from sim.config import Config
from sim.intervals import t_half_width
from sim.loading import load_config
from sim.results import check_writable
from sim.run import run
from sim.schema import ConfigError, with_settings
from sim.sweep.executors import open_executor
from sim.sweep.experiment import Executor, ExecutorKind
from sim.targets import DEFAULT_TARGETS, NotComputable, Role, RunData, Scenario, Target, load_targets

EXIT_BAD_INPUT = 2
#: Seeds per scenario: the crackdown's paired contrast through Malaysia has a seed-to-seed sd near
#: 18,000 H100e against a mean near 4,700 (900 seeds), so 100 seeds (95% interval +-3,600) leave
#: zero inside the interval about a quarter of the time; 400 (+-1,800) resolve it.
DEFAULT_SEEDS = 400
QUICK_SEEDS = 10
DOCS_DIR = Path(__file__).resolve().parent.parent / "docs"
#: Where a partial run (fewer seeds, some targets, overrides) writes by default: never over the docs.
QUICK_OUT = Path("results") / "validation"


class Status:
    """The verdict on a target."""

    PASS = "pass"
    FAIL = "fail"
    NOT_COMPUTABLE = "not computable"


@dataclass(frozen=True)
class Assessment:
    """A target's model values over seeds, judged against its public figure.

    Attributes:
        n: Seeds with a value.
        mean: Mean over seeds.
        ci_low: Lower end of the t-based 95% confidence interval of the mean.
        ci_high: Upper end of it.
        spread_low: 2.5th percentile of the per-seed values.
        spread_high: 97.5th percentile.
        status: pass, fail or not computable.
        reason: Why it is not computable ('' otherwise).
    """

    n: int
    mean: float
    ci_low: float
    ci_high: float
    spread_low: float
    spread_high: float
    status: str
    reason: str = ""


def judge(target: Target, values: list[float] | np.ndarray, reason: str = "") -> Assessment:
    """Judge a target on its per-seed values by the pass rule of this module.

    Args:
        target: The target.
        values: One value per seed (NaN values are dropped).
        reason: Why values are missing, if they are.
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if len(x) == 0:
        nan = math.nan
        return Assessment(0, nan, nan, nan, nan, nan, Status.NOT_COMPUTABLE, reason or "no seed gave a value")
    mean = float(x.mean())
    half = float(t_half_width(x.std(ddof=1), len(x))) if len(x) > 1 else math.inf
    ci_low, ci_high = mean - half, mean + half
    low, high = target.public.bounds()
    # a range: the mean inside it; a sign: the whole interval of the mean on that side of zero
    passed = low <= mean <= high if target.public.sign is None else low < ci_low and ci_high < high
    spread_low, spread_high = (float(v) for v in np.percentile(x, [2.5, 97.5]))
    return Assessment(len(x), mean, ci_low, ci_high, spread_low, spread_high, Status.PASS if passed else Status.FAIL)


def compose_scenarios(scenarios: Mapping[str, Scenario], extra: list[str]) -> tuple[dict[str, Config], dict[str, str]]:
    """Compose each scenario's config (with ``extra`` overrides); a scenario that cannot be composed is reported.

    Returns:
        The configs by scenario, and the error message of each scenario that failed.
    """
    configs, broken = {}, {}
    for name, scenario in scenarios.items():
        try:
            configs[name] = load_config([*scenario.overrides, *extra])
        except ConfigError as exc:
            broken[name] = str(exc)
    return configs, broken


def seed_values(configs: Mapping[str, Config], targets: Mapping[str, Target], seed: int) -> dict[str, float | str]:
    """Run every scenario once with ``seed`` and compute every target on these paired runs.

    Returns:
        Each target's value, or the reason it is not computable.
    """
    logging.getLogger("mesa").setLevel(logging.WARNING)
    runs: dict[str, RunData] = {}
    failed: dict[str, str] = {}
    for name, cfg in configs.items():
        try:
            result = run(with_settings(cfg, {"seed": seed}))
        except Exception as exc:  # a model error makes the targets on this scenario not computable
            failed[name] = f"the {name} run failed: {type(exc).__name__}: {exc}"
            continue
        runs[name] = RunData(result.timeseries, result.summary)
    out: dict[str, float | str] = {}
    for name, target in targets.items():
        down = [failed[s] for s in target.scenarios() if s in failed]
        try:
            out[name] = down[0] if down else target.compute(runs)
        except NotComputable as exc:
            out[name] = str(exc)
    return out


def run_targets(
    configs: Mapping[str, Config],
    targets: Mapping[str, Target],
    seeds: list[int],
    workers: int | None = None,
    progress: bool = True,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Compute every target on every seed, one task per seed, on local worker processes.

    Returns:
        The values (one row per seed, one column per target, NaN where not computable) and,
        for each target not computable on some seed, the first reason.
    """
    kind = ExecutorKind.SERIAL if workers == 1 else ExecutorKind.LOCAL
    rows: dict[int, dict[str, float | str]] = {}
    with open_executor(Executor(kind=kind, workers=workers)) as (pool, _):
        futures = {pool.submit(seed_values, dict(configs), dict(targets), s): s for s in seeds}
        for future in tqdm(as_completed(futures), total=len(futures), desc="seeds", disable=not progress):
            rows[futures[future]] = future.result()
    reasons: dict[str, str] = {}
    values = pd.DataFrame(index=pd.Index(seeds, name="seed"), columns=list(targets), dtype=float)
    for seed, row in rows.items():
        for name, value in row.items():
            if isinstance(value, str):
                reasons.setdefault(name, value)
            else:
                values.loc[seed, name] = value
    return values, reasons


def assess(targets: Mapping[str, Target], values: pd.DataFrame, reasons: Mapping[str, str]) -> dict[str, Assessment]:
    """Judge every target on its column of ``values``."""
    return {name: judge(t, values[name].to_numpy(), reasons.get(name, "")) for name, t in targets.items()}


# ---------------------------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------------------------


def number(x: float | None) -> str:
    """A number for the table: 3 significant figures, thousands grouped, B and M for big ones."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    scale, suffix = _scale(abs(x))
    if suffix:
        return f"{x / scale:.3g}{suffix}"
    if abs(x) >= 1000:
        return f"{float(f'{x:.3g}'):,.0f}"
    return f"{x:.3g}"


def _scale(largest: float) -> tuple[float, str]:
    """The divisor and suffix the tables write a number of this size with: B, M or none."""
    return (1e9, "B") if largest >= 1e9 else (1e6, "M") if largest >= 1e6 else (1.0, "")


def interval(mean: float, low: float, high: float) -> str:
    """A model mean and its interval for the tables: 3 significant figures of the largest, one place for all."""
    if any(math.isnan(v) or math.isinf(v) for v in (mean, low, high)):
        return f"{number(mean)} [{number(low)}, {number(high)}]"
    scale, suffix = _scale(max(abs(mean), abs(low), abs(high)))
    place = rounding_place([v / scale for v in (mean, low, high)], 3)
    low_text, high_text = (f"{fixed(v / scale, place)}{suffix}" for v in (low, high))
    return f"{fixed(mean / scale, place)}{suffix} [{low_text}, {high_text}]"


def public_text(target: Target) -> str:
    """The public figure as shown in the table."""
    p = target.public
    if p.sign is not None:
        return "> 0" if p.sign == "positive" else "< 0"
    low, high = number(p.low) if p.low is not None else "", number(p.high) if p.high is not None else ""
    rng = f"{low}-{high}" if low and high else (f">= {low}" if low else f"<= {high}")
    return f"{number(p.value)} ({rng})" if p.value is not None else rng


def scenario_text(target: Target) -> str:
    """The scenario column: a scenario, a contrast 'a - b', or the scenarios an expression reads with at()."""
    return f"{target.scenario} - {target.versus}" if target.versus else ", ".join(target.scenarios())


def table_rows(targets: Mapping[str, Target], results: Mapping[str, Assessment]) -> list[list[str]]:
    """One row per target: name, role, runs, public, unit, model mean [CI], spread, n, result."""
    rows = []
    for name, t in targets.items():
        a = results[name]
        model = interval(a.mean, a.ci_low, a.ci_high) if a.n else "-"
        spread = f"{number(a.spread_low)} to {number(a.spread_high)}" if a.n else "-"
        rows.append([name, t.role.value, scenario_text(t), public_text(t), t.unit, model, spread, str(a.n), a.status])
    return rows


HEADER = ["target", "role", "runs", "public", "unit", "model mean [95% CI]", "runs 2.5-97.5%", "n", "result"]


def print_table(targets: Mapping[str, Target], results: Mapping[str, Assessment]) -> str:
    """The results as a plain-text table."""
    rows = [HEADER, *table_rows(targets, results)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def tally(results: Mapping[str, Assessment], targets: Mapping[str, Target], role: Role) -> str:
    """'2 of 4 pass (1 not computable)' for one role."""
    mine = [results[n] for n, t in targets.items() if t.role is role]
    passed = sum(a.status == Status.PASS for a in mine)
    missing = sum(a.status == Status.NOT_COMPUTABLE for a in mine)
    return f"{role.value}: {passed} of {len(mine)} pass" + (f" ({missing} not computable)" if missing else "")


def markdown(
    targets: Mapping[str, Target], results: Mapping[str, Assessment], command: str, seeds: int, figure: str
) -> str:
    """docs/validation.md: the command, date, commit, pass rule, table, reasons and sources."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Validation: the model beside the public targets",
        "",
        f"Generated by `{command}` on {stamp} at commit `{_commit()}`, {seeds} seeds "
        "(0 .. N-1, the same in every scenario, so contrasts are paired by seed). Do not edit: rerun the command.",
        "The targets, their sources and the expression language are in `configs/targets/targets.yaml` "
        "and [calibration.md](calibration.md).",
        "",
        "**Pass rule.** A range target passes when the model's mean over seeds lies inside the public range "
        "(a missing bound is open). A sign target (a contrast between two scenarios, or a trend) passes when "
        "the whole 95% confidence interval of the mean lies on the stated side of zero. The interval is the "
        "t-based 95% confidence interval of the mean; the runs' 2.5-97.5% percentiles show the spread of single "
        "runs. A target whose columns, months or scenarios the model lacks is not computable and counts as "
        "neither.",
        "",
        " ".join(f"{tally(results, targets, role)}." for role in Role if any(t.role is role for t in targets.values())),
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
    ]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in table_rows(targets, results)]
    vector = Path(figure).with_suffix(".pdf").as_posix()
    lines += ["", f"![targets as ranges, model as intervals]({figure}) (vector: [{vector}]({vector}))", ""]
    missing = [(n, a.reason) for n, a in results.items() if a.status == Status.NOT_COMPUTABLE]
    if missing:
        lines += ["## Not computable", ""] + [f"- `{n}`: {reason}" for n, reason in missing] + [""]
    lines += ["## Targets and sources", ""]
    for name, t in targets.items():
        s = t.source
        lines.append(
            f"- **`{name}`** ({t.role.value}): {t.description} Model: `{' '.join(t.expression.split())}` "
            f'on `{scenario_text(t)}`. Source [{s.cite}]: {s.publisher}, "{s.title}", {s.date}. '
            f"Counts: {' '.join(s.counts.split())}" + (f" Like for like: {' '.join(t.note.split())}" if t.note else "")
        )
    return "\n".join(lines) + "\n"


#: Where the generated summary table goes in the ODD (section 1.2) and the README.
SUMMARY_FILES = (DOCS_DIR / "ODD.md", DOCS_DIR.parent / "README.md")
BEGIN, END = "<!-- validation table: generated by python -m sim.validate -->", "<!-- end of validation table -->"


def summary_table(targets: Mapping[str, Target], results: Mapping[str, Assessment], seeds: int) -> str:
    """The short table the ODD's patterns section and the README quote: target, source, public, model, result."""
    lines = [
        f"{' '.join(f'{tally(results, targets, role)}.' for role in Role)} ({seeds} seeds; `docs/validation.md`)",
        "",
        "| target | role | source | public | model mean [95% CI] | result |",
        "|---|---|---|---|---|---|",
    ]
    for name, t in targets.items():
        a = results[name]
        model = interval(a.mean, a.ci_low, a.ci_high) if a.n else "-"
        lines.append(
            f"| `{name}` | {t.role.value} | [{t.source.cite}] | {public_text(t)} {t.unit} | {model} | {a.status} |"
        )
    return "\n".join(lines)


def write_summary(path: Path, table: str) -> None:
    """Replace the text between the generated-table markers of ``path`` (left alone if it has none)."""
    text = path.read_text()
    if BEGIN not in text or END not in text:
        return
    head, rest = text.split(BEGIN, 1)
    path.write_text(f"{head}{BEGIN}\n{table}\n{END}{rest.split(END, 1)[1]}")


def _commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip()


def write_figure(targets: Mapping[str, Target], results: Mapping[str, Assessment], path: Path) -> None:
    """One row per target: the public range shaded, its value a line, the model's mean with its intervals.

    Drawn in the paper style of ``sim.report.style`` (two columns wide), each axis in the tables'
    units (B, M or none) with thousands separators, each row titled in full (wrapped); written as
    ``path`` (PNG, 300 dpi) and beside it as vector PDF.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    from sim.report.specs import PNG_DPI
    from sim.report.style import OKABE_ITO, theme, width

    public, passing, failing = OKABE_ITO[2], OKABE_ITO[4], OKABE_ITO[5]  # green, blue, vermillion
    names = list(targets)
    with theme("paper"):
        chars = int(width("two_column") * 72 / (0.55 * plt.rcParams["axes.titlesize"]))
        titles = [
            textwrap.fill(f"{results[n].status}: {n} ({targets[n].unit}): {targets[n].description.rstrip('.')}", chars)
            for n in names
        ]
        line_in = 1.2 * plt.rcParams["axes.titlesize"] / 72
        heights_in = [0.62 + title.count("\n") * line_in for title in titles]  # every row's axis alike
        fig, axes = plt.subplots(
            len(names),
            1,
            figsize=(width("two_column"), sum(heights_in) + 0.5),
            height_ratios=heights_in,
            squeeze=False,
            layout="constrained",
        )
        for ax, name, title in zip(axes[:, 0], names, titles, strict=True):
            t, a = targets[name], results[name]
            low, high = t.public.bounds()
            shown = (low, high, t.public.value, a.spread_low, a.spread_high, a.mean)
            known = [v for v in shown if v is not None and np.isfinite(v)]
            if t.public.sign is not None:
                known.append(0.0)
            lo, hi = (min(known), max(known)) if known else (0.0, 1.0)
            pad = (hi - lo) * 0.1 or abs(hi) * 0.1 or 1.0
            lo, hi = lo - pad, hi + pad
            ax.axvspan(max(low, lo), min(high, hi), color=public, alpha=0.25, lw=0)
            if t.public.value is not None:
                ax.axvline(t.public.value, color=public, lw=1.5)
            if t.public.sign is not None:
                ax.axvline(0.0, color="grey", lw=0.8)
            if a.n:
                colour = passing if a.status == Status.PASS else failing
                ax.plot([a.spread_low, a.spread_high], [0, 0], color=colour, lw=1, alpha=0.5)
                ci = [[a.mean - a.ci_low], [a.ci_high - a.mean]]
                ax.errorbar(a.mean, 0, xerr=ci, fmt="o", color=colour, capsize=3)
            else:
                ax.text(0.5, 0.5, "not computable", transform=ax.transAxes, ha="center", va="center")
            scale, suffix = _scale(max(abs(lo), abs(hi)))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _, s=scale, u=suffix: f"{v / s:,.6g}{u}"))
            ax.set_xlim(lo, hi)
            ax.set_ylim(-1, 1)
            ax.set_yticks([])
            ax.spines["left"].set_visible(False)
            ax.set_title(title, loc="left")
        fig.suptitle(
            "Public targets (green: range, line: value) and the model\n"
            "(mean with 95% CI; thin line: runs 2.5-97.5%; blue: pass, vermillion: fail)"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=PNG_DPI)
        fig.savefig(path.with_suffix(".pdf"))
    plt.close(fig)


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command-line options."""
    parser = argparse.ArgumentParser(prog="python -m sim.validate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=at_least(2), default=None, help=f"seeds per scenario (default {DEFAULT_SEEDS})")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SEEDS} seeds, for a first look")
    parser.add_argument("--role", choices=[r.value for r in Role], help="only the calibration or validation targets")
    parser.add_argument("--target", action="append", default=[], help="only this target (repeatable)")
    parser.add_argument("--targets", type=Path, default=DEFAULT_TARGETS, help="target file")
    parser.add_argument(
        "--override",
        action="append",
        default=[],
        help="Hydra override applied to every scenario (repeatable), e.g. calibrated=<name> or ~calibrated",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"folder for validation.md and figures/ (default: docs/ for the full run of every target with "
        f"{DEFAULT_SEEDS} seeds, which also updates the tables quoted in README.md and docs/ODD.md; else {QUICK_OUT})",
    )
    parser.add_argument("--workers", type=at_least(1), default=None, help="worker processes (default: every core)")
    return parser.parse_args(argv)


def is_full_run(args: argparse.Namespace, n_seeds: int) -> bool:
    """Whether the run is the one the docs quote: every default target, no override, the default seeds."""
    default_targets = args.targets.resolve() == DEFAULT_TARGETS.resolve()
    return n_seeds == DEFAULT_SEEDS and default_targets and not (args.role or args.target or args.override)


def main(argv: list[str] | None = None) -> int:
    """Run the validation and write its report; 0 whatever passes, 2 on bad input."""
    args = parse_args(argv)
    n_seeds = args.seeds or (QUICK_SEEDS if args.quick else DEFAULT_SEEDS)
    full = is_full_run(args, n_seeds)
    out = args.out or (DOCS_DIR if full else QUICK_OUT)
    began = time.perf_counter()
    try:
        target_file = load_targets(args.targets)
        targets = target_file.select(Role(args.role) if args.role else None, args.target)
        if not targets:
            raise ConfigError(f"no {args.role or ''} target in {args.targets}")
        configs, broken = compose_scenarios(target_file.scenarios_for(targets), args.override)
        check_writable(out / "figures", "give --out a folder you can write")  # before the runs, not after
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if "baseline" in broken:
        print(f"error: {broken['baseline']}", file=sys.stderr)
        return EXIT_BAD_INPUT
    runnable = {n: t for n, t in targets.items() if not any(s in broken for s in t.scenarios())}
    print(f"{len(targets)} targets, scenarios {', '.join(configs)}, {n_seeds} seeds each")
    values, reasons = run_targets(configs, runnable, list(range(n_seeds)), args.workers)
    for name, t in targets.items():
        down = [s for s in t.scenarios() if s in broken]
        if down:
            reasons[name] = f"scenario {down[0]} cannot be composed: {broken[down[0]]}"
            values[name] = np.nan
    results = assess(targets, values, reasons)
    print(print_table(targets, results))
    print(
        " ".join(f"{tally(results, targets, role)}." for role in Role if any(t.role is role for t in targets.values()))
    )
    for name, a in results.items():
        if a.status == Status.NOT_COMPUTABLE:
            print(f"  not computable: {name}: {a.reason}")
    figure = out / "figures" / "validation.png"
    write_figure(targets, results, figure)
    command = " ".join(["python -m sim.validate", *(sys.argv[1:] if argv is None else argv)])
    report = out / "validation.md"
    out.mkdir(parents=True, exist_ok=True)
    report.write_text(markdown(targets, results, command, n_seeds, figure.relative_to(out).as_posix()))
    if full and out.resolve() == DOCS_DIR.resolve():
        for path in SUMMARY_FILES:  # only the full run of the default targets updates the quoted tables
            write_summary(path, summary_table(targets, results, n_seeds))
    print(f"wrote {report} and {figure} in {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    with quiet_when_output_closes():
        sys.exit(main())
