"""The explorer's page (Solara): ``python -m sim.explore`` serves it; docs/explore.md describes it.

The page only draws and keeps the session's choices; runs, intervals, the stepper and the
figures come from the plain modules of ``sim.explore``. Runs go to a pool of worker processes
shared by every session (``EXPORTSIM_EXPLORE_WORKERS`` of them; 0 runs them in the server), in a
background task, so the page stays responsive and shows progress.
"""

from __future__ import annotations

import functools
import html
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import solara
import solara.lab

from sim.config import Config
from sim.explore import WORKERS_ENV, charts, compare, controls, tables
from sim.explore.stepper import Stepper
from sim.loading import group_options, load_config
from sim.report.names import SOURCE_ORDER
from sim.schema import ConfigError, with_settings
from sim.settings_file import read_settings, save_settings
from sim.timeline import TimelineEventError, compile_timeline

DEFAULT_SCENARIO = "baseline"
MAX_SEEDS = 30
#: The views of the results column.
VIEWS = ("Compare", "Runs", "Month by month")
#: Columns of the month-by-month table.
STEP_COLUMNS = (
    "access_ratio",
    "access_h100e_months",
    *(f"access_{s}" for s in SOURCE_ORDER),
    "smuggled_h100e",
    "seized_h100e",
    "detection_rate",
    "gray_price_usd_per_h100e",
    "active_intermediaries",
    "listed_entities",
    "audits",
)

# ----------------------------------------------------------------- shared by every session

_LOAD_LOCK = threading.Lock()
_POOL_LOCK = threading.Lock()
_POOL: Any = None
CACHE = compare.ResultCache()


@functools.lru_cache(maxsize=16)
def _base(scenario: str) -> Config:
    with _LOAD_LOCK:  # Hydra's global state
        return load_config([f"scenario={scenario}"])


def base_config(scenario: str) -> Config:
    """The scenario's config as ``python -m sim scenario=<name>`` composes it (cached)."""
    return _base(scenario)


def executor() -> Any:
    """The worker pool (the sweep's local executor), started on first use; None to run in the server."""
    global _POOL
    workers = int(os.environ.get(WORKERS_ENV, min(4, os.cpu_count() or 1)))
    if workers <= 0:
        return None
    with _POOL_LOCK:
        if _POOL is None:
            from sim.sweep.executors import LocalPool

            _POOL = LocalPool(workers)
        return _POOL


def config_of(scenario: str, settings: dict[str, Any]) -> Config:
    """The scenario with the settings applied, its timeline checked.

    Raises:
        ConfigError: A setting or a timeline event that it makes invalid; the message names it.
    """
    cfg = with_settings(base_config(scenario), settings)
    try:
        compile_timeline(cfg)
    except TimelineEventError as exc:
        raise ConfigError(str(exc)) from None
    return cfg


@dataclass(frozen=True)
class Reference:
    """The config compared against: a scenario and settings (it runs the chosen config's months and seeds)."""

    scenario: str = DEFAULT_SCENARIO
    settings: tuple[tuple[str, Any], ...] = ()

    def config(self, chosen: Config) -> Config:
        """Its config, with the chosen config's number of months."""
        return config_of(self.scenario, {**dict(self.settings), "months": chosen.months})

    def describe(self) -> str:
        """``baseline`` or ``baseline + 2 changes``."""
        return self.scenario + (f" + {len(self.settings)} changes" if self.settings else "")


@dataclass(frozen=True)
class Outcome:
    """A finished comparison and its pictures.

    Attributes:
        number: The session's run number (1 for the first).
        comparison: The runs and their statistics.
        chosen: (scenario, settings) that were run.
        reference: The reference that was run.
        figures: PNG bytes per side and chart, and ``difference``.
        events: Timeline events per side.
    """

    number: int
    comparison: compare.Comparison
    chosen: tuple[str, tuple[tuple[str, Any], ...]]
    reference: Reference
    figures: dict[str, Any] = field(default_factory=dict)
    events: dict[str, list[tuple[int, str, str, str]]] = field(default_factory=dict)


