"""A sweep folder under faults: one writer at a time, damaged parts found and redone, code changes refused."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import multiprocessing
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim.sweep.engine as engine
import sim.sweep.executors as executors
from sim.loading import CONFIG_DIR
from sim.schema import ConfigError
from sim.sweep import load, load_experiment, resume_sweep, start_sweep
from sim.sweep.executors import open_executor
from sim.sweep.experiment import Executor, ExecutorKind
from sim.sweep.store import DamagedSweep, SweepStore
from tests import crash_helpers


def finished_sweep(tmp_path: Path) -> Path:
    """The 8-run smoke sweep, one run per part, run in this process."""
    overrides = ["executor.kind=serial", "executor.batch_size=1"]
    outcome = start_sweep(load_experiment("smoke", overrides), tmp_path / "results", progress=False)
    assert outcome.finished == 8
    return outcome.path


def runs_of(path: Path) -> pd.DataFrame:
    return load(path).runs.drop(columns="wall_time_s")


def test_a_second_writer_is_refused_with_the_holder_named(tmp_path: Path) -> None:
    path = finished_sweep(tmp_path)
    with SweepStore(path).writer_lock(), pytest.raises(ConfigError, match=r"being written by process \d+"):
        resume_sweep(path, progress=False)
    assert resume_sweep(path, progress=False).finished == 8  # the lock is released with its holder


def test_a_flipped_byte_is_found_on_load_and_its_runs_redone_on_resume(tmp_path: Path) -> None:
    path = finished_sweep(tmp_path)
    before = runs_of(path)
    part = path / "runs" / "part-00003.parquet"
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0xFF
    part.write_bytes(bytes(data))
    with pytest.raises(DamagedSweep, match=r"runs/part-00003\.parquet"):
        load(path)
    outcome = resume_sweep(path, progress=False)
    assert outcome.finished == 8
    assert (path / "quarantine" / "runs" / "part-00003.parquet").exists()
    pd.testing.assert_frame_equal(runs_of(path), before)
    assert json.loads((path / "manifest.json").read_text())["quarantined"] == ["runs/part-00003.parquet"]


def test_a_copied_part_is_a_duplicate_and_does_not_double_a_point(tmp_path: Path) -> None:
    path = finished_sweep(tmp_path)
    before = runs_of(path)
    shutil.copy(path / "runs" / "part-00000.parquet", path / "runs" / "part-00099.parquet")
    checksums = path / "checksums" / "runs"
    shutil.copy(checksums / "part-00000.parquet.sha256", checksums / "part-00099.parquet.sha256")
    with pytest.raises(DamagedSweep, match=r"runs/part-00099\.parquet"):
        load(path)
    resume_sweep(path, progress=False)
    pd.testing.assert_frame_equal(runs_of(path), before)


def test_a_truncated_timeseries_part_is_redone(tmp_path: Path) -> None:
    path = finished_sweep(tmp_path)
    before = load(path).timeseries()
    part = path / "timeseries" / "part-00005.parquet"
    part.write_bytes(part.read_bytes()[:100])
    with pytest.raises(DamagedSweep, match=r"timeseries/part-00005\.parquet"):
        load(path)
    resume_sweep(path, progress=False)
    pd.testing.assert_frame_equal(load(path).timeseries(), before)


def test_stray_files_are_ignored_with_a_warning(tmp_path: Path) -> None:
    path = finished_sweep(tmp_path)
    (path / "runs" / "notes.txt").write_text("mine")
    with pytest.warns(UserWarning, match="ignoring files that are not sweep parts: notes.txt"):
        assert len(load(path).runs) == 8


def test_resume_refuses_changed_code_unless_allowed_and_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = finished_sweep(tmp_path)
    monkeypatch.setattr(engine, "code_hash", lambda: "0" * 64)
    with pytest.raises(ConfigError, match="the model's code changed since the sweep started"):
        resume_sweep(path, progress=False)
    resume_sweep(path, allow_code_change=True, progress=False)
    changes = json.loads((path / "manifest.json").read_text())["code_changes"]
    assert [c["code_hash"] for c in changes] == ["0" * 64]


def test_a_sweep_written_before_checksums_loads_with_a_warning_and_resume_adopts_it(tmp_path: Path) -> None:
    path = finished_sweep(tmp_path)
    before = runs_of(path)
    shutil.rmtree(path / "checksums")
    with pytest.warns(UserWarning, match="written before sweeps had checksums"):
        assert len(load(path).runs) == 8
    with pytest.warns(UserWarning, match="written before sweeps had checksums"):
        assert resume_sweep(path, progress=False).finished == 8
    assert len(list((path / "checksums" / "runs").iterdir())) == 8
    pd.testing.assert_frame_equal(runs_of(path), before)  # verified now, no warning needed


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ("+levers.policy.enforcement.allocation=[uniform,lots]", "'lots' is not allowed"),
        ("+levers.policy.end_user_audits.audit_rate=[0.5,1.5]", "1.5 is not allowed"),
        ("replications=2000000", "more than 1,000,000; check the design and replications, and add confirm=true"),
        ("executor.workers=100000", "add confirm=true to start that many processes"),
        ("executor.address='not a url'", "expected a Dask scheduler address such as tcp://host:8786"),
    ],
)
def test_a_sweep_that_cannot_run_well_is_refused_before_anything_is_written(
    tmp_path: Path, override: str, fragment: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        start_sweep(load_experiment("smoke", [override]), tmp_path, progress=False)
    assert not (tmp_path / "sweeps").exists()


def test_an_unwritable_results_folder_is_refused_before_any_run(tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="cannot write results under"):
        start_sweep(load_experiment("smoke", ["executor.kind=serial"]), blocker, progress=False)


def test_confirm_lets_a_large_sweep_start() -> None:
    engine.check_size(load_experiment("smoke", ["executor.workers=100000", "confirm=true"]), runs=10**7)
    with pytest.raises(ConfigError):
        engine.check_size(load_experiment("smoke", []), runs=10**7)


def test_a_run_that_kills_its_worker_is_a_failure_and_the_sweep_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crashing_pool(self: executors.LocalPool) -> ProcessPoolExecutor:
        context = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(self.workers, mp_context=context, initializer=crash_helpers.start_crashing_worker)

    monkeypatch.setattr(executors.LocalPool, "_new_pool", crashing_pool)
    overrides = ["uncertainties.behaviour.temperature=[0.1,0.2,0.3]"]
    local = ["executor.kind=local", "executor.workers=1", "executor.batch_size=2", "executor.retries=1"]
    experiment = load_experiment("smoke", [*overrides, *local])
    outcome = start_sweep(experiment, tmp_path / "results", progress=False)
    assert (outcome.runs, outcome.finished, outcome.failed) == (12, 12, 4)
    failures = [json.loads(line) for line in (outcome.path / "failures.jsonl").read_text().splitlines()]
    assert {f["settings"]["behaviour.temperature"] for f in failures} == {0.2}
    assert all("worker process died on each of 2 tries" in f["error"] for f in failures)
    # the runs that finished are the runs of the same sweep run serially, without a crash
    monkeypatch.undo()
    serial = start_sweep(load_experiment("smoke", [*overrides, "executor.kind=serial"]), tmp_path / "s", progress=False)
    kept = runs_of(serial.path)
    kept = kept[kept["behaviour.temperature"] != 0.2].reset_index(drop=True)
    pd.testing.assert_frame_equal(runs_of(outcome.path), kept)


def session_members(session_id: int) -> list[str]:
    """Processes of a session (``ps -s``), as ``pid args`` lines."""
    listing = subprocess.run(["ps", "-o", "pid=,args=", "-s", str(session_id)], capture_output=True, text=True)
    return [line.strip() for line in listing.stdout.splitlines() if line.strip()]


def test_a_stopped_local_pool_stops_its_runs_under_way_instead_of_waiting_for_them() -> None:
    with pytest.raises(KeyboardInterrupt), open_executor(Executor(kind=ExecutorKind.LOCAL, workers=1)) as (pool, _):
        under_way = pool.submit(time.sleep, 30)
        while not under_way.running():
            time.sleep(0.05)
        raise KeyboardInterrupt
    assert isinstance(under_way.exception(), BrokenProcessPool)  # ended with its worker, not after 30 s of sleep


def test_a_parent_killed_outright_leaves_no_process_behind(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "sim.sweep", "experiment=smoke", "replications=200", "overrides=['months=36']"]
    parent = subprocess.Popen(
        command, cwd=tmp_path, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while len(session_members(parent.pid)) < 4 and time.monotonic() < deadline:  # parent, helpers, workers
            time.sleep(0.5)
        assert len(session_members(parent.pid)) >= 4, "the sweep's workers never started"
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 15
        while session_members(parent.pid) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert session_members(parent.pid) == []
    finally:  # whatever happened, leave nothing running
        for line in session_members(parent.pid):
            os.kill(int(line.split()[0]), signal.SIGKILL)


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ("levers.policy.enforcement.audit_budget_per_month=[2,2.0]", "2.0 is listed twice"),
        ("design.kind=lhs", "a lhs design needs a range"),
        ("levers.policy.enforcement.audit_budget_per_month=[1,true]", "True is not allowed: "),
        ('levers.policy.enforcement.audit_budget_per_month=[2,"8"]', "expected a number, got the text '8'"),
    ],
)
def test_factor_lists_repeating_a_point_or_of_the_wrong_kind_are_refused(
    tmp_path: Path, override: str, fragment: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        start_sweep(load_experiment("smoke", [override]), tmp_path, progress=False)


@pytest.mark.parametrize(("damage", "file"), [("delete", "design.parquet"), ("truncate", "manifest.json")])
def test_a_sweep_missing_its_design_or_manifest_is_reported_not_a_traceback(
    tmp_path: Path, damage: str, file: str
) -> None:
    path = finished_sweep(tmp_path)
    target = path / file
    if damage == "delete":
        target.unlink()
    else:
        target.write_bytes(target.read_bytes()[:40])
    with pytest.raises(DamagedSweep, match=re.escape(f"cannot read {file}")):
        resume_sweep(path, allow_code_change=True, progress=False)


def test_a_full_disk_leaves_no_unreadable_result(tmp_path: Path) -> None:
    """A run stopped by a file-size limit mid-write leaves its files whole or absent (atomic writes)."""

    def small_file_limit() -> None:  # 20 kB: config.yaml fits, the 70 kB time series does not
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    done = subprocess.run([sys.executable, "-m", "sim"], cwd=tmp_path, preexec_fn=small_file_limit, capture_output=True)
    assert done.returncode != 0
    written = {p.name: p for p in (tmp_path / "results").rglob("*") if p.is_file() and not p.name.startswith(".")}
    assert "config.yaml" in written and "timeseries.parquet" not in written
    for path in written.values():  # whatever is there can be read
        if path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix == ".yaml":
            yaml.safe_load(path.read_text())


EXPERIMENT_KEYS = [
    "replications",
    "seed",
    "design.kind",
    "design.samples",
    "executor.kind",
    "executor.workers",
    "executor.batch_size",
    "executor.retries",
    "levers.policy.enforcement.audit_budget_per_month",
    "uncertainties.behaviour.temperature",
    "timeseries",
    "name",
]
EXPERIMENT_VALUES = st.one_of(
    st.integers(min_value=-5, max_value=10**8),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.sampled_from(
        [
            "sobol",
            "lhs",
            "factorial",
            "morris",
            "local",
            "dask",
            "x/y",
            "[]",
            "[1,1]",
            "[0.5,2]",
            "{low: 0, high: 2}",
            "{low: 3, high: 1}",
            "null",
            "''",
        ]
    ),
)


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.sampled_from(EXPERIMENT_KEYS), value=EXPERIMENT_VALUES)
def test_any_experiment_override_is_refused_with_one_message_or_prepares(key: str, value: object) -> None:
    text = str(value).lower() if isinstance(value, bool) else ("nan" if value != value else str(value))
    try:
        engine.prepare(load_experiment("smoke", [f"{key}={text}"]))
    except ConfigError as refused:
        assert str(refused) and "Traceback" not in str(refused)


def test_resume_reports_an_experiment_file_edited_since_the_start(tmp_path: Path) -> None:
    source = tmp_path / "mine.yaml"
    source.write_text((CONFIG_DIR / "experiment" / "smoke.yaml").read_text().replace("kind: local", "kind: serial"))
    outcome = start_sweep(load_experiment(str(source)), tmp_path / "results", progress=False)
    shown = io.StringIO()
    resume_sweep(outcome.path, progress=False, out=shown)
    assert "note:" not in shown.getvalue()
    source.write_text(source.read_text().replace("replications: 2", "replications: 3"))
    resume_sweep(outcome.path, progress=False, out=shown)
    assert f"note: {source.resolve()} has changed" in shown.getvalue()
    assert json.loads((outcome.path / "manifest.json").read_text())["runs"] == 8  # the sweep as it started


LONG_SWEEP = [sys.executable, "-m", "sim.sweep", "experiment=smoke", "replications=200", "overrides=['months=36']"]


def test_a_resume_while_another_process_writes_the_sweep_is_refused(tmp_path: Path) -> None:
    writer = subprocess.Popen(
        LONG_SWEEP, cwd=tmp_path, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob("results/sweeps/smoke/*/runs/part-*.parquet")) and time.monotonic() < deadline:
            time.sleep(0.5)
        path = next(tmp_path.glob("results/sweeps/smoke/*"))
        with pytest.raises(ConfigError, match=rf"being written by process {writer.pid}\b"):
            resume_sweep(path, progress=False)
    finally:
        os.killpg(writer.pid, signal.SIGKILL)
        writer.wait()


def test_a_sweep_stopped_by_a_full_disk_resumes_to_the_whole_sweep(tmp_path: Path) -> None:
    def small_file_limit() -> None:  # 20 kB a file: the design and manifest fit, a time-series part does not
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    overrides = ["executor.kind=serial", "executor.batch_size=1"]
    stopped = subprocess.run(
        [sys.executable, "-m", "sim.sweep", "experiment=smoke", *overrides, "overrides=['months=36']"],
        cwd=tmp_path,
        preexec_fn=small_file_limit,
        capture_output=True,
    )
    assert stopped.returncode == 2
    stderr = stopped.stderr.decode()
    assert "\nerror: cannot write " in stderr and "resume=" in stderr and "Traceback" not in stderr
    path = next(tmp_path.glob("results/sweeps/smoke/*"))
    assert len(load(path).runs) < 8  # what was written before the disk filled reads back whole
    assert resume_sweep(path, progress=False).finished == 8
    assert len(load(path).runs) == 8


def test_a_sampled_range_beyond_what_a_value_allows_is_refused_before_any_run(tmp_path: Path) -> None:
    source = tmp_path / "wide.yaml"
    source.write_text(
        "design: {kind: lhs, samples: 4}\n"
        "uncertainties:\n  policy.end_user_audits.audit_rate: {low: 0.5, high: 3}\n"
        "executor: {kind: serial}\n"
    )
    with pytest.raises(ConfigError, match=re.escape("audit_rate: 3.0 is not allowed")):
        start_sweep(load_experiment(str(source)), tmp_path, progress=False)
    assert not (tmp_path / "sweeps").exists()


def test_an_integer_range_that_rounds_to_one_value_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "narrow.yaml"
    source.write_text(
        "design: {kind: lhs, samples: 4}\n"
        "uncertainties:\n  world.intermediaries.registration_delay_months: {low: 2.6, high: 3.4}\n"
        "executor: {kind: serial}\n"
    )
    with pytest.raises(ConfigError, match="rounds to one value"):
        start_sweep(load_experiment(str(source)), tmp_path, progress=False)


def test_a_sweep_interrupted_before_its_first_write_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    def interrupted_pilot(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(engine, "pilot", interrupted_pilot)
    with pytest.raises(engine.SweepInterrupted, match="nothing was written") as stopped:
        start_sweep(load_experiment("smoke", ["executor.kind=serial"]), tmp_path / "results", progress=False)
    assert stopped.value.path is None
    assert not (tmp_path / "results").exists()


def test_a_sweep_folder_that_cannot_be_written_is_refused_before_resuming(tmp_path: Path, monkeypatch) -> None:
    import sim.results

    path = finished_sweep(tmp_path)

    def read_only(dir: Path) -> None:  # as a read-only folder answers, whoever runs the test (root included)
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(sim.results.tempfile, "TemporaryFile", read_only)
    with pytest.raises(ConfigError, match="Permission denied; make it writable, then resume again"):
        resume_sweep(path, progress=False)


def test_a_sweep_stopped_before_any_run_finished_says_so_when_read(tmp_path: Path, monkeypatch) -> None:
    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt
        yield  # a generator, as the engine's is

    monkeypatch.setattr(engine, "_completed", interrupted)
    with pytest.raises(engine.SweepInterrupted) as stopped:
        start_sweep(load_experiment("smoke", ["executor.kind=serial"]), tmp_path / "results", progress=False)
    with pytest.raises(ConfigError, match=r"no run of this sweep has finished yet \(status interrupted\); continue"):
        load(stopped.value.path).check_metrics(["access_ratio"])


class LosingWorkers(executors.SerialExecutor):
    """Like a Dask client's executor: a run at ``temperature`` 0.2 loses its worker on every try (KilledWorker)."""

    def submit(self, fn, /, *args, **kwargs):
        from distributed import KilledWorker

        if any(s.settings.get("behaviour.temperature") == 0.2 for s in args[1]):
            future = Future()
            future.set_exception(KilledWorker("run_batch", None, 3))
            return future
        return super().submit(fn, *args, **kwargs)


