"""``python -m sim [overrides]``: run one scenario and write its results (``--help`` lists the options).

Any config key can be overridden Hydra-style
(``python -m sim scenario=crackdown_singapore policy.end_user_audits.audit_rate=0.2 seed=7``);
``settings=<file>`` runs a settings file (:mod:`sim.settings_file`), overrides after it apply on
top; ``replications=10`` (or ``seeds=0-9``) runs the config over several seeds and prints the
mean and 95% t interval of each row; ``-m`` runs a Hydra multirun over comma-separated values,
one run folder per job under ``results/multirun/<timestamp>/<job>``. A bad key, value or
settings file exits with code 2 and one message naming it; a timeline event that changes a value
the overrides set is named in a warning; the run's folder is printed on the last line.

Only what a run needs is imported here (the model, results writing and the one chart), not the
sweep engine or its analysis stack, so the command starts quickly.
"""

from __future__ import annotations

import logging
import math
import os
import re
import shutil
import sys
import textwrap
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import hydra
import yaml
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from sim.channels import ILLICIT_CHANNELS, SMUGGLED_CHIP
from sim.commands import EXIT_INTERRUPTED, counted, quiet_when_output_closes, version_text
from sim.config import Config
from sim.loading import (
    CONFIG_DIR,
    GROUPS,
    LEVER_OFF,
    ConfigError,
    check_multirun,
    first_job,
    group_options,
    lever_groups,
    load_config,
    refuse_keys_given_twice,
    resolved,
    switched_off,
    timeline_warnings,
    user_values,
    validate,
    with_lever_groups,
)
from sim.report.names import SOURCE_ORDER, label
from sim.results import interval_table, new_run_dir, new_timestamped_dir, write_replications, write_run
from sim.run import RunResult, run
from sim.schema import suggest, with_settings
from sim.settings_file import settings_overrides
from sim.timeline import month_labels
from sim.workers import interrupts_deferred, process_context

EXIT_BAD_CONFIG = 2
#: Most seeds one command runs; more is a sweep (python -m sim.sweep).
MAX_REPLICATIONS = 10_000
#: Replications run in worker processes once they add up to this many simulated months (a
#: worker takes seconds to start; a 36-month run a tenth of a second).
POOL_MIN_MONTHS = 1_500
#: The module a worker process preloads.
WORKER_MODULE = "sim.run"
#: Every flag Hydra 1.3 reads (``python -m sim --hydra-help``); any other is refused.
HYDRA_FLAGS = frozenset(
    (
        *("--cfg", "-c", "--config-dir", "-cd", "--config-name", "-cn", "--config-path", "-cp"),
        *("--experimental-rerun", "--help", "-h", "--hydra-help", "--info", "-i", "--multirun", "-m"),
        *("--package", "-p", "--resolve", "--run", "-r", "--shell-completion", "-sc", "--version"),
    )
)
#: Hydra's flags this command does not take: it composes ``configs/config.yaml`` itself, checking every value first.
UNAVAILABLE_FLAGS = frozenset(
    (
        *("--config-dir", "-cd", "--config-name", "-cn", "--config-path", "-cp"),
        *("--shell-completion", "-sc", "--experimental-rerun"),
    )
)
#: Hydra's flags that choose what it does (run, run a grid, print the config, print information): one at most.
MODE_FLAGS = {"-m": "-m", "--multirun": "-m", "--cfg": "--cfg", "-c": "--cfg", "--info": "--info", "-i": "--info"}
#: Hydra's flags that take the next argument as their value (``--cfg job``).
FLAGS_WITH_VALUE = frozenset(
    ("--cfg", "-c", "--package", "-p", "--config-path", "-cp", "--config-name", "-cn", "--config-dir", "-cd")
)
#: Hydra's flag whose value is optional (``--info`` or ``--info config``), and the values it takes.
INFO_FLAGS, INFO_VALUES = (
    frozenset(("--info", "-i")),
    frozenset(("all", "config", "defaults", "defaults-tree", "plugins", "searchpath")),
)


@dataclass(frozen=True)
class Row:
    """One line of the printed table: a summary metric, its label and its unit."""

    key: str
    text: str
    unit: str  # "%", "H100e", "H100e-months" or "entities"