def run_comparison(
    number: int,
    scenario: str,
    settings: dict[str, Any],
    reference: Reference,
    n_seeds: int,
    on_progress: Callable[[int, int], None] | None = None,
) -> Outcome:
    """Run and compare, then draw the figures (what the page's background task does)."""
    chosen = config_of(scenario, settings)
    ref = reference.config(chosen)
    comparison = compare.compare(chosen, ref, n_seeds, executor(), on_progress, CACHE)
    columns = {"chosen": compare.chart_columns(chosen), "reference": compare.chart_columns(ref)}
    events = {"chosen": charts.timeline_events(chosen), "reference": charts.timeline_events(ref)}
    figures = charts.side_by_side(comparison.bands, columns, events)
    pngs: dict[str, Any] = {side: {name: charts.png(f) for name, f in fs.items()} for side, fs in figures.items()}
    difference = charts.chart(comparison.paired_access, "difference", events["chosen"], value="difference")
    pngs["difference"] = charts.png(difference)
    return Outcome(number, comparison, (scenario, tuple(settings.items())), reference, pngs, events)


# ----------------------------------------------------------------- the session's state

scenario = solara.reactive(DEFAULT_SCENARIO)
settings: solara.Reactive[dict[str, Any]] = solara.reactive({})
n_seeds = solara.reactive(compare.DEFAULT_SEEDS)
reference = solara.reactive(Reference())
search = solara.reactive("")
open_sections: solara.Reactive[frozenset[str]] = solara.reactive(frozenset())
typed_errors: solara.Reactive[dict[str, str]] = solara.reactive({})
settings_path = solara.reactive("explorer_settings.yaml")
file_message = solara.reactive("")
run_number = solara.reactive(0)
stepper: solara.Reactive[Stepper | None] = solara.reactive(None)
stepper_version = solara.reactive(0)
step_view: solara.Reactive[Any] = solara.reactive(None)
step_seed = solara.reactive(0)
step_hub = solara.reactive("")
view = solara.reactive(VIEWS[0])


@solara.lab.task
def run_task(number: int, scenario_: str, settings_: dict[str, Any], reference_: Reference, n: int) -> Outcome:
    """Run the comparison in a thread, reporting progress in percent."""

    def progress(done: int, total: int) -> None:
        run_task.progress = 100.0 * done / max(total, 1)

    return run_comparison(number, scenario_, settings_, reference_, n, progress)


def start_run() -> None:
    """Start a comparison of the current choices."""
    run_number.value += 1
    run_task(run_number.value, scenario.value, dict(settings.value), reference.value, n_seeds.value)


def set_value(path: str, value: Any) -> None:
    """Change one setting; a value equal to the scenario's own is no change."""
    new = dict(settings.value)
    new[path] = value
    settings.value = controls.effective_settings(base_config(scenario.value), new)
    errors = dict(typed_errors.value)
    errors.pop(path, None)
    typed_errors.value = errors


def current_config() -> tuple[Config | None, str]:
    """The chosen config, or None and why it is invalid."""
    try:
        return config_of(scenario.value, settings.value), ""
    except ConfigError as exc:
        return None, str(exc)


# ----------------------------------------------------------------- controls


