"""Running a sweep: plan the runs, farm batches out to an executor, commit each as it finishes.

The parent keeps at most two batches per slot in flight and writes each finished batch to
disk at once, so its memory does not grow with the sweep. Runs left over by a killed sweep
are found on disk and run by :func:`resume_sweep`.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import pandas as pd
from tqdm import tqdm

from sim.commands import counted
from sim.config import Config
from sim.results import check_writable, code_hash, git_commit, package_versions
from sim.schema import ConfigError, SettingsError, with_settings
from sim.sweep.designs import (
    POINT_ID,
    integer_paths,
    problem,
    run_seed,
    sample,
    settings,
)
from sim.sweep.executors import check_installed, open_executor, worker_died
from sim.sweep.experiment import (
    LARGE_SWEEP_RUNS,
    SCENARIO_FACTOR,
    WORKERS_PER_CORE,
    DesignKind,
    ExecutorKind,
    Experiment,
    base_configs,
    check_experiment,
    parse_experiment,
)
from sim.sweep.experiment import Executor as ExecutorSpec
from sim.sweep.precheck import Pilot, pilot
from sim.sweep.store import MANIFEST_FILE, SweepStore, file_sha256, new_sweep_dir, resume_command
from sim.sweep.worker import BatchResult, RunSpec, failure_record, run_batch

MAX_AUTO_BATCH = 50
IN_FLIGHT_PER_SLOT = 2


@dataclass(frozen=True)
class SweepOutcome:
    """How a sweep ended.

    Attributes:
        path: The sweep folder.
        runs: Runs in the sweep.
        finished: Runs finished, now or before a resume (failed ones included).
        failed: Runs that failed (see failures.jsonl).
    """

    path: Path
    runs: int
    finished: int
    failed: int


class SweepInterrupted(Exception):
    """The sweep was stopped (Ctrl-C, SIGTERM); finished batches are on disk.

    Attributes:
        path: The sweep folder to resume; None when it was stopped before its folder was made.
    """

    def __init__(self, path: Path | None):
        if path is None:
            super().__init__("sweep interrupted while it was being prepared; nothing was written")
        else:
            super().__init__(f"sweep interrupted; continue it with: {resume_command(path)}")
        self.path = path


#: Set by :func:`stop_on_signal`; the wait for workers raises the interrupt it finds set.
_stop_requested = threading.Event()
#: Set while worker processes run the sweep: then a signal only sets :data:`_stop_requested`.
_workers_running = threading.Event()


def stop_on_signal(signum: int, frame: object) -> None:
    """A handler for SIGINT and SIGTERM: stop the sweep, as the command line does (``signal.signal``).

    While worker processes run the sweep (local or Dask) it only raises a flag, which the sweep
    checks at least every second as it waits for them: an interrupt raised at once could land in
    a callback (a Dask future's clean-up, its garbage-collection diagnosis), be printed with a
    traceback and swallowed there. Otherwise (preparing the sweep, or running it in this process)
    it raises KeyboardInterrupt at once, as a second signal does (to quit while workers close).
    """
    again = _stop_requested.is_set()
    _stop_requested.set()
    if again or not _workers_running.is_set():
        raise KeyboardInterrupt


@contextmanager
def _interrupts_as_flag(workers: bool) -> Iterator[None]:
    """Let :func:`stop_on_signal` only raise its flag inside the block, when ``workers`` run the sweep."""
    if workers:
        _workers_running.set()
    try:
        yield
    finally:
        _workers_running.clear()


def _interrupted(exc: BaseException) -> bool:
    """Whether an exception is Ctrl-C (or SIGTERM), also as numba reports one raised inside compiled code."""
    return isinstance(exc, KeyboardInterrupt) or isinstance(exc.__cause__ or exc.__context__, KeyboardInterrupt)


def prepare(experiment: Experiment) -> tuple[dict[str, Config], pd.DataFrame]:
    """Compose the base configs, check every factor path and sample the design.

    Raises:
        ConfigError: The experiment cannot run; nothing has been written.
    """
    bases = base_configs(experiment)
    check_experiment(experiment, bases)
    first = bases[experiment.scenarios[0]]
    design = sample(experiment, integer_paths(experiment, first))
    check_size(experiment, len(design) * experiment.replications)
    check_points(experiment, bases, design)
    return bases, design


def check_points(experiment: Experiment, bases: dict[str, Config], design: pd.DataFrame) -> None:
    """Check the rules across keys on every point of the design (each value alone was checked before).

    Raises:
        ConfigError: Names the first point a rule refuses, its values and the rule.
    """
    plan = RunPlan(experiment, design)
    for point_id in range(len(design)):
        spec = plan.spec(point_id * experiment.replications)
        try:
            with_settings(bases[spec.scenario], spec.settings)
        except SettingsError as exc:
            shown = ", ".join(f"{k}={v!r}" for k, v in spec.settings.items())
            raise ConfigError(f"design point {point_id} ({shown}) is not allowed: {exc}") from None


def check_size(experiment: Experiment, runs: int) -> None:
    """Refuse a huge sweep, or far more local workers than cores, unless ``confirm=true``.

    Raises:
        ConfigError: Names the size or worker count and how to confirm it.
    """
    if experiment.confirm:
        return
    if runs > LARGE_SWEEP_RUNS:
        raise ConfigError(
            f"this sweep has {runs:,} runs, more than {LARGE_SWEEP_RUNS:,}; check the design and replications, "
            "and add confirm=true to start it"
        )
    cores = os.cpu_count() or 1
    workers = experiment.executor.workers
    if experiment.executor.kind is ExecutorKind.LOCAL and workers is not None and workers > WORKERS_PER_CORE * cores:
        raise ConfigError(
            f"executor.workers={workers} is more than {WORKERS_PER_CORE} per core on this machine ({cores} cores); "
            "add confirm=true to start that many processes"
        )


def start_sweep(
    experiment: Experiment,
    results_root: Path | str | None = None,
    *,
    progress: bool = True,
    out: TextIO = sys.stdout,
) -> SweepOutcome:
    """Run a new sweep under ``<results_root>/sweeps/<name>/<timestamp>/``.

    Args:
        experiment: The validated experiment.
        results_root: Results folder; the base config's ``paths.results`` when None.
        progress: Show a progress bar on stderr.
        out: Where the plan and estimate are printed.

    Raises:
        ConfigError: The experiment cannot run (before anything is written).
        SweepInterrupted: Stopped by Ctrl-C or SIGTERM; resume it later.
    """
    try:
        bases, design = prepare(experiment)
        root = Path(results_root if results_root is not None else next(iter(bases.values())).paths.results)
        check_writable(root / "sweeps" / experiment.name, "set paths.results to a folder you can write")
        check_installed(experiment.executor)  # before the sweep's folder is made
        found = pilot(experiment, bases, design)
    except (KeyboardInterrupt, SystemError) as exc:  # before the first write: nothing to resume
        if not _interrupted(exc):
            raise
        raise SweepInterrupted(None) from None
    _print_pilot(found, experiment, len(design) * experiment.replications, out)
    store = SweepStore(new_sweep_dir(root, experiment.name))
    with store.writer_lock():
        store.write_design(design)
        store.write_manifest(_manifest(experiment, bases, design) | {"pilot": asdict(found)})
        return _execute(store, experiment, bases, design, progress, out)


def resume_sweep(
    path: Path | str,
    overrides: list[str] | None = None,
    *,
    allow_code_change: bool = False,
    progress: bool = True,
    out: TextIO = sys.stdout,
) -> SweepOutcome:
    """Run the runs of a sweep folder that have not finished, as the one process writing it.

    Damaged parts (checksum or duplicate run ids) are moved to ``quarantine/`` and their runs
    redone.

    Args:
        path: The sweep folder.
        overrides: Hydra overrides of ``executor.*`` (other keys would change the results).
        allow_code_change: Resume even though the model's code changed since the sweep started
            (the mix is recorded in the manifest).
        progress: Show a progress bar on stderr.
        out: Where the plan and estimate are printed.

    Raises:
        ConfigError: Not a sweep folder, another process is writing it, an override outside
            ``executor``, or the base config or (unless allowed) the code changed since the sweep
            started.
        SweepInterrupted: Stopped again; resume it later.
    """
    store = SweepStore(path)
    if not (store.path / MANIFEST_FILE).is_file():
        raise ConfigError(f"resume={path}: not a sweep folder (no {MANIFEST_FILE})")
    check_writable(store.path, "make it writable, then resume again")
    with store.writer_lock():
        return _resume(store, overrides, allow_code_change, progress, out)


def _resume(
    store: SweepStore, overrides: list[str] | None, allow_code_change: bool, progress: bool, out: TextIO
) -> SweepOutcome:
    path = store.path
    manifest = store.manifest()
    for line in overrides or []:
        if not line.lstrip("+~").startswith("executor."):
            raise ConfigError(f"{line}: only executor.* can change when resuming a sweep")
    experiment = parse_experiment(manifest["experiment"], overrides, str(path))
    bases = base_configs(experiment)
    hashes = {name: cfg.config_hash() for name, cfg in bases.items()}
    if hashes != manifest["base_config_hashes"]:
        raise ConfigError(
            f"resume={path}: the base config changed since the sweep started "
            f"({manifest['base_config_hashes']} then, {hashes} now); start a new sweep"
        )
    code_now = code_hash()
    if manifest.get("code_hash") != code_now:
        if not allow_code_change:
            raise ConfigError(
                f"resume={path}: the model's code changed since the sweep started (commit "
                f"{manifest.get('git_commit')} then, {git_commit()} now), so its runs would mix two versions; "
                "start a new sweep, or add allow_code_change=true to resume anyway (recorded in the manifest)"
            )
        manifest.setdefault("code_changes", []).append(
            {"utc": _now(), "code_hash": code_now, "git_commit": git_commit()}
        )
    source = manifest.get("experiment_file")
    if source and file_sha256(source) != manifest.get("experiment_file_sha256"):
        print(
            f"note: {source} has changed (or gone) since the sweep started; the resume runs the sweep as it "
            "started (the experiment recorded in manifest.json), not the file as it is now",
            file=out,
        )
    quarantined = store.clean()
    if quarantined:
        print(
            f"quarantined {len(quarantined)} damaged part(s), their runs to be redone: {', '.join(quarantined)}",
            file=out,
        )
        manifest.setdefault("quarantined", []).extend(quarantined)
    manifest["experiment"] = experiment.model_dump(mode="json")
    manifest.setdefault("resumed_utc", []).append(_now())
    store.write_manifest(manifest)
    return _execute(store, experiment, bases, store.design(), progress, out)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _manifest(experiment: Experiment, bases: dict[str, Config], design: pd.DataFrame) -> dict[str, Any]:
    sampled = experiment.design.kind is not DesignKind.FACTORIAL
    return {
        "name": experiment.name,
        "experiment": experiment.model_dump(mode="json"),
        "design": {
            "kind": str(experiment.design.kind),
            "points": len(design),
            "problem": problem(experiment) if sampled else None,
        },
        "replications": experiment.replications,
        "runs": len(design) * experiment.replications,
        "seed": experiment.seed,
        "base_config_hashes": {name: cfg.config_hash() for name, cfg in bases.items()},
        "git_commit": git_commit(),
        "code_hash": code_hash(),
        "experiment_file": experiment.source_file,
        "experiment_file_sha256": file_sha256(experiment.source_file) if experiment.source_file else None,
        "packages": package_versions(),
        "command": sys.argv,
        "created_utc": _now(),
        "status": "running",
    }


class RunPlan:
    """Turns run ids into run specs from the design's columns."""

    def __init__(self, experiment: Experiment, design: pd.DataFrame):
        self.replications = experiment.replications
        self.seed = experiment.seed
        self.scenario = experiment.scenario
        self.columns = {c: design[c].to_numpy() for c in design.columns if c != POINT_ID}

    def spec(self, run_id: int) -> RunSpec:
        """The run with this id: its point, replication, seed, scenario and settings."""
        point_id, replication = divmod(run_id, self.replications)
        values = settings({c: column[point_id] for c, column in self.columns.items()})
        scenario = values.pop(SCENARIO_FACTOR, self.scenario)
        return RunSpec(run_id, point_id, replication, run_seed(self.seed, replication), scenario, values)


def _batches(plan: RunPlan, todo: list[int], size: int) -> Iterator[list[RunSpec]]:
    for start in range(0, len(todo), size):
        yield [plan.spec(i) for i in todo[start : start + size]]


def _execute(
    store: SweepStore,
    experiment: Experiment,
    bases: dict[str, Config],
    design: pd.DataFrame,
    progress: bool,
    out: TextIO,
) -> SweepOutcome:
    total = len(design) * experiment.replications
    finished_before = store.finished_run_ids()
    failed_before = len(store.failures())
    todo = [i for i in range(total) if i not in finished_before]
    plan = RunPlan(experiment, design)
    began = time.perf_counter()
    failed = failed_before
    finished = len(finished_before)
    status = "interrupted"
    points, replications = counted(len(design), "point"), counted(experiment.replications, "replication")
    runs = f"{counted(total, 'run')} ({points} x {replications})"
    left = f"; {len(todo):,} left to run" if finished_before else ""
    print(f"sweep {experiment.name}: {runs} in {store.path}{left}", file=out, flush=True)
    _stop_requested.clear()
    try:
        with (
            _interrupts_as_flag(experiment.executor.kind is not ExecutorKind.SERIAL),
            open_executor(experiment.executor) as (executor, slots),
        ):
            size = experiment.executor.batch_size or max(1, min(MAX_AUTO_BATCH, len(todo) // (4 * slots)))
            part = store.next_part()
            estimated = False
            batches = _batches(plan, todo, size)
            with tqdm(total=len(todo), unit="run", disable=not progress, file=sys.stderr) as bar:
                for batch in _completed(executor, slots, bases, batches, experiment.timeseries, experiment.executor):
                    if not estimated and len(batch.runs):
                        _print_estimate(batch, len(todo), slots, size, experiment, out)
                        estimated = True
                    try:
                        store.write_batch(part, batch.runs, batch.timeseries, batch.failures)
                    except OSError as exc:  # the disk filled up or the folder became read-only
                        raise ConfigError(
                            f"cannot write {store.path}: {exc.strerror or exc}; what was written is kept: free "
                            f"space or make it writable, then: {resume_command(store.path)}"
                        ) from None
                    part += 1
                    failed += len(batch.failures)
                    finished += len(batch.runs) + len(batch.failures)
                    bar.update(len(batch.runs) + len(batch.failures))
                    if batch.failures:
                        bar.set_postfix(failed=failed)
        status = "complete" if failed == 0 else "complete with failures"
    except (KeyboardInterrupt, SystemError) as exc:
        if not _interrupted(exc):
            raise
        raise SweepInterrupted(store.path) from None
    finally:
        manifest = store.manifest()
        wall_time_s = manifest.get("wall_time_s", 0.0) + time.perf_counter() - began
        manifest.update(
            status=status,
            finished_runs=finished,
            failed_runs=failed,
            wall_time_s=round(wall_time_s, 3),
            updated_utc=_now(),
        )
        try:
            store.write_manifest(manifest)
        except OSError as exc:  # while stopping on another error, the last manifest is kept (resume reads it)
            if status != "interrupted":
                raise ConfigError(
                    f"cannot write {store.path / MANIFEST_FILE}: {exc.strerror or exc}; every run is written: "
                    f"{resume_command(store.path)} records it once the folder can be written"
                ) from None
    return SweepOutcome(store.path, total, finished, failed)


def _print_pilot(found: Pilot, experiment: Experiment, runs: int, out: TextIO) -> None:
    """Print the pilot's warnings and the sweep's size and expected wall time from the pilot's runs."""
    for line in [*found.warnings, *found.inactive]:
        print(f"warning: {line}", file=out, flush=True)
    workers = experiment.executor.workers or os.cpu_count() or 1
    slots = 1 if experiment.executor.kind is ExecutorKind.SERIAL else workers
    estimate_s = found.seconds_per_run * runs / min(slots, runs)
    print(
        f"pilot: {found.runs} runs of {found.seconds_per_run:.3f} s; {runs:,} runs on {slots} "
        f"{experiment.executor.kind} slot{'s' * (slots > 1)}: {_duration(estimate_s)} of runs",
        file=out,
        flush=True,
    )


def _print_estimate(batch: BatchResult, todo: int, slots: int, size: int, experiment: Experiment, out: TextIO) -> None:
    """Print the sweep's expected wall time from the first batch a worker finished (no run in the parent)."""
    per_run_s = float(batch.runs["wall_time_s"].mean())
    estimate_s = per_run_s * todo / min(slots, todo)
    plural = "s" * (slots > 1)
    print(
        f"{todo:,} runs on {slots} {experiment.executor.kind} worker{plural} in batches of "
        f"{size}; {per_run_s:.3f} s a run, {_duration(estimate_s)} of runs left",
        file=out,
        flush=True,
    )


def _duration(seconds: float) -> str:
    """An estimate of seconds in words: ``under 1 s``, ``about 42 s``, ``about 1 min 49 s``, ``about 1 h 02 min``."""
    if seconds < 0.5:
        return "under 1 s"
    whole = round(seconds)
    if whole < 90:
        return f"about {whole} s"
    if whole < 3600:
        return f"about {whole // 60} min {whole % 60:02d} s"
    hours, minutes = divmod(round(whole / 60), 60)
    return f"about {hours} h {minutes:02d} min"


def _first_done(pending: dict[Future, list[RunSpec]]) -> set[Future]:
    """The futures done once one is, waiting a second at a time so that a stop (Ctrl-C) is noticed within one.

    It checks the flag :func:`stop_on_signal` raises while workers run, after every wait.
    """
    while True:
        done, _ = wait(set(pending), timeout=1.0, return_when=FIRST_COMPLETED)
        if _stop_requested.is_set():
            raise KeyboardInterrupt
        if done:
            return done


def _completed(
    executor: Executor,
    slots: int,
    bases: dict[str, Config],
    batches: Iterator[list[RunSpec]],
    keep_timeseries: bool,
    spec: ExecutorSpec,
) -> Iterator[BatchResult]:
    """Submit batches, at most ``IN_FLIGHT_PER_SLOT`` per slot at a time; yield results as they finish.

    A worker that dies (out of memory, a crash) breaks the local pool and every batch in flight:
    the pool is restarted and those batches' runs are rerun one at a time (:func:`_isolated`),
    so the run that killed its worker is found and recorded as failed, and the sweep goes on. On
    Dask, a batch whose workers died on each of Dask's tries is rerun the same way, alone.
    """
    pending: dict[Future, list[RunSpec]] = {}

    def recover(lost: list[RunSpec]) -> Iterator[BatchResult]:
        if hasattr(executor, "restart"):  # a broken local pool takes every batch in flight with it
            for future in list(pending):
                lost.extend(pending.pop(future))
                future.cancel()
        yield from _isolated(executor, bases, sorted(lost, key=lambda s: s.run_id), keep_timeseries, spec)

    def finished(done: set[Future]) -> Iterator[BatchResult]:
        lost: list[RunSpec] = []
        for future in done:
            specs = pending.pop(future)
            try:
                yield future.result()
            except Exception as exc:
                if not worker_died(exc):
                    raise
                lost.extend(specs)
        if lost:
            yield from recover(lost)

    try:
        for specs in batches:
            while len(pending) >= IN_FLIGHT_PER_SLOT * slots:
                yield from finished(_first_done(pending))
            needed = {s.scenario for s in specs}
            try:
                pending[executor.submit(run_batch, {k: bases[k] for k in needed}, specs, keep_timeseries)] = specs
            except BrokenProcessPool:  # the pool broke before a future could tell
                yield from recover(list(specs))
        while pending:
            yield from finished(_first_done(pending))
    finally:
        for future in pending:
            future.cancel()


def _isolated(
    executor: Executor, bases: dict[str, Config], specs: list[RunSpec], keep_timeseries: bool, spec: ExecutorSpec
) -> Iterator[BatchResult]:
    """Rerun runs one at a time; a run whose worker dies on every try is a failure.

    A run is tried ``1 + executor.retries`` times alone before it is recorded as failed. A local
    pool is replaced when it broke, before the first, and after each run whose worker died, not
    before every run (starting workers takes seconds); Dask replaces its lost workers itself.
    """
    restart = getattr(executor, "restart", lambda: None)
    restart()
    tries = spec.retries + 1
    for run_spec in specs:
        bases_needed = {run_spec.scenario: bases[run_spec.scenario]}
        for attempt in range(1, tries + 1):
            try:
                alone = executor.submit(run_batch, bases_needed, [run_spec], keep_timeseries)
                _first_done({alone: [run_spec]})  # a stop is noticed while it runs, as in the main loop
                yield alone.result()
                break
            except Exception as exc:
                if not worker_died(exc):
                    raise
                restart()
                if attempt == tries:
                    cause = RuntimeError(f"its worker process died on each of {tries} tries (out of memory, a crash)")
                    yield BatchResult(pd.DataFrame(), None, [failure_record(run_spec, cause)])