#: The printed table: shares as percentages, chips in H100e, compute in H100e-months.
SUMMARY_ROWS: tuple[Row, ...] = (
    Row("access_ratio", "compute used / demanded, whole run", "%"),
    Row("access_ratio_final", "compute used / demanded, last month", "%"),
    *(Row(f"channel_share_{s}", f"share of compute used: {label(s).lower()}", "%") for s in SOURCE_ORDER),
    Row("smuggled_h100e_total", "chips smuggled", "H100e"),
    Row("seized_h100e_total", "chips seized", "H100e"),
    Row("detection_rate", "illicit transactions detected", "%"),
    Row("listed_entities_final", "entities listed", "entities"),
    Row("legit_denied_h100e_months_total", "legitimate demand denied", "H100e-months"),
)
#: Width of the notes under the table and of the help.
NOTE_WIDTH = HELP_WIDTH = 100
#: What the rows mean, printed under the table.
ROW_NOTES: tuple[str, ...] = (
    "H100e: chips counted in H100-equivalents (compute relative to an Nvidia H100); "
    "an H100e-month is one H100e used for a month.",
    "compute used / demanded: the share of the Chinese AI firms' demand for compute (H100e-months) "
    "they met from any source, over the whole run and in its last month.",
    "share of compute used: where the compute they used came from over the run; the shares add up to 100%.",
    "chips smuggled: chips shipped to China through third countries by smugglers over the run, seized or not; "
    "chips seized: the part of them seized when a shipment was caught.",
    "illicit transactions detected: detected / attempted transactions through the illicit channels "
    f"({', '.join(label(c).lower() for c in ILLICIT_CHANNELS)}); n/a when none was attempted.",
    "entities listed: intermediaries and firms on the entity list at the end of the run.",
    "legitimate demand denied: compute that lawful customers of data centres abroad wanted and did not get, "
    "refused by KYC screening (mostly its false positives, world.operators.kyc_false_positive_rate, which "
    "refuse lawful customers with no controls too) or lost when a caught operator's capacity was cut.",
)


@dataclass
class Request:
    """What the command line asks for, split from the Hydra overrides.

    Attributes:
        overrides: Hydra overrides, a settings file expanded in its place.
        changes: What the user changed, as typed (a settings file as ``settings=<name>``; the
            scenario, paths and replications left out): the header, chart title and folder name.
        settings: Each settings file given and the overrides it stands for.
        seeds: Seeds asked for by ``replications=`` or ``seeds=``; empty for one run.
        seeds_arg: ``replications=10`` or ``seeds=0-9`` as typed, for the folder name.
        flags: Arguments for Hydra itself (``-m``, ``--cfg job``).
    """

    overrides: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    settings: list[tuple[str, list[str]]] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)
    seeds_arg: str = ""
    flags: list[str] = field(default_factory=list)

    @property
    def multirun(self) -> bool:
        """Whether Hydra's multirun (``-m``) was asked for."""
        return any(a in ("-m", "--multirun") for a in self.flags)


#: The request of this command, for the Hydra entry point (which receives only the config).
_request = Request()


def _refuse_settings_at_odds(earlier: list[tuple[str, list[str]]], path: str, expanded: list[str]) -> None:
    """Raise :class:`ConfigError` if an earlier settings file sets a key of ``path``'s to another value.

    Files that agree stack; where they differ, the last would win silently, and which one the
    user meant, only they know.
    """
    values = dict(override.split("=", 1) for override in expanded)
    for other, other_expanded in earlier:
        for override in other_expanded:
            key, _, value = override.partition("=")
            if key in values and values[key] != value:
                raise ConfigError(
                    f"settings={other} sets {override} and settings={path} sets {key}={values[key]}: give one "
                    f"file, or make them agree on {key}"
                )


def _refuse_typed_before(typed: list[str], path: str, expanded: list[str]) -> None:
    """Raise :class:`ConfigError` if a value typed before ``settings=path`` is one the file sets otherwise.

    The file's value would replace it silently; a value typed after the file changes it.
    """
    values = dict(override.split("=", 1) for override in expanded)
    for arg in typed:
        key, _, value = arg.lstrip("+").partition("=")
        if key in values and values[key] != value:
            raise ConfigError(
                f"{arg} comes before settings={path}, which sets {key}={values[key]} and would replace it: "
                f"put {arg} after settings={path} to change the file's value"
            )


def _is_change(override: str) -> bool:
    """Whether an override changes the model (the scenario, output paths and Hydra's keys are shown apart)."""
    key = override.lstrip("+~").partition("=")[0]
    return key != "scenario" and key.split(".")[0] not in ("paths", "hydra")