@solara.component
def ControlWidget(control: controls.Control, value: Any, changed: bool) -> None:
    """One control: its label with value and unit, then a slider, a number box, a switch or a choice."""
    mark = " ●" if changed else ""
    with (
        solara.Tooltip(control.tooltip()),
        solara.Div(classes=["explore-control", control.css_class], style={"margin-bottom": "4px"}),
    ):
        if control.kind == "bool":
            solara.Checkbox(
                label=f"{control.label}{mark}",
                value=bool(value),
                on_value=lambda v: set_value(control.path, bool(v)),
            )
        elif control.kind == "choice":
            solara.Select(
                label=f"{control.label}{mark}",
                values=list(control.choices),
                value=str(value),
                on_value=lambda v: set_value(control.path, v),
                dense=True,
            )
        elif control.is_slider:
            low, high, step = control.slider_range(float(value))
            shown = f"{value:,}" if control.kind == "int" else repr(float(value))
            solara.HTML(
                tag="div",
                unsafe_innerHTML=f"{control.label}: <b class='control-value'>{shown}</b>{mark}",
                style="font-size:13px",
            )
            if control.kind == "int":
                solara.SliderInt(
                    "",
                    value=int(value),
                    min=int(low),
                    max=int(high),
                    step=1,
                    on_value=lambda v: set_value(control.path, int(v)),
                )
            else:
                solara.SliderFloat(
                    "",
                    value=float(value),
                    min=low,
                    max=high,
                    step=step,
                    on_value=lambda v: set_value(control.path, control.snap(float(v), step)),
                )
        else:
            error = typed_errors.value.get(control.path, "")

            def typed(text: str | None) -> None:
                try:
                    set_value(control.path, control.parse(text or ""))
                except ValueError as exc:
                    typed_errors.value = {**typed_errors.value, control.path: str(exc)}

            solara.InputText(
                f"{control.label}{mark}",
                value="" if value is None else (f"{value:g}" if isinstance(value, float) else str(value)),
                on_value=typed,
                error=error or False,
                message=control.allowed(),
                dense=True,
            )


@solara.component
def Section(name: str, items: list[controls.Control], config: Config, force_open: bool) -> None:
    """A heading that opens its controls (only open sections are drawn)."""
    changed = [c for c in items if c.path in settings.value]
    is_open = force_open or name in open_sections.value

    def toggle() -> None:
        opened = set(open_sections.value)
        opened.symmetric_difference_update({name})
        open_sections.value = frozenset(opened)

    slug = "section-" + "".join(ch if ch.isalnum() else "-" for ch in name.lower())
    solara.Button(
        f"{'▾' if is_open else '▸'} {name}" + (f" ({len(changed)} changed)" if changed else ""),
        on_click=toggle,
        text=True,
        classes=[slug],
        style={"text-transform": "none", "justify-content": "flex-start", "width": "100%"},
    )
    if is_open:
        for control in items:
            ControlWidget(control, controls.value_at(config, control.path), control.path in settings.value)


@solara.component
def ControlsPanel(config: Config) -> None:
    """The groups of controls, with a search box."""
    all_controls = solara.use_memo(lambda: controls.build_controls(config), [scenario.value])
    solara.InputText("Search the controls", value=search, continuous_update=True, clearable=True)
    query = search.value.strip()
    shown = [c for c in all_controls if not query or controls.matches(c, query)]
    for group in controls.GROUPS[1:]:
        in_group = [c for c in shown if c.group == group]
        if not in_group:
            continue
        _html(f"<b>{group}</b>", "margin-top:8px")
        for name in dict.fromkeys(c.section for c in in_group):
            Section(name, [c for c in in_group if c.section == name], config, bool(query))
    if query and not shown:
        solara.Text(f"No control matches {query!r}.")


@solara.component
def ScenarioCard(config: Config | None) -> None:
    """Scenario, run length, seeds and the reference."""
    scenarios = group_options("scenario")
    with solara.Card("Scenario", margin=0, style={"margin-bottom": "8px"}):
        solara.Select("Scenario", values=scenarios, value=scenario, dense=True)
        with solara.Div(classes=["control-n_seeds"]):
            solara.HTML(
                tag="div", unsafe_innerHTML=f"Seeds (runs per side): <b class='control-value'>{n_seeds.value}</b>"
            )
            solara.SliderInt("", value=n_seeds, min=1, max=MAX_SEEDS)
        if config is not None:
            for control in controls.build_controls(config)[:2]:  # months and the first seed
                ControlWidget(control, controls.value_at(config, control.path), control.path in settings.value)
            seeds = compare.seeds(config, n_seeds.value)
            solara.Text(f"Seeds {seeds[0]}..{seeds[-1]}, the same on both sides.", style={"font-size": "12px"})
        _html("<b>Reference</b> (compared against; it runs the same months and seeds)", "margin-top:8px")
        ref = reference.value
        solara.Select(
            "Reference scenario",
            values=scenarios,
            value=ref.scenario,
            on_value=lambda s: reference.set(Reference(s, ref.settings)),
            dense=True,
        )
        solara.Text(f"Reference: {ref.describe()}", classes=["reference-description"])
        with solara.Row(style={"flex-wrap": "wrap"}):
            solara.Button(
                "Use current as reference",
                on_click=lambda: reference.set(Reference(scenario.value, tuple(settings.value.items()))),
                small=True,
                outlined=True,
            )
            solara.Button("Baseline", on_click=lambda: reference.set(Reference()), small=True, outlined=True)