def test_a_run_that_dask_loses_its_workers_to_is_a_failure_and_the_sweep_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("distributed")

    @contextlib.contextmanager
    def losing(spec):
        yield LosingWorkers(), 2

    monkeypatch.setattr(engine, "open_executor", losing)
    overrides = ["uncertainties.behaviour.temperature=[0.1,0.2,0.3]", "executor.batch_size=2", "executor.retries=1"]
    outcome = start_sweep(load_experiment("smoke", overrides), tmp_path / "results", progress=False)
    assert (outcome.runs, outcome.finished, outcome.failed) == (12, 12, 4)
    failures = [json.loads(line) for line in (outcome.path / "failures.jsonl").read_text().splitlines()]
    assert {f["settings"]["behaviour.temperature"] for f in failures} == {0.2}
    assert all("worker process died on each of 2 tries" in f["error"] for f in failures)


def test_a_dask_sweep_without_dask_installed_is_refused_before_its_folder_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "distributed" else found(name, *a)
    )
    with pytest.raises(ConfigError, match=r"executor.kind=dask needs dask.distributed; install it with"):
        start_sweep(load_experiment("smoke", ["executor.kind=dask"]), tmp_path / "results", progress=False)
    assert not (tmp_path / "results" / "sweeps").exists()


def test_a_scheduler_address_without_kind_dask_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"address 'tcp://127.0.0.1:1' is a dask scheduler's, but kind is 'local'"):
        load_experiment("smoke", ["executor.address=tcp://127.0.0.1:1"])
