"""Sensitivity indices: known answers through the sweep's design and analysis, and tables of a model sweep."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.schema import ConfigError
from sim.sweep import load, load_experiment, start_sweep
from sim.sweep.designs import POINT_ID, problem, sample
from sim.sweep.experiment import parse_experiment
from sim.sweep.sensitivity import indices, main, sweep_indices

# Ishigami with a = 7, b = 0.1 on [-pi, pi]^3 (Saltelli et al. 2008, section 4.7).
ISHIGAMI_S1 = {"x1": 0.3139, "x2": 0.4424, "x3": 0.0}
ISHIGAMI_ST = {"x1": 0.5576, "x2": 0.4424, "x3": 0.2437}


def analyse(design_spec: dict, function) -> pd.DataFrame:
    experiment = parse_experiment({"name": "known", **design_spec})
    design = sample(experiment)
    x = design[problem(experiment)["names"]].to_numpy()
    outputs = pd.DataFrame({"y": function(x)}, index=design[POINT_ID])
    return indices(
        experiment.design.kind,
        problem(experiment),
        design,
        outputs,
        second_order=experiment.design.second_order,
        levels=experiment.design.levels,
    ).set_index("factor")


def ishigami(x: np.ndarray) -> np.ndarray:
    return np.sin(x[:, 0]) + 7 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])


def test_sobol_recovers_the_ishigami_indices() -> None:
    pi = math.pi
    spec = {
        "design": {"kind": "sobol", "samples": 2048},
        "levers": {"x1": {"low": -pi, "high": pi}},
        "uncertainties": {"x2": {"low": -pi, "high": pi}, "x3": {"low": -pi, "high": pi}},
    }
    table = analyse(spec, ishigami)
    for name in ISHIGAMI_S1:
        assert table.loc[name, "S1"] == pytest.approx(ISHIGAMI_S1[name], abs=0.05)
        assert table.loc[name, "ST"] == pytest.approx(ISHIGAMI_ST[name], abs=0.05)
        assert 0 < table.loc[name, "ST_conf"] < 0.1


def test_morris_ranks_a_linear_function_by_its_slopes() -> None:
    spec = {
        "design": {"kind": "morris", "samples": 20, "levels": 4},
        "levers": {"a": {"low": 0, "high": 1}, "b": {"low": 0, "high": 1}, "c": {"low": 0, "high": 1}},
    }
    table = analyse(spec, lambda x: 3 * x[:, 0] + x[:, 1])
    assert table["mu_star"].tolist() == pytest.approx([3, 1, 0], abs=1e-9)
    assert table["sigma"].tolist() == pytest.approx([0, 0, 0], abs=1e-9)


def test_factorial_designs_have_no_indices() -> None:
    spec = {"design": {"kind": "factorial"}, "levers": {"a": [1, 2]}}
    with pytest.raises(ConfigError, match="sobol or morris"):
        analyse(spec, lambda x: np.zeros(len(x)))


@pytest.fixture(scope="module")
def model_sobol(tmp_path_factory: pytest.TempPathFactory) -> Path:
    experiment = load_experiment(
        "sensitivity",
        [
            "overrides=['months=6']",
            "design.samples=4",
            "replications=2",
            "executor.kind=serial",
            "~levers",  # Hydra merges a dict into a section: delete it first to replace it
            "+levers={policy.enforcement.audit_budget_per_month: {low: 0, high: 32}}",
            "~uncertainties",
            "+uncertainties={behaviour: {temperature: {low: 0.02, high: 0.5}}}",
        ],
    )
    return start_sweep(experiment, tmp_path_factory.mktemp("sobol"), progress=False).path


def test_model_sobol_sweep_gives_one_row_per_output_and_factor(model_sobol: Path) -> None:
    sweep = load(model_sobol)
    assert len(sweep.design) == 4 * (2 + 2) and len(sweep.runs) == 32
    table = sweep_indices(sweep, ["access_ratio", "smuggled_h100e_total"])
    assert table.columns.tolist() == ["output", "factor", "S1", "S1_conf", "ST", "ST_conf"]
    assert table[["output", "factor"]].values.tolist() == [
        ["access_ratio", "policy.enforcement.audit_budget_per_month"],
        ["access_ratio", "behaviour.temperature"],
        ["smuggled_h100e_total", "policy.enforcement.audit_budget_per_month"],
        ["smuggled_h100e_total", "behaviour.temperature"],
    ]
    assert table[["S1", "ST"]].notna().all().all()


def test_sensitivity_command_writes_and_prints_the_table(model_sobol: Path, capsys: pytest.CaptureFixture) -> None:
    assert main([str(model_sobol), "--outputs", "access_ratio"]) == 0
    printed = capsys.readouterr().out
    assert "behaviour.temperature" in printed and "ST_conf" in printed
    written = pd.read_csv(model_sobol / "sensitivity.csv")
    pd.testing.assert_frame_equal(written, pd.read_parquet(model_sobol / "sensitivity.parquet"))
    assert len(written) == 2
    assert main([str(model_sobol), "--outputs", "no_such_metric"]) == 2
    assert "unknown outputs" in capsys.readouterr().err