def parse_seeds(key: str, value: str) -> list[int]:
    """Seeds of ``replications=N`` (from seed 0; :func:`parse_args` shifts them) or ``seeds=A-B`` / ``seeds=1,5,9``.

    Raises:
        ConfigError: Not a count of at least 2, or not a range or list of distinct seeds.
    """
    if key == "replications":
        if not re.fullmatch(r"\d+", value) or not 2 <= int(value) <= MAX_REPLICATIONS:
            raise ConfigError(
                f"replications={value}: expected a whole number from 2 to {MAX_REPLICATIONS:,} "
                "(e.g. replications=10); leave it out for one run"
            )
        return list(range(int(value)))
    span = re.fullmatch(r"(\d+)-(\d+)", value)
    if span and int(span[1]) < int(span[2]):
        seeds = list(range(int(span[1]), int(span[2]) + 1))
    elif re.fullmatch(r"\d+(,\d+)+", value) and len(set(value.split(","))) == len(value.split(",")):
        seeds = [int(s) for s in value.split(",")]
    else:
        raise ConfigError(
            f"seeds={value}: expected a range of seeds A-B with A < B (e.g. seeds=0-9) or a list of "
            "different seeds (e.g. seeds=1,5,9)"
        )
    if len(seeds) > MAX_REPLICATIONS:
        raise ConfigError(
            f"seeds={value}: {len(seeds):,} seeds; at most {MAX_REPLICATIONS:,} (or use python -m sim.sweep)"
        )
    return seeds


def parse_args(argv: Sequence[str]) -> Request:
    """Split the arguments into Hydra overrides and flags, expanding settings files and taking out seed lists.

    Raises:
        ConfigError: A settings file cannot be read, seeds are asked for wrongly, an argument is
            neither ``key=value``, ``~key`` nor a flag, or a flag lacks its value.
    """
    request = Request()
    base_seed: str | None = None
    typed: list[str] = []  # the overrides typed on the command line (not those of a settings file)
    for i, arg in enumerate(argv):
        key, sep, value = arg.partition("=")
        after = argv[i - 1] if i > 0 else ""
        if (
            arg.startswith("-")
            or (after in FLAGS_WITH_VALUE and not sep)
            or (after in INFO_FLAGS and arg in INFO_VALUES)
        ):
            following = argv[i + 1] if i + 1 < len(argv) else "="
            if arg.startswith("-") and arg not in HYDRA_FLAGS:
                raise ConfigError(
                    f"{arg}: unknown flag; this command's are -m, --help and --version, Hydra's are listed by "
                    f"--hydra-help.{suggest(arg, sorted(HYDRA_FLAGS))}"
                )
            if arg in UNAVAILABLE_FLAGS:
                raise ConfigError(
                    f"{arg}: Hydra's flag is not available here: this command composes configs/config.yaml itself "
                    "and checks every value first; change values with key=value or settings=<file> (see --help)"
                )
            if arg in FLAGS_WITH_VALUE and (following.startswith("-") or "=" in following):
                raise ConfigError(f"{arg} needs a value (e.g. --cfg job); see --hydra-help")
            request.flags.append(arg)
            if arg in INFO_FLAGS and following not in INFO_VALUES:
                request.flags.append("all")  # its default, named: else Hydra would take the next argument
        elif not sep and not arg.startswith("~"):
            raise ConfigError(
                f"{arg}: expected key=value (e.g. months=12), ~key to remove an entry (e.g. ~timeline.<event>) "
                "or a flag (--help)"
            )
        elif key == "settings":
            expanded = settings_overrides(value)
            _refuse_settings_at_odds(request.settings, value, expanded)
            _refuse_typed_before(typed, value, expanded)
            request.overrides += expanded
            request.settings.append((value, expanded))
            request.changes.append(f"settings={Path(value).name}")
        elif key in ("replications", "seeds"):
            if request.seeds_arg:
                refuse_keys_given_twice([request.seeds_arg, arg])
                raise ConfigError(f"{request.seeds_arg} and {arg}: give one of replications=N or seeds=A-B")
            request.seeds, request.seeds_arg = parse_seeds(key, value), arg
        else:
            typed.append(arg)
            request.overrides.append(arg)
            if key == "seed":
                base_seed = value
            if _is_change(arg):
                request.changes.append(arg)
    modes = sorted({MODE_FLAGS[f] for f in request.flags if f in MODE_FLAGS})
    if len(modes) > 1:
        raise ConfigError(f"{' and '.join(modes)}: Hydra does one of them at a time; give one")
    refuse_keys_given_twice(typed)
    for arg in typed:
        path = arg.partition("=")[0].lstrip("+~")
        if path.startswith("hydra.run.") or (path.startswith("hydra.sweep.") and not request.multirun):
            raise ConfigError(
                f"{arg}: this command does not use {path}; results go under paths.results "
                "(runs/<scenario>/<time>/, or multirun/<time>/ with -m): set paths.results=<folder> instead"
            )
    if request.seeds_arg:
        if request.multirun:
            raise ConfigError(
                f"{request.seeds_arg}: replications run one config over several seeds and do not combine with -m; "
                "for a grid with replications use python -m sim.sweep"
            )
        if request.flags:
            raise ConfigError(f"{request.seeds_arg}: Hydra's flags ({' '.join(request.flags)}) go with one run only")
        if base_seed is not None and request.seeds_arg.startswith("seeds="):
            raise ConfigError(f"seed={base_seed} and {request.seeds_arg}: name seeds once")
        if base_seed is not None and re.fullmatch(r"\d+", base_seed):  # replications=N from seed=S: S .. S+N-1
            request.seeds = [int(base_seed) + s for s in request.seeds]
    return request


