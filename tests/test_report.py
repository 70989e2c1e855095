"""The report: figures that fit a sweep, written as PDF, PNG and CSV, with honest bands.

One subprocess checks the report command's exit code and output; the rest runs in this process.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.report import tables
from sim.report.__main__ import main
from sim.report.specs import report
from sim.report.studies import STUDIES_DIR, study_names
from sim.sweep import load, load_experiment, start_sweep
from sim.sweep.experiment import parse_experiment

SCENARIOS = ["baseline", "crackdown_singapore"]


@pytest.fixture(scope="module")
def scenario_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two scenarios x 3 replications of 6 months."""
    experiment = parse_experiment(
        {
            "name": "two_scenarios",
            "overrides": ["months=6"],
            "design": {"kind": "factorial"},
            "levers": {"scenario": SCENARIOS},
            "replications": 3,
            "seed": 5,
            "executor": {"kind": "serial"},
        }
    )
    return start_sweep(experiment, tmp_path_factory.mktemp("report"), progress=False).path


@pytest.fixture(scope="module")
def smoke_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("smoke")
    return start_sweep(load_experiment("smoke", ["executor.kind=serial"]), root, progress=False).path


def test_report_writes_pdf_png_and_csv_for_the_smoke_sweep(smoke_sweep: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sim.report", str(smoke_sweep)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    listed = [Path(line) for line in done.stdout.splitlines()]
    names = {p.stem for p in listed}
    assert names == {"heatmaps", "detection_curves"}  # two numeric factors, no scenario factor
    for name in names:
        for suffix in (".pdf", ".png", ".csv"):
            path = smoke_sweep / "figures" / f"{name}{suffix}"
            assert path in listed and path.stat().st_size > 200
    assert (smoke_sweep / "figures" / "heatmaps.pdf").read_bytes().startswith(b"%PDF")


@pytest.fixture(scope="module")
def scenario_report(scenario_sweep: Path) -> list[Path]:
    """The files of the scenario sweep's report, in the slides theme."""
    return report(scenario_sweep, "slides")


def test_scenario_sweep_gets_access_prices_and_hub_flows(scenario_report: list[Path]) -> None:
    assert {p.stem for p in scenario_report} == {"access_by_source", "prices", "hub_flows"}
    assert all(p.is_file() for p in scenario_report)


def test_bands_equal_an_independent_computation(scenario_sweep: Path) -> None:
    sweep = load(scenario_sweep)
    table = tables.access_table(sweep).set_index(["scenario", "source", "month"])
    ts = pd.read_parquet(scenario_sweep / "timeseries")
    runs = pd.read_parquet(scenario_sweep / "runs")
    design = pd.read_parquet(scenario_sweep / "design.parquet")
    scenario_of = runs.merge(design, on="point_id").set_index("run_id")["scenario"]
    for scenario in SCENARIOS:
        for month in ("2025-01", "2025-06"):
            chosen = ts[(ts["run_id"].map(scenario_of) == scenario) & (ts["month"] == month)]
            values = chosen["access_smuggling"].to_numpy()
            n = len(values)
            half = stats.t.ppf(0.975, n - 1) * values.std(ddof=1) / math.sqrt(n)
            row = table.loc[(scenario, "smuggling", month)]
            assert row["n"] == n == 3
            np.testing.assert_allclose(
                [row["mean"], row["ci_low"], row["ci_high"]],
                [values.mean(), values.mean() - half, values.mean() + half],
            )


def test_csv_holds_exactly_the_plotted_table(scenario_sweep: Path, scenario_report: list[Path]) -> None:
    assert scenario_sweep / "figures" / "hub_flows.csv" in scenario_report
    written = pd.read_csv(scenario_sweep / "figures" / "hub_flows.csv")
    expected = tables.hub_flows_table(load(scenario_sweep)).reset_index(drop=True)
    pd.testing.assert_frame_equal(written, expected, check_dtype=False)


def test_report_of_a_folder_that_is_no_sweep_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path)]) == 2
    assert "not a sweep folder" in capsys.readouterr().err


def test_every_study_has_a_readme_with_its_command_and_an_experiment() -> None:
    expected = {"compute_access_2025", "audits_vs_caps", "crackdown_displacement", "sensitivity", "prices"}
    assert expected <= set(study_names())
    for name in study_names():
        readme = (STUDIES_DIR / name / "README.md").read_text()
        assert f"python -m sim.report.studies {name}" in readme
        assert "## Question" in readme and "## What the figures show" in readme
        load_experiment(name)
