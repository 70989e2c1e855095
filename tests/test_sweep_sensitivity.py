"""Sensitivity indices: known answers through the sweep's design and analysis, and tables of a model sweep."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.report.specs import report
from sim.schema import ConfigError
from sim.sweep import load
from sim.sweep.designs import POINT_ID, problem, sample
from sim.sweep.experiment import DesignKind, parse_experiment
from sim.sweep.sensitivity import (
    WARNINGS_FILE,
    convergence,
    factor_groups,
    indices,
    main,
    recommended_samples,
    sobol_warnings,
    sweep_indices,
)

# Ishigami with a = 7, b = 0.1 on [-pi, pi]^3 (Saltelli et al. 2008, section 4.7).
ISHIGAMI_S1 = {"x1": 0.3139, "x2": 0.4424, "x3": 0.0}
ISHIGAMI_ST = {"x1": 0.5576, "x2": 0.4424, "x3": 0.2437}


def evaluate(design_spec: dict, function) -> tuple[dict, pd.DataFrame, pd.DataFrame, bool]:
    """The SALib problem, design, outputs and second-order flag of a known function over a design."""
    experiment = parse_experiment({"name": "known", **design_spec})
    design = sample(experiment)
    x = design[problem(experiment)["names"]].to_numpy()
    return problem(experiment), design, pd.DataFrame({"y": function(x)}, index=design[POINT_ID]), experiment


def analyse(design_spec: dict, function, seed: int = 1) -> pd.DataFrame:
    spec, design, outputs, experiment = evaluate(design_spec, function)
    return indices(
        experiment.design.kind,
        spec,
        design,
        outputs,
        second_order=experiment.design.second_order,
        levels=experiment.design.levels,
        seed=seed,
    ).set_index("factor")


def ishigami(x: np.ndarray) -> np.ndarray:
    return np.sin(x[:, 0]) + 7 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])


def test_sobol_recovers_the_ishigami_indices() -> None:
    table = analyse(ishigami_spec(2048), ishigami)
    for name in ISHIGAMI_S1:
        assert table.loc[name, "S1"] == pytest.approx(ISHIGAMI_S1[name], abs=0.05)
        assert table.loc[name, "ST"] == pytest.approx(ISHIGAMI_ST[name], abs=0.05)
        assert 0 < table.loc[name, "ST_conf"] < 0.1


def test_the_bootstrap_is_seeded_for_every_seed_0_included() -> None:
    first, again = (analyse(ishigami_spec(64), ishigami, seed=0) for _ in range(2))
    pd.testing.assert_frame_equal(first, again)
    assert not first["S1_conf"].equals(analyse(ishigami_spec(64), ishigami, seed=1)["S1_conf"])


def ishigami_spec(samples: int, second_order: bool = False) -> dict:
    pi = math.pi
    return {
        "design": {"kind": "sobol", "samples": samples, "second_order": second_order},
        "levers": {"x1": {"low": -pi, "high": pi}},
        "uncertainties": {"x2": {"low": -pi, "high": pi}, "x3": {"low": -pi, "high": pi}},
    }


@pytest.mark.parametrize("second_order", [False, True])
def test_convergence_steps_are_the_designs_of_the_first_base_samples(second_order: bool) -> None:
    spec, design, outputs, _ = evaluate(ishigami_spec(256, second_order), ishigami)
    table = convergence(spec, design, outputs, second_order=second_order, seed=1)
    assert table.columns.tolist() == ["output", "factor", "n_base", "S1", "S1_conf", "ST", "ST_conf"]
    assert sorted(set(table["n_base"])) == [32, 64, 128, 256]
    # Saltelli's sample of 32 base samples is the first 32 blocks of the sample of 256.
    small = sample(parse_experiment({"name": "known", **ishigami_spec(32, second_order)}))
    pd.testing.assert_frame_equal(small, design.iloc[: len(small)])
    step = table[table["n_base"] == 32].drop(columns="n_base").reset_index(drop=True)
    direct = indices(DesignKind.SOBOL, spec, small, outputs, second_order=second_order, seed=1)
    pd.testing.assert_frame_equal(step, direct)
    full = table[table["n_base"] == 256].drop(columns="n_base").reset_index(drop=True)
    pd.testing.assert_frame_equal(
        full, indices(DesignKind.SOBOL, spec, design, outputs, second_order=second_order, seed=1)
    )
    widest = table.groupby("n_base")["ST_conf"].max()
    assert widest[256] < widest[32] / 2  # half-widths shrink about as 1 / sqrt(N)


def sobol_rows(values: dict[str, tuple[float, float, float, float]], output: str = "y") -> pd.DataFrame:
    """A Sobol table of one output from factor -> (S1, S1_conf, ST, ST_conf)."""
    columns = ("S1", "S1_conf", "ST", "ST_conf")
    return pd.DataFrame(
        [{"output": output, "factor": f, **dict(zip(columns, v, strict=True))} for f, v in values.items()]
    )


PRECISE = {"a": (0.30, 0.02, 0.35, 0.02), "b": (0.40, 0.02, 0.45, 0.02), "c": (0.20, 0.02, 0.25, 0.02)}


def test_precise_consistent_indices_give_no_warning() -> None:
    assert sobol_warnings(sobol_rows(PRECISE), 1024) == []
    # Below zero, ST below S1, or sums off, but within the intervals: no warning either.
    within = {"a": (-0.02, 0.03, 0.30, 0.04), "b": (0.52, 0.04, 0.45, 0.04), "c": (0.45, 0.04, 0.50, 0.04)}
    assert sobol_warnings(sobol_rows(within), 1024) == []


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"a": (-0.20, 0.05, 0.35, 0.02)}, ["y, a: S1 = -0.200 ± 0.050 is below 0 beyond its interval;"]),
        (
            {"a": (-0.05, 0.05, -0.08, 0.04)},
            [
                "y, a: ST = -0.080 ± 0.040 is below 0 beyond its interval;",
                "y, all 3 factors: the ST sum 0.620 ± 0.049 is below 1;",
            ],
        ),
        ({"a": (0.35, 0.02, 0.30, 0.02)}, ["y, a: ST = 0.300 ± 0.020 is below S1 = 0.350 ± 0.020 beyond their"]),
        ({"a": (0.30, 0.12, 0.35, 0.02)}, ["y, a: the S1 interval ±0.120 is wider than ±0.1;"]),
        (
            {"b": (0.65, 0.02, 0.70, 0.02)},
            ["y, all 3 factors: the S1 sum 1.150 ± 0.035 is above 1; the ST sum 1.300 ± 0.035 is above 1.00"],
        ),
        ({"c": (0.00, 0.02, 1.00, 0.02)}, ["y, all 3 factors: the ST sum 1.800 ± 0.035 is above 1.50"]),
        ({"c": (0.00, 0.02, 0.05, 0.02)}, ["y, all 3 factors: the ST sum 0.850 ± 0.035 is below 1;"]),
        # Near-additive (S1 sum 0.98): interactions, counted at most 3 times, add little to the ST sum.
        ({"c": (0.28, 0.02, 0.45, 0.02)}, ["y, all 3 factors: the ST sum 1.250 ± 0.035 is above 1.11"]),
    ],
)
def test_each_inconsistency_is_a_warning_naming_output_and_factor(values: dict, expected: list[str]) -> None:
    found = sobol_warnings(sobol_rows(PRECISE | values), 1024)
    assert len(found) == len(expected)
    for warning, start in zip(found, expected, strict=True):
        assert warning.startswith(start)
        assert warning.endswith(".") and "design.samples" in warning


def test_warnings_recommend_the_base_samples_for_intervals_of_0_05() -> None:
    assert recommended_samples(64, 0.2) == 1024  # 64 * 4**2
    assert recommended_samples(64, 0.21) == 2048  # 1129, up to a power of two
    assert recommended_samples(256, 0.05) == 256
    (warning,) = sobol_warnings(sobol_rows(PRECISE | {"a": (0.30, 0.20, 0.35, 0.15)}), 64)
    assert warning.endswith("increase design.samples from 64 to 1024 (widest interval ±0.200, target ±0.05).")
    (warning,) = sobol_warnings(sobol_rows(PRECISE | {"a": (0.35, 0.02, 0.30, 0.02)}, "access_ratio"), 64)
    assert warning.startswith("access_ratio, a: ST = 0.300 ± 0.020 is below S1")
    assert warning.endswith("so more samples will not remove this; check run-to-run noise (replications).")
    assert "intervals are already within ±0.05 at design.samples = 64" in warning


def test_a_small_sobol_design_warns_for_every_factor() -> None:
    table = analyse(ishigami_spec(64), ishigami).reset_index()
    found = sobol_warnings(table, 64)
    assert [w.split(":")[0] for w in found] == ["y, x1", "y, x2", "y, x3"]
    assert all("increase design.samples from 64 to" in w for w in found)
    assert sobol_warnings(analyse(ishigami_spec(4096), ishigami).reset_index(), 4096) == []


def test_factor_groups_are_the_experiment_sections() -> None:
    experiment = {"levers": {"a.b": {}}, "uncertainties": {"c": {}, "d.e": {}}}
    assert factor_groups(experiment) == {"a.b": "levers", "c": "uncertainties", "d.e": "uncertainties"}
    assert factor_groups({"levers": {"a": {}}, "uncertainties": None}) == {"a": "levers"}


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


def test_model_sobol_sweep_gives_one_row_per_output_and_factor(model_sobol: Path) -> None:
    sweep = load(model_sobol)
    assert len(sweep.design) == 4 * (2 + 2) and len(sweep.runs) == 32
    table = sweep_indices(sweep, ["access_ratio", "smuggled_h100e_total"])
    assert table.columns.tolist() == ["output", "factor", "group", "S1", "S1_conf", "ST", "ST_conf"]
    assert table[["output", "factor", "group"]].values.tolist() == [
        ["access_ratio", "policy.enforcement.audit_budget_per_month", "levers"],
        ["access_ratio", "behaviour.temperature", "uncertainties"],
        ["smuggled_h100e_total", "policy.enforcement.audit_budget_per_month", "levers"],
        ["smuggled_h100e_total", "behaviour.temperature", "uncertainties"],
    ]
    assert table[["S1", "ST"]].notna().all().all()


def test_sensitivity_command_writes_and_prints_the_table(model_sobol: Path, capsys: pytest.CaptureFixture) -> None:
    assert main([str(model_sobol), "--outputs", "access_ratio"]) == 0
    printed = capsys.readouterr().out
    assert "behaviour.temperature" in printed and "ST_conf" in printed
    assert printed.startswith("sobol design, N = 4 base samples, 2 replications averaged per point;")
    written = pd.read_csv(model_sobol / "sensitivity.csv")
    pd.testing.assert_frame_equal(written, pd.read_parquet(model_sobol / "sensitivity.parquet"))
    assert len(written) == 2
    assert main([str(model_sobol), "--outputs", "no_such_metric"]) == 2
    assert "unknown metric 'no_such_metric'. It is none of this sweep's metrics." in capsys.readouterr().err
    assert main([str(model_sobol), "--outputs", "acess_ratio"]) == 2
    first_line = capsys.readouterr().err.splitlines()[0]
    assert "unknown metric 'acess_ratio'. Did you mean 'access_ratio'? The sweep's " in first_line


def test_sensitivity_command_writes_warnings_and_convergence(model_sobol: Path, capsys: pytest.CaptureFixture) -> None:
    assert main([str(model_sobol), "--outputs", "access_ratio", "--convergence"]) == 0  # warnings are no error
    captured = capsys.readouterr()
    written = (model_sobol / WARNINGS_FILE).read_text().splitlines()
    assert written, "4 base samples give wide intervals"
    assert captured.err.splitlines() == [f"warning: {w}" for w in written]
    assert all(w.startswith("access_ratio, ") and "increase design.samples from 4 to " in w for w in written)
    steps = pd.read_csv(model_sobol / "sensitivity_convergence.csv")
    assert steps.columns.tolist() == ["output", "factor", "n_base", "S1", "S1_conf", "ST", "ST_conf"]
    assert sorted(set(steps["n_base"])) == [2, 4]  # N/8 and N/4 of 4 base samples are too few
    assert (model_sobol / "sensitivity_convergence.pdf").is_file()
    assert (model_sobol / "sensitivity_convergence.png").is_file()
    assert "widest interval half-widths" in captured.out


def test_the_report_of_a_sobol_sweep_draws_indices_and_convergence_with_its_warnings(model_sobol: Path) -> None:
    written = report(model_sobol)
    sidecars = {p.stem: json.loads(p.read_text()) for p in written if p.suffix == ".json"}
    assert set(sidecars) == {"sensitivity", "sensitivity_convergence"}
    caption = sidecars["sensitivity"]["caption"]
    assert "95% bootstrap intervals" in caption
    assert "Warning: " in caption and "increase design.samples from 4" in caption  # 4 base samples are too few


def test_the_sensitivity_figures_captions_state_the_sample(model_sobol: Path) -> None:
    from sim.report.specs import SPECS, draw
    from sim.sweep import load

    sweep = load(model_sobol)
    for name in ("sensitivity", "sensitivity_convergence"):
        drawn = draw(next(s for s in SPECS if s.name == name), sweep)
        assert "N = 4 base samples, 2 replications averaged per point" in drawn.caption
