"""Paired contrasts: runs pair up by replication (one seed per replication at every point)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from sim.intervals import clip_bounds
from sim.schema import ConfigError
from sim.sweep import load, start_sweep
from sim.sweep.analysis import contrast_timeseries
from sim.sweep.contrast import main, parse_point
from sim.sweep.experiment import parse_experiment

EXPERIMENT = """
name: contrast
scenario: baseline
overrides: ["months=8"]
design: {kind: factorial}
levers:
  scenario: [baseline, crackdown_singapore]
uncertainties:
  behaviour.temperature: [0.1, 0.3]
replications: 4
seed: 17
executor: {kind: local, workers: 2, batch_size: 4}
"""
A, B = {"scenario": "crackdown_singapore"}, {"scenario": "baseline"}


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    experiment = parse_experiment(yaml.safe_load(EXPERIMENT))
    outcome = start_sweep(experiment, tmp_path_factory.mktemp("contrast"), progress=False)
    assert outcome.failed == 0
    return outcome.path


def test_replication_r_has_one_seed_at_every_point(sweep_dir: Path) -> None:
    runs = load(sweep_dir).runs
    assert (runs.groupby("replication")["seed"].nunique() == 1).all()
    assert runs["seed"].nunique() == 4


def test_a_contrast_is_the_paired_t_interval_of_the_differences(sweep_dir: Path) -> None:
    sweep = load(sweep_dir)
    table = sweep.contrast(A, B, ["smuggled_h100e_total"])
    assert list(table["behaviour.temperature"]) == [0.1, 0.3]  # split by the other factor, not pooled
    runs = sweep.runs
    for _, row in table.iterrows():
        at = runs[runs["behaviour.temperature"] == row["behaviour.temperature"]]
        a = at[at["scenario"] == "crackdown_singapore"].sort_values("replication")["smuggled_h100e_total"]
        b = at[at["scenario"] == "baseline"].sort_values("replication")["smuggled_h100e_total"]
        diff = a.to_numpy() - b.to_numpy()
        low, high = stats.t.interval(0.95, len(diff) - 1, loc=diff.mean(), scale=stats.sem(diff))
        assert row["n"] == 4
        assert row["difference"] == pytest.approx(diff.mean())
        assert (row["mean_a"], row["mean_b"]) == (pytest.approx(a.mean()), pytest.approx(b.mean()))
        assert (row["ci_low"], row["ci_high"]) == (pytest.approx(low), pytest.approx(high))


def test_a_point_against_itself_differs_by_exactly_nothing(sweep_dir: Path) -> None:
    table = load(sweep_dir).contrast(B, B, ["access_ratio"])
    assert (table["difference"] == 0).all() and (table["ci_low"] == 0).all() and (table["ci_high"] == 0).all()


def test_timeseries_contrasts_are_monthly_and_sum_to_the_run_totals(sweep_dir: Path) -> None:
    sweep = load(sweep_dir)
    monthly = contrast_timeseries(sweep, A, B, ["orders_hub_singapore_h100e"])
    assert len(monthly) == 8 * 2  # months x temperatures
    totals = sweep.contrast(A, B, ["orders_hub_singapore_h100e_total"])
    summed = monthly.groupby("behaviour.temperature")["difference"].sum()
    np.testing.assert_allclose(summed.to_numpy(), totals["difference"].to_numpy())


@pytest.mark.parametrize(
    ("a", "b", "message"),
    [
        ({"nope": 1}, {"nope": 2}, "nope is not a factor"),
        ({"scenario": "no_controls"}, B, "scenario='no_controls' is not in the design"),
        (A, {"behaviour.temperature": 0.1}, "must set the same factors"),
    ],
)
def test_bad_points_are_refused_with_what_is_allowed(sweep_dir: Path, a: dict, b: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(sweep_dir).contrast(a, b, ["access_ratio"])


def test_the_command_writes_the_table_and_exits_2_on_bad_input(sweep_dir: Path, capsys) -> None:
    assert main([str(sweep_dir), "--a", "scenario=crackdown_singapore", "--b", "scenario=baseline"]) == 0
    written = Path(capsys.readouterr().out.strip().splitlines()[-1])
    assert written.name == "contrast_scenario=crackdown_singapore_minus_scenario=baseline_metrics.csv"
    assert set(pd.read_csv(written)["metric"]) == {"access_ratio", "detection_rate"}
    by_month = ["--a", "scenario=crackdown_singapore", "--b", "scenario=baseline", "--columns", "access_smuggling"]
    assert main([str(sweep_dir), *by_month]) == 0
    monthly = Path(capsys.readouterr().out.strip().splitlines()[-1])
    assert monthly != written and set(pd.read_csv(written)["metric"]) == {"access_ratio", "detection_rate"}
    assert main([str(sweep_dir), "--a", "scenario=x", "--b", "scenario=baseline"]) == 2
    assert "not in the design" in capsys.readouterr().err
    assert main([str(sweep_dir), *by_month[:-1], "access_smugling"]) == 2  # a mistyped column
    assert "unknown time-series column 'access_smugling'. Did you mean 'access_smuggling'?" in capsys.readouterr().err


def test_points_are_typed_like_yaml() -> None:
    assert parse_point(["policy.x=8", "scenario=baseline", "flag=true"]) == {
        "policy.x": 8,
        "scenario": "baseline",
        "flag": True,
    }
    with pytest.raises(ConfigError, match="expected factor=value"):
        parse_point(["scenario"])


def test_timeseries_rows_can_carry_their_runs_factors(sweep_dir: Path) -> None:
    sweep = load(sweep_dir)
    ts = sweep.timeseries(["access_ratio"], factors=True)
    assert {"point_id", "replication", "seed", "scenario", "behaviour.temperature"} <= set(ts.columns)
    runs = sweep.runs.set_index("run_id")
    assert (ts["scenario"] == ts["run_id"].map(runs["scenario"])).all()


def test_intervals_stay_within_what_each_metric_can_take(sweep_dir: Path) -> None:
    points = load(sweep_dir).points(["access_ratio", "smuggled_h100e_total"])
    shares = points[points["metric"] == "access_ratio"]
    assert (shares["ci_low"] >= 0).all() and (shares["ci_high"] <= 1).all()
    assert (points.loc[points["metric"] == "smuggled_h100e_total", "ci_low"] >= 0).all()
    table = pd.DataFrame({"ci_low": [-0.1, -5.0, -5.0], "ci_high": [1.2, 9.0, 9.0]})
    names = pd.Series(["access_ratio", "smuggled_h100e_total", "difference_usd"])
    clipped = clip_bounds(table, names, nonnegative={"smuggled_h100e_total"})
    assert clipped.values.tolist() == [[0.0, 1.0], [0.0, 9.0], [-5.0, 9.0]]
    one_metric = clip_bounds(pd.DataFrame({"ci_low": [-0.1], "ci_high": [1.2]}), "detection_rate")
    assert one_metric.values.tolist() == [[0.0, 1.0]]
