"""The sweep engine: results independent of executor and workers, resumable after a kill, failures kept."""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim import load_config, run
from sim.schema import with_settings
from sim.sweep import engine, load, load_experiment, resume_sweep, start_sweep, worker
from sim.sweep.__main__ import main as sweep_main
from sim.sweep.designs import run_seed
from sim.sweep.store import resume_command
from sim.sweep.summarize import point_table
from tests.conftest import signal_once_ready

KILLABLE = """
scenario: baseline
overrides: ["months=24"]
design: {kind: factorial}
levers:
  policy.enforcement.audit_budget_per_month: [0, 4, 16]
uncertainties:
  behaviour.temperature: [0.1, 0.3]
replications: 4
seed: 11
executor: {kind: local, workers: 1, batch_size: 2}
"""

FAILING = """
scenario: baseline
overrides: ["months=6"]
design: {kind: factorial}
uncertainties:
  behaviour.front_load_months: [1.0, 2.0, 3.0]
replications: 2
seed: 5
executor: {kind: serial, batch_size: 2}
"""


def sweep_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sim.sweep", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def results(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Runs (without wall times) and time series of a sweep, in run order."""
    sweep = load(path)
    return sweep.runs.drop(columns="wall_time_s"), sweep.timeseries()


def smoke(tmp_path: Path, *overrides: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    outcome = start_sweep(load_experiment("smoke", list(overrides)), tmp_path / "results", progress=False)
    assert (outcome.runs, outcome.finished, outcome.failed) == (8, 8, 0)
    return results(outcome.path)


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, pd.DataFrame]:
    return smoke(tmp_path_factory.mktemp("one"), "executor.workers=1", "executor.batch_size=1")