# --- the printed table ---------------------------------------------------------------------------------


def _number(value: float, unit: str, mean: bool = False) -> str:
    """A value in its row's unit: percentages with one decimal, volumes with thousands separators."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if unit == "%":
        return f"{100 * value:.1f}"
    if unit == "entities" and mean:
        return f"{value:,.1f}"
    return f"{value:,.0f}"


def _seed_text(seeds: list[int]) -> str:
    if seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]}-{seeds[-1]}"
    return ",".join(map(str, seeds))


def header(config: Config, changes: list[str], settings: Sequence[tuple[str, list[str]]] = ()) -> list[str]:
    """The lines naming the scenario, what was changed and the months run."""
    what = f"; changed: {' '.join(changes)}" if changes else ", as configured (no overrides)"
    lines = [f"scenario {config.name}{what}"]
    for path, expanded in settings:
        lines.append(f"  settings={path} sets: {' '.join(o for o in expanded if _is_change(o)) or 'nothing'}")
    months = month_labels(config.start, config.months)
    lines.append(f"{months[0]} to {months[-1]} ({counted(config.months, 'month')})")
    return lines


def summary_table(
    result: RunResult, changes: list[str] | None = None, settings: Sequence[tuple[str, list[str]]] = ()
) -> str:
    """The printed table of one run: header, each row with its unit, and what the rows mean."""
    cfg = result.config
    lines = header(cfg, changes or [], settings)
    lines[-1] += f", one seed ({cfg.seed}): numbers vary from seed to seed; use replications=10 for an interval"
    return _table(lines, [(_number(result.summary[row.key], row.unit),) for row in SUMMARY_ROWS], cfg)


def replications_table(
    results: list[RunResult], changes: list[str] | None = None, settings: Sequence[tuple[str, list[str]]] = ()
) -> str:
    """The printed table of one config over several seeds: each row's mean and 95% t interval of the mean."""
    seeds = [r.config.seed for r in results]
    lines = header(results[0].config, changes or [], settings)
    lines[-1] += f", {len(seeds)} seeds ({_seed_text(seeds)}): mean over seeds [95% t interval of the mean]"
    stats = interval_table(results).set_index("metric")
    cells = []
    for row in SUMMARY_ROWS:
        mean, low, high = (stats.loc[row.key, c] for c in ("mean", "ci_low", "ci_high"))
        interval = "[n/a]" if math.isnan(low) else f"[{_number(low, row.unit, True)}, {_number(high, row.unit, True)}]"
        cells.append((_number(mean, row.unit, True), interval))
    return _table(lines, cells, results[0].config)