@solara.component
def RunCard(config: Config | None, error: str) -> None:
    """The run button, progress and status."""
    pending = run_task.pending
    with solara.Card(margin=0, style={"margin-bottom": "8px"}):
        with solara.Row():
            solara.Button(
                "Run",
                on_click=start_run,
                color="primary",
                disabled=config is None,
                classes=["run-button"],
            )
            solara.Button("Reset all changes", on_click=lambda: settings.set({}), outlined=True)
        if error:
            solara.Error(error, classes=["config-error"])
        if pending:
            solara.ProgressLinear(run_task.progress if run_task.progress is not None else True)
        status = _status()
        solara.HTML(
            tag="div", unsafe_innerHTML=status[0], attributes={"data-testid": "run-status", "data-state": status[1]}
        )


def _status() -> tuple[str, str]:
    """(text, state) of the run task: state ``running-<n>``, ``done-<n>`` or ``error-<n>`` (n: the run's number)."""
    number = run_number.value
    if run_task.pending:
        done = run_task.progress or 0.0
        return f"Run {number}: running ({done:.0f}% of the runs done)…", f"running-{number}"
    if run_task.error:
        return f"Run {number} failed: {run_task.exception}", f"error-{number}"
    if run_task.finished and run_task.value is not None:  # the number of the run that finished, not the latest asked
        outcome = run_task.value
        runs = 2 * len(outcome.comparison.chosen.results)
        return f"Run {outcome.number} done: {runs} runs.", f"done-{outcome.number}"
    return "Not run yet.", "idle"


@solara.component
def FileCard(config: Config | None) -> None:
    """Save the current choices as a settings file, or load one."""

    def save() -> None:
        try:
            path = save_settings(settings_path.value, scenario.value, settings.value)
        except OSError as exc:
            file_message.value = f"Could not save: {exc}"
            return
        file_message.value = f"Saved {path.resolve()}; run it with: python -m sim settings={path}"

    def apply(path: Path | str, name: str) -> None:
        try:
            chosen_scenario, chosen_settings = read_settings(path)
            if chosen_scenario not in group_options("scenario"):
                raise ConfigError(f"{name}: unknown scenario {chosen_scenario!r}")
            config_of(chosen_scenario, chosen_settings)
        except ConfigError as exc:
            file_message.value = f"Not loaded: {exc}"
            return
        scenario.value = chosen_scenario
        settings.value = dict(chosen_settings)
        file_message.value = f"Loaded {name}: {chosen_scenario} + {len(chosen_settings)} changes."

    def dropped(info: Any) -> None:
        with tempfile.NamedTemporaryFile("wb", suffix=".yaml", delete=False) as handle:
            handle.write(info["data"])
        try:
            apply(handle.name, info["name"])
        finally:
            os.unlink(handle.name)

    def as_text() -> str:
        with tempfile.TemporaryDirectory() as folder:
            return save_settings(Path(folder) / "settings.yaml", scenario.value, settings.value).read_text()

    with solara.Card("Settings file", margin=0, style={"margin-bottom": "8px"}):
        solara.InputText("File (on the server)", value=settings_path, classes=["settings-path"])
        with solara.Row():
            solara.Button("Save", on_click=save, outlined=True, classes=["save-button"], disabled=config is None)
            solara.Button("Load", on_click=lambda: apply(settings_path.value, settings_path.value), outlined=True)
            solara.FileDownload(as_text, filename="explorer_settings.yaml", label="Download")
        solara.FileDrop(label="Or drop a settings file here to load it", on_file=dropped, lazy=False)
        if file_message.value:
            solara.Text(file_message.value, classes=["file-message"], style={"font-size": "12px"})


# ----------------------------------------------------------------- results