def test_smoke_sweep_has_every_run_with_its_seed_and_values(one_worker: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    runs, timeseries = one_worker
    assert runs["run_id"].tolist() == list(range(8))
    assert runs["point_id"].tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert runs["seed"].tolist() == [run_seed(2025, r) for r in runs["replication"]]
    assert runs["seed"].nunique() == 2  # replication r has one seed at every point: runs pair up
    assert runs["access_ratio"].nunique() == 8
    assert len(timeseries) == 8 * 12 and timeseries["run_id"].nunique() == 8
    # a run of the sweep is the run of its config
    seed = int(runs["seed"].iloc[3])
    cfg = with_settings(
        load_config(["months=12"]),
        {"policy.enforcement.audit_budget_per_month": 2, "behaviour.temperature": 0.3, "seed": seed},
    )
    alone = run(cfg)
    assert alone.summary["access_ratio"] == pytest.approx(runs["access_ratio"].iloc[3], rel=1e-12)
    # its monthly rows are the run's time series, as numbers (the sweep builds no DataFrame per run)
    rows = timeseries[timeseries["run_id"] == runs["run_id"].iloc[3]].drop(columns="run_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(rows, alone.timeseries.astype({c: "float64" for c in alone.layout.counts}))


def test_two_workers_and_other_batches_give_identical_runs(
    tmp_path: Path, one_worker: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    runs, timeseries = smoke(tmp_path, "executor.workers=2", "executor.batch_size=3")
    pd.testing.assert_frame_equal(runs, one_worker[0])
    pd.testing.assert_frame_equal(timeseries, one_worker[1])


def test_serial_executor_gives_identical_runs(tmp_path: Path, one_worker: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    runs, _ = smoke(tmp_path, "executor.kind=serial")
    pd.testing.assert_frame_equal(runs, one_worker[0])


def test_dask_local_cluster_gives_identical_runs(tmp_path: Path, one_worker: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    pytest.importorskip("distributed")
    runs, timeseries = smoke(tmp_path, "executor.kind=dask", "executor.workers=2")
    pd.testing.assert_frame_equal(runs, one_worker[0])
    pd.testing.assert_frame_equal(timeseries, one_worker[1])


def test_design_and_manifest_are_written_and_parts_are_one_per_batch(tmp_path: Path) -> None:
    outcome = start_sweep(load_experiment("smoke", ["executor.kind=serial"]), tmp_path, progress=False)
    path = outcome.path
    assert path.parent == tmp_path / "sweeps" / "smoke"
    assert len(pd.read_parquet(path / "design.parquet")) == 4
    assert sorted(p.name for p in (path / "runs").iterdir()) == [f"part-{i:05d}.parquet" for i in range(4)]
    assert sorted(p.name for p in (path / "timeseries").iterdir()) == [f"part-{i:05d}.parquet" for i in range(4)]
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["runs"] == 8 and manifest["finished_runs"] == 8
    assert manifest["experiment"]["levers"] == {"policy.enforcement.audit_budget_per_month": [2, 8]}


def signal_after_the_first_part(
    tmp_path: Path, experiment: str, stop: signal.Signals, *overrides: str
) -> subprocess.Popen[str]:
    """Start ``experiment`` (the killable sweep's YAML) as a command and send ``stop`` to its process group
    once its first part is written; return the process (its stderr piped)."""
    (tmp_path / "killable.yaml").write_text(experiment)
    args = ["-m", "sim.sweep", "experiment=killable.yaml", *overrides]
    return signal_once_ready(args, tmp_path, "results/sweeps/killable/*/runs/part-*.parquet", stop)


def test_killed_sweep_resumes_to_exactly_the_uninterrupted_runs(tmp_path: Path) -> None:
    signal_after_the_first_part(tmp_path, KILLABLE, signal.SIGKILL).communicate()
    sweeps = tmp_path / "results" / "sweeps" / "killable"
    (path,) = sweeps.iterdir()
    finished_at_kill = len(load(path).runs)
    assert 0 < finished_at_kill < 24, "the kill must land mid-sweep"

    done = sweep_cli(f"resume={path}", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == str(path.resolve())
    assert f"{24 - finished_at_kill} left to run" in done.stdout

    reference = start_sweep(
        load_experiment(str(tmp_path / "killable.yaml"), ["executor.workers=2"]), tmp_path / "ref", progress=False
    )
    runs, timeseries = results(path)
    expected_runs, expected_timeseries = results(reference.path)
    assert runs["run_id"].tolist() == list(range(24))  # none missing, no duplicates
    pd.testing.assert_frame_equal(runs, expected_runs)
    pd.testing.assert_frame_equal(timeseries, expected_timeseries)
    assert json.loads((path / "manifest.json").read_text())["status"] == "complete"


def test_ctrl_c_stops_a_dask_sweep_with_130_and_one_message(tmp_path: Path) -> None:
    """A Ctrl-C reaches the whole process group: the workers leave it to the sweep, which closes them
    without a word from Dask about the runs it cancelled or a heartbeat it missed."""
    on_dask = KILLABLE.replace("kind: local, workers: 1", "kind: dask, workers: 2")
    process = signal_after_the_first_part(tmp_path, on_dask, signal.SIGINT, "executor.batch_size=1")
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    lines = [
        line for line in stderr.replace("\r", "\n").splitlines() if line.strip() and "/24 [" not in line
    ]  # not the bar
    assert len(lines) == 1 and lines[0].startswith("sweep interrupted; continue it with"), stderr


def test_resuming_a_finished_sweep_runs_nothing(tmp_path: Path) -> None:
    outcome = start_sweep(load_experiment("smoke", ["executor.kind=serial"]), tmp_path, progress=False)
    before = sorted(p.name for p in (outcome.path / "runs").iterdir())
    again = resume_sweep(outcome.path, ["executor.workers=1"], progress=False)
    assert (again.finished, again.failed) == (8, 0)
    assert sorted(p.name for p in (outcome.path / "runs").iterdir()) == before


def test_a_failing_run_is_recorded_and_the_others_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run that raises (here: buying 2 months ahead, by a patched model) is a failure of that run only."""

    def run_or_fail(cfg):
        if cfg.behaviour.front_load_months == 2.0:
            raise RuntimeError("the model broke at 2")
        return run(cfg)

    monkeypatch.setattr(worker, "run", run_or_fail)  # the serial executor runs in this process
    monkeypatch.chdir(tmp_path)
    (tmp_path / "failing.yaml").write_text(FAILING)
    assert sweep_main(["experiment=failing.yaml"]) == 1
    stdout = capsys.readouterr().out
    path = Path(stdout.strip().splitlines()[-1])
    assert "2 of 6 runs failed" in stdout
    failures = [json.loads(line) for line in (path / "failures.jsonl").read_text().splitlines()]
    assert sorted(f["run_id"] for f in failures) == [2, 3]
    for f in failures:
        assert f["point_id"] == 1 and f["seed"] == run_seed(5, f["run_id"] % 2)  # its replication's seed
        assert f["settings"] == {"behaviour.front_load_months": 2.0}
        assert f["error"] == "RuntimeError: the model broke at 2"
    sweep = load(path)
    assert sweep.runs["run_id"].tolist() == [0, 1, 4, 5]
    assert sweep.manifest["status"] == "complete with failures"
    table = point_table(sweep, ["access_ratio"])
    assert table["runs"].fillna(0).tolist() == [2, 0, 2]

    assert sweep_main([f"resume={path}"]) == 1  # failed runs count as finished, so nothing reruns
    assert len((path / "failures.jsonl").read_text().splitlines()) == 2


def test_resume_refuses_to_change_more_than_the_executor(tmp_path: Path) -> None:
    outcome = start_sweep(load_experiment("smoke", ["executor.kind=serial"]), tmp_path, progress=False)
    done = sweep_cli(f"resume={outcome.path}", "replications=3", cwd=tmp_path)
    assert done.returncode == 2 and "only executor.*" in done.stderr


def _sigint_handler() -> str:
    return str(signal.getsignal(signal.SIGINT))


def test_local_dask_workers_leave_ctrl_c_to_the_sweep_even_after_a_restart() -> None:
    from distributed import Client, LocalCluster

    from sim.sweep.executors import _local_worker_plugin

    with (
        LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0") as cluster,
        Client(cluster) as client,
    ):
        client.register_plugin(_local_worker_plugin())
        assert set(client.run(_sigint_handler).values()) == {str(signal.SIG_IGN)}
        client.restart()  # as the nanny restarts a worker that died
        assert set(client.run(_sigint_handler).values()) == {str(signal.SIG_IGN)}


def test_a_signal_only_flags_a_stop_while_workers_run_and_a_second_one_quits() -> None:
    engine._stop_requested.clear()
    with pytest.raises(KeyboardInterrupt):  # preparing, or running in this process: at once
        engine.stop_on_signal(signal.SIGINT, None)
    engine._stop_requested.clear()
    with engine._interrupts_as_flag(True):
        engine.stop_on_signal(signal.SIGINT, None)  # the sweep's wait sees the flag within a second
        assert engine._stop_requested.is_set()
        with pytest.raises(KeyboardInterrupt):  # pressed again while workers close: quit now
            engine.stop_on_signal(signal.SIGINT, None)
    engine._stop_requested.clear()


def test_durations_read_as_seconds_or_clock_time() -> None:
    shown = [engine._duration(s) for s in (0.08, 0.6, 42.0, 89.4, 109.0, 3725.0, 7190.0)]
    assert shown == [
        *("under 1 s", "about 1 s", "about 42 s", "about 89 s", "about 1 min 49 s"),
        *("about 1 h 02 min", "about 2 h 00 min"),
    ]


def test_the_resume_command_printed_pastes_into_a_shell_whatever_the_path(tmp_path: Path) -> None:
    folder = tmp_path / "my sweeps" / "it's here"
    assert shlex.split(resume_command(folder)) == ["python", "-m", "sim.sweep", f"resume={folder.resolve()}"]