def row_notes(config: Config) -> list[str]:
    """What the rows mean, and what they mean under this config where it differs (legal H100 sales)."""
    rule = config.policy.compliant_chips
    if not (rule.allowed and rule.chip == SMUGGLED_CHIP):
        return list(ROW_NOTES)
    return [
        *ROW_NOTES,
        f"here the {SMUGGLED_CHIP}, the chip smugglers sell, is sold to China legally (policy.compliant_chips."
        f"chip={SMUGGLED_CHIP}), so the smuggling channel is resellers abroad buying chips and shipping them on "
        "without breaking a rule; firms still buy some chips through it, dearer as they "
        "are, since the decision rule shares demand among options whose utilities are close (behaviour.temperature, "
        "docs/ODD.md section 7.12).",
    ]


def _table(lines: list[str], cells: Sequence[tuple[str, ...]], config: Config) -> str:
    """The header lines, one line per row (its label, its cells aligned, its unit) and the notes."""
    width = max(len(row.text) for row in SUMMARY_ROWS)
    widths = [max(len(c[i]) for c in cells) for i in range(len(cells[0]))]
    lines.append("")
    for row, values in zip(SUMMARY_ROWS, cells, strict=True):
        first, *rest = values
        shown = " ".join([f"{first:>{widths[0]}}", *(f"{v:<{w}}" for v, w in zip(rest, widths[1:], strict=True))])
        lines.append(f"  {row.text:<{width}}  {shown} {row.unit}")
    lines += ["", "what the rows mean:"]
    lines += [
        textwrap.fill(note, NOTE_WIDTH, initial_indent="  ", subsequent_indent="    ") for note in row_notes(config)
    ]
    return "\n".join(lines)


# --- running -------------------------------------------------------------------------------------------


def run_and_write(
    config: Config, folder: Path | None = None, changes: list[str] | None = None, overrides: list[str] | None = None
) -> tuple[RunResult, Path]:
    """Run a config and write its results and chart; return the result and its folder.

    Args:
        config: The validated config.
        folder: The folder to write into (a Hydra multirun job's); by default a new one,
            ``<paths.results>/runs/<scenario>/<timestamp>[_<changes>]``.
        changes: What the command line changed: named in the folder and the chart's title.
        overrides: The overrides the config was composed with, recorded in manifest.json.
    """
    folder = folder or new_run_dir(Path(config.paths.results), config.name, changes)  # checked writable first
    result = run(config)
    write_run(result, folder, overrides)
    _write_figure(result, folder, changes)
    return result, folder


def _write_figure(result: RunResult | list[RunResult], folder: Path, changes: list[str] | None) -> None:
    """Write the run's figure; matplotlib loads here, not when the command starts."""
    from sim.report.one_run import write_figure

    write_figure(result, folder, changes)


