"""Hydra multirun keeps working, and its run folders gather into the sweep's tidy tables."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sim.sweep import collect_runs, load, load_experiment, point_means, start_sweep
from sim.sweep.summarize import main as summarize

FACTOR = "policy.enforcement.audit_budget_per_month"


def sim_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cwd = tmp_path_factory.mktemp("multirun")
    single = sim_cli("months=6", "seed=5", "paths.results=res", cwd=cwd)
    assert single.returncode == 0, single.stderr
    multi = sim_cli("-m", f"{FACTOR}=2,8", "seed=0,1", "months=6", "paths.results=res", cwd=cwd)
    assert multi.returncode == 0, multi.stderr
    return cwd / "res"


def test_multirun_writes_a_run_folder_per_job(results: Path) -> None:
    (multirun,) = (results / "multirun").iterdir()
    jobs = sorted(p for p in multirun.iterdir() if p.is_dir())
    assert [j.name for j in jobs] == ["0", "1", "2", "3"]
    assert all((j / "summary.json").is_file() and (j / "config.yaml").is_file() for j in jobs)
    assert len(list((results / "runs" / "baseline").iterdir())) == 1  # the single run


def test_collect_runs_of_a_results_folder_finds_every_run(results: Path) -> None:
    runs = collect_runs(results)
    assert len(runs) == 5
    assert sorted(runs[FACTOR]) == [2.0, 2.0, 2.0, 8.0, 8.0]
    assert sorted(runs["seed"]) == [0, 0, 1, 1, 5]


def test_collect_runs_of_a_multirun_folder_finds_its_jobs_as_points(results: Path) -> None:
    (multirun,) = (results / "multirun").iterdir()
    runs = collect_runs(multirun)
    assert len(runs) == 4 and sorted(runs["seed"]) == [0, 0, 1, 1]
    assert runs.columns[:5].tolist() == ["run", "point_id", "replication", "scenario", FACTOR]
    assert runs[["point_id", "replication"]].values.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    points = point_means(runs, [FACTOR], ["access_ratio"])
    assert points[FACTOR].tolist() == [2.0, 8.0] and points["n"].tolist() == [2, 2]
    assert (points["ci_low"] <= points["mean"]).all() and (points["mean"] <= points["ci_high"]).all()


def test_collect_runs_of_an_empty_folder_says_so(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no run folders"):
        collect_runs(tmp_path)


def test_summarize_prints_means_with_intervals(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = start_sweep(load_experiment("smoke", ["executor.kind=serial"]), tmp_path, progress=False).path
    assert summarize([str(path), "--metrics", "access_ratio", "--csv", str(tmp_path / "points.csv")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("sweep smoke (factorial, 4 points x 2 replications = 8 runs): 8 finished, 0 failed")
    assert len(out) == 2 + 4 and all("[" in line for line in out[2:])
    points = load(path).points(["access_ratio"])
    assert len(points) == 4 and (points["n"] == 2).all()
    assert (points["ci_low"] < points["mean"]).all() and (points["mean"] < points["ci_high"]).all()
    assert (tmp_path / "points.csv").read_text().count("\n") == 5
    assert summarize([str(path), "--metrics", "acces_ratio"]) == 2
    assert "Did you mean 'access_ratio'?" in capsys.readouterr().err
    with pytest.raises(SystemExit) as refused:
        summarize([str(path), "--max-rows", "0"])
    assert (
        refused.value.code == 2
        and "--max-rows: expected a whole number of at least 1, got 0" in capsys.readouterr().err
    )