def _html(text: str, style: str = "") -> None:
    """A block of trusted HTML (no Markdown: its renderer loads scripts from a CDN)."""
    solara.HTML(tag="div", unsafe_innerHTML=text, style=style or None)


def _describe(scenario_: str, settings_: tuple[tuple[str, Any], ...]) -> str:
    changes = ", ".join(f"{html.escape(path)} = {html.escape(str(value))}" for path, value in settings_)
    return f"<b>{html.escape(scenario_)}</b>" + (f" with {changes}" if changes else " (no changes)")


@solara.component
def CompareTab(outcome: Outcome | None) -> None:
    """'What did my change do?': the paired table, the two columns of charts, the difference, the events."""
    if outcome is None:
        solara.Text("Results appear here once the first runs finish.")
        return
    comparison = outcome.comparison
    seeds = comparison.chosen.seeds
    _html(
        f"Chosen: {_describe(*outcome.chosen)}. "
        f"Reference: {_describe(outcome.reference.scenario, outcome.reference.settings)}. "
        f"{len(seeds)} runs each, seeds {seeds[0]}..{seeds[-1]} on both sides; differences are paired seed by seed "
        "(95% t intervals). <b>What did my change do?</b>"
    )
    current = (scenario.value, tuple(settings.value.items()))
    if current != outcome.chosen or reference.value != outcome.reference or n_seeds.value != len(seeds):
        solara.Warning("The choices have changed since these runs: press Run to update.", dense=True)
    solara.HTML(  # the run's number on the same element as its numbers: they reach the page together
        tag="div",
        unsafe_innerHTML=tables.comparison_table(comparison),
        style="overflow-x:auto",
        attributes={"data-testid": "comparison", "data-run": str(outcome.number)},
    )
    with solara.Columns([1, 1]):
        for side, title in (("chosen", "Chosen config"), ("reference", f"Reference: {outcome.reference.describe()}")):
            with solara.Column(classes=[f"column-{side}"]):
                _html(f"<h3>{html.escape(title)}</h3>")
                for name in ("access", "hubs", "detection", "prices"):
                    solara.Image(outcome.figures[side][name], width="100%")
    solara.Image(outcome.figures["difference"], width="60%")
    events = outcome.events["chosen"]
    if events:
        items = "".join(
            f"<li><b>{month}</b> {html.escape(name)}: {html.escape(note)}</li>" for _, month, name, note in events
        )
        _html(
            "<b>Rule changes on the chosen scenario's timeline</b> (the numbered dotted lines in the charts)"
            f"<ol data-testid='events'>{items}</ol>"
        )


@solara.component
def RunsTab(outcome: Outcome | None) -> None:
    """Every run's metrics, as run() gave them."""
    if outcome is None:
        solara.Text("No runs yet.")
        return
    _html(
        "Each run's metrics exactly as <code>sim.run.run(config)</code> returns them "
        "(<code>python -m sim settings=&lt;saved file&gt; seed=&lt;seed&gt;</code> reproduces a chosen run)."
    )
    solara.HTML(
        tag="div",
        unsafe_innerHTML=tables.runs_table(outcome.comparison),
        style="overflow-x:auto",
        attributes={"data-testid": "runs", "data-run": str(outcome.number)},
    )


def _step_view(current: Stepper) -> tuple[Any, Any, tuple[bytes, bytes]]:
    """The firms' and hubs' tables after the last month, and their pictures."""
    firms, hubs = current.firms(), current.hubs()
    return firms, hubs, (charts.png(charts.firm_mix(firms)), charts.png(charts.hub_agents(hubs)))