def run_seeds(configs: list[Config], workers: int | None = None) -> list[RunResult]:
    """Run configs (one per seed) in order, in worker processes when there is enough work.

    Args:
        configs: The configs to run.
        workers: Worker processes; by default every core once the runs add up to
            :data:`POOL_MIN_MONTHS` simulated months, else 1 (this process).
    """
    if workers is None:
        enough = sum(c.months for c in configs) >= POOL_MIN_MONTHS
        workers = min(len(configs), os.cpu_count() or 1) if enough else 1
    if workers <= 1:
        return [run(c) for c in configs]
    with ProcessPoolExecutor(workers, mp_context=process_context(WORKER_MODULE)) as pool:
        try:
            with interrupts_deferred():  # map submits every chunk, which starts the workers
                results = pool.map(run, configs, chunksize=max(1, len(configs) // (4 * workers)))
            return list(results)
        except KeyboardInterrupt:
            pool.shutdown(cancel_futures=True)  # the runs under way finish; the others never start
            raise


def run_replications(config: Config, request: Request) -> None:
    """Run the config over the request's seeds; write, print the table and the folder."""
    try:
        configs = [with_settings(config, {"seed": seed}) for seed in request.seeds]
        folder = new_run_dir(Path(config.paths.results), config.name, [*request.changes, request.seeds_arg])
    except ConfigError as exc:
        _fail(exc)
    print(f"running {len(configs)} seeds of {config.name}...", file=sys.stderr, flush=True)
    try:
        results = run_seeds(configs)
        write_replications(results, folder, request.overrides)
        _write_figure(results, folder, request.changes)
        table = replications_table(results, request.changes, request.settings)
        (folder / "table.txt").write_text(table + "\n")
    except KeyboardInterrupt:  # no half-written folder that looks like a result: the runs take seconds to redo
        shutil.rmtree(folder, ignore_errors=True)
        print(f"interrupted: nothing written ({folder} removed); run the command again", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    print(table)
    print(folder.resolve())


def _fail(exc: ConfigError) -> None:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(EXIT_BAD_CONFIG)


def _job_changes(task_overrides: Sequence[str]) -> list[str]:
    """A multirun job's changes: its overrides without the lever groups left off."""
    groups = lever_groups()
    return [
        o
        for o in task_overrides
        if _is_change(o) and not (o.lstrip("+").partition("=")[0] in groups and o.endswith(f"={LEVER_OFF}"))
    ]


@hydra.main(config_path=str(CONFIG_DIR), config_name="config", version_base="1.3")
def _hydra_entry(cfg: DictConfig) -> None:
    logging.getLogger("mesa").setLevel(logging.WARNING)
    try:
        config = validate(resolved(cfg, "the config"))
    except ConfigError as exc:
        _fail(exc)
    hydra_run = HydraConfig.get()
    multirun = hydra_run.mode is RunMode.MULTIRUN  # one folder per job: results/multirun/<time>/<job>
    if multirun:
        changes, overrides, settings = _job_changes(hydra_run.overrides.task), list(hydra_run.overrides.task), []
    else:
        changes, overrides, settings = _request.changes, _request.overrides, _request.settings
    try:
        folder = Path(hydra_run.runtime.output_dir) if multirun else None
        result, folder = run_and_write(config, folder, changes, overrides)
    except ConfigError as exc:
        _fail(exc)
    table = summary_table(result, changes, settings)
    (folder / "table.txt").write_text(table + "\n")
    with quiet_when_output_closes():  # inside Hydra's job, which would report a closed output as a failure
        print(table)
        print(folder.resolve())


# --- help ----------------------------------------------------------------------------------------------

USAGE = """\
usage: python -m sim [key=value ...] [settings=FILE] [replications=N | seeds=A-B]
       python -m sim -m key=a,b [key=value ...]     a Hydra multirun: one run per combination

Runs one scenario, prints a table of its results (each row explained under it) and writes
them with a chart under results/runs/<scenario>/<timestamp>[_<what you changed>]/, whose path
is the last line printed. A bad key, value or settings file exits with code 2 and a message
naming it; a timeline event that changes a value you set is named in a warning.

examples:
  python -m sim scenario=crackdown_singapore seed=7
  python -m sim policy=strict behaviour.temperature=0.5 months=24
  python -m sim replications=10 months=12     seeds 0-9: mean and 95% interval of each row
  python -m sim settings=my.yaml months=12    a settings file, then more changes on top

options of the command (not config keys):
  replications=N    run seeds S..S+N-1 (S: seed=, default 0), each into seed_<seed>/ of one
                    folder, and print each row's mean and 95% t interval over those seeds
  seeds=A-B         the same for seeds A to B, or a list: seeds=1,5,9
  settings=FILE     a settings file (scenario: and settings: of dotted keys, as the explorer
                    saves them); overrides after it apply on top, and a second file only
                    where it agrees with the first
  -m, --multirun    Hydra's multirun over comma-separated values (seed=0,1), one folder per job
                    under results/multirun/<timestamp>/<job>/
  -h, --help        this help; --hydra-help for Hydra's own flags (--cfg job prints the config)
  --version         exportsim's version"""


def _default_choices() -> dict[str, str]:
    """The option each config group takes by default (configs/config.yaml's defaults list; levers: off)."""
    defaults = yaml.safe_load((CONFIG_DIR / "config.yaml").read_text()).get("defaults", [])
    chosen = {k: str(v) for entry in defaults if isinstance(entry, dict) for k, v in entry.items()}
    return chosen | {group: LEVER_OFF for group in lever_groups()}


def help_text() -> str:
    """``python -m sim --help``: usage, the config groups and their options, the top-level keys."""
    chosen = _default_choices()
    groups = [*GROUPS, *lever_groups()]
    width = max(map(len, groups))
    lines = [USAGE, "", "config groups (group=option; * the default):"]
    for group in groups:
        options = [f"{o}{'*' if chosen.get(group) == o else ''}" for o in group_options(group)]
        tail = "; ~calibrated for none" if group == "calibrated" else ""
        lines.append(f"  {group:<{width}}  {', '.join(options)}{tail}")
    top = yaml.safe_load((CONFIG_DIR / "config.yaml").read_text())
    lines += ["", "top-level keys (key=value; a section's keys as section.key=value):"]
    key_width = max(map(len, Config.model_fields))
    for key, info in Config.model_fields.items():
        text = info.description or ""
        inner = getattr(info.annotation, "model_fields", None)
        if inner:
            text += f" Keys: {', '.join(inner)}."
        elif not isinstance(top.get(key, {}), dict):
            text += f" Default: {top[key]}."
        elif key in ("name", "description"):
            text += " Default: the scenario's."
        elif key == "timeline":
            text += " The scenario's (configs/timeline/); ~timeline.<event> drops one."
        indent = " " * (key_width + 4)
        lines.append(textwrap.fill(f"  {key:<{key_width}}  {text}", HELP_WIDTH, subsequent_indent=indent))
    lines += ["", "every key, its unit, allowed values and default: docs/config.md"]
    return "\n".join(lines)


def main() -> None:
    """Read the arguments, check the config before Hydra sees it, then run through Hydra (or over seeds)."""
    global _request
    logging.getLogger("mesa").setLevel(logging.WARNING)
    if any(a in ("-h", "--help") for a in sys.argv[1:]):
        print(help_text())
        return
    if "--version" in sys.argv[1:]:
        print(version_text())
        return
    try:
        request = parse_args(sys.argv[1:])
    except ConfigError as exc:
        _fail(exc)
    try:
        if request.multirun:
            base = check_multirun(request.overrides)
            job = first_job(request.overrides)
            config, where = load_config(job), "in the grid's first job, "  # what its warnings are checked on
            if not any(o.lstrip("+").startswith("hydra.sweep.dir=") for o in request.overrides):
                request.overrides.append(_sweep_dir(Path(base.paths.results) / "multirun"))
        else:
            job, where = request.overrides, ""
            config = load_config(job)
    except ConfigError as exc:
        _fail(_from_settings(exc, request))
    for message in [*timeline_warnings(config, job), *no_effect_warnings(config, job)]:
        print(f"warning: {where}{message}", file=sys.stderr)
    if request.seeds:
        run_replications(config, request)
        return
    _request = request
    sys.argv = [sys.argv[0], *request.flags, *with_lever_groups(request.overrides)]  # Hydra sees every lever group
    if "--hydra-help" in request.flags:  # Hydra's own help: it composes nothing, and the overrides were checked
        sys.argv = [sys.argv[0], "--hydra-help"]
    _hydra_entry()


def _sweep_dir(parent: Path) -> str:
    """Hydra's override putting a grid in a new folder of its own, even beside one started the same second."""
    folder = str(new_timestamped_dir(parent)).replace("\\", "\\\\").replace("'", "\\'")
    return f"hydra.sweep.dir='{folder}'"


def no_effect_warnings(config: Config, overrides: list[str]) -> list[str]:
    """One message per override of a value in a switched-off section that changes nothing in the run.

    Only a value under a switch set to false (``policy.country_caps.enabled``, say) is checked,
    by running the config without its override: the same seed giving the same months means it
    did nothing (no timeline event of the run switched its section on, or none used it).
    """
    reasons: dict[str, str] = {}  # override: why its value may do nothing
    for path, override in user_values(config, overrides).items():
        if override in overrides and override not in reasons and (reason := switched_off(config, path)):
            reasons[override] = reason
    yours = None
    messages = []
    for override, reason in reasons.items():
        try:
            without = load_config([o for o in overrides if o != override])
        except ConfigError:  # other overrides need it
            continue
        yours = yours if yours is not None else run(config).timeseries
        if run(without).timeseries.equals(yours):
            same = f"the run (seed {config.seed}) is the same without it"
            messages.append(f"{override} changes nothing: {same}; {reason}")
    return messages


def _from_settings(exc: ConfigError, request: Request) -> ConfigError:
    """The error, naming the settings file when one of its lines is the one refused."""

    def key(line: str) -> str:
        return line.partition("=")[0].lstrip("+~")

    message = str(exc).removeprefix("invalid config: ")
    from_files = {line for _, expanded in request.settings for line in expanded}
    typed = {key(line) for line in request.overrides if line not in from_files}  # set on the command line
    for path, expanded in request.settings:
        if any(message.startswith((line, f"{key(line)} = ")) and key(line) not in typed for line in expanded):
            return ConfigError(f"settings={path}: {exc}")
    return exc


if __name__ == "__main__":
    with quiet_when_output_closes():
        main()