@solara.component
def StepTab(config: Config | None) -> None:
    """One run of the chosen config, month by month."""
    _ = stepper_version.value  # redraw after each step
    current = stepper.value
    if config is None:
        solara.Text("Fix the config first.")
        return
    seeds = compare.seeds(config, n_seeds.value)
    seed = step_seed.value if step_seed.value in seeds else seeds[0]

    def reset() -> None:
        stepper.value = Stepper(with_settings(config, {"seed": seed}))
        step_view.value = None
        stepper_version.value += 1

    def advance(months: int) -> None:
        if stepper.value is None:
            reset()
        stepper.value.step(months)
        step_view.value = _step_view(stepper.value)
        stepper_version.value += 1

    with solara.Row(style={"align-items": "center"}):
        solara.Select(
            "Seed", values=seeds, value=seed, on_value=step_seed.set, dense=True, style={"max-width": "160px"}
        )
        solara.Button("Start over", on_click=reset, outlined=True, classes=["step-reset"])
        solara.Button("+1 month", on_click=lambda: advance(1), color="primary", classes=["step-one"])
        solara.Button("+6 months", on_click=lambda: advance(6), outlined=True)
        solara.Button("To the end", on_click=lambda: advance(config.months), outlined=True)
    if current is None:
        solara.Text("Press +1 month to start a run of the chosen config.")
        return
    if current.config.model_dump(exclude={"seed"}) != config.model_dump(exclude={"seed"}):
        solara.Warning("The config has changed since this run started: press Start over to use it.", dense=True)
    solara.HTML(
        tag="div",
        unsafe_innerHTML=f"<b>{current.month or 'before the first month'}</b> (month {current.months_done} of "
        f"{current.config.months}, seed {current.config.seed})",
        attributes={"data-testid": "step-month", "data-value": str(current.months_done)},
    )
    for name, month, note in current.events():
        solara.Info(f"{month}: {name}: {' '.join(note.split())}", dense=True)
    if not current.months_done or step_view.value is None:
        return
    firms, hubs, pictures = step_view.value
    with solara.Columns([1, 1]):
        with solara.Column():
            _html("<b>This month</b> (the row <code>run()</code> gives for it)")
            row = current.timeseries().iloc[-1]
            solara.HTML(
                tag="div",
                unsafe_innerHTML=tables.month_table(row, STEP_COLUMNS),
                attributes={"data-testid": "month", "data-value": str(current.months_done)},
            )
        with solara.Column():
            solara.Image(pictures[0], width="100%")
            solara.Image(pictures[1], width="100%")
    _html("<b>Firms</b> (compute used this month by source, H100e-months)")
    solara.HTML(tag="div", unsafe_innerHTML=tables.frame_table(firms.round(1), "firms"), style="overflow-x:auto")
    _html("<b>Intermediaries per hub</b> (active by kind; registering, listed and closed so far)")
    solara.HTML(tag="div", unsafe_innerHTML=tables.frame_table(hubs, "hubs"), style="overflow-x:auto")
    hub_names = list(current.config.world.hubs)
    hub = step_hub.value if step_hub.value in hub_names else hub_names[0]
    solara.Select("Intermediaries of hub", values=hub_names, value=hub, on_value=step_hub.set, dense=True)
    listing = current.intermediaries()
    listing = listing[listing["hub"] == hub].drop(columns="hub").round(1)
    solara.HTML(tag="div", unsafe_innerHTML=tables.frame_table(listing.reset_index(drop=True), f"agents-{hub}"))


@solara.component
def Page() -> None:
    """The explorer."""
    solara.Title("exportsim explorer")
    solara.Style(".v-btn { text-transform: none !important; letter-spacing: normal !important; }")
    config, error = current_config()
    solara.use_effect(lambda: start_run() if run_number.value == 0 else None, [])
    outcome = run_task.latest
    with solara.Columns([3, 9], style={"padding": "8px"}):
        with solara.Column(classes=["controls-column"]):
            _html(
                "<h2>exportsim explorer</h2>Change levers and uncertainties, press <b>Run</b>, and see what your "
                "change did against the reference, seed by seed. Hover a control for its meaning, unit and limits."
            )
            RunCard(config, error)
            ScenarioCard(config)
            FileCard(config)
            if config is not None:
                ControlsPanel(config)
        with solara.Column(classes=["results-column"]):
            with solara.ToggleButtonsSingle(value=view, classes=["view-switch"]):
                for name in VIEWS:
                    solara.Button(name, value=name, classes=["view-" + name.lower().replace(" ", "-")])
            if view.value == "Runs":
                RunsTab(outcome)
            elif view.value == "Month by month":
                StepTab(config)
            else:
                CompareTab(outcome)
