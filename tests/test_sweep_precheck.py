"""Experiments are checked before they run: inactive factors stop them, timeline overrides warn."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import yaml

from sim.schema import ConfigError
from sim.sweep import precheck, start_sweep
from sim.sweep.__main__ import main as sweep_main
from sim.sweep.experiment import parse_experiment

CAP = "policy.country_caps.tier2_cap_h100e_per_year"


def experiment(scenario: str, factors: dict, **extra: object):
    data = {
        "name": "precheck",
        "scenario": scenario,
        "overrides": ["months=8"],
        "design": {"kind": "factorial"},
        "levers": factors,
        "replications": 1,
        "executor": {"kind": "serial"},
        **extra,
    }
    return parse_experiment(data)


def test_a_factor_behind_a_switch_that_is_off_stops_the_sweep_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        start_sweep(experiment("baseline", {CAP: [0, 1.0e9]}), tmp_path, progress=False, out=io.StringIO())
    message = str(refused.value)
    assert f"{CAP}: inactive" in message
    assert "policy.country_caps.enabled is false" in message
    assert "allow_inactive" in message
    assert not (tmp_path / "sweeps").exists()


def test_the_same_factor_runs_where_the_switch_is_on(tmp_path: Path) -> None:
    out = io.StringIO()
    outcome = start_sweep(experiment("diffusion_rule_kept", {CAP: [0, 1.0e9]}), tmp_path, progress=False, out=out)
    assert outcome.failed == 0 and outcome.finished == 2
    assert "inactive" not in out.getvalue()


def test_allow_inactive_runs_it_and_records_why(tmp_path: Path) -> None:
    out = io.StringIO()
    spec = experiment("baseline", {CAP: [0, 1.0e9]}, allow_inactive=[CAP])
    outcome = start_sweep(spec, tmp_path, progress=False, out=out)
    assert outcome.finished == 2
    assert f"warning: {CAP}: inactive" in out.getvalue()
    manifest = json.loads((outcome.path / "manifest.json").read_text())
    assert manifest["pilot"]["inactive"] and CAP in manifest["pilot"]["inactive"][0]


def test_a_factor_the_timeline_overrides_later_is_a_warning(tmp_path: Path) -> None:
    out = io.StringIO()
    spec = experiment("baseline", {"policy.compliant_chips.surcharge_share": [0.0, 0.5]})
    start_sweep(spec, tmp_path, progress=False, out=out)
    text = out.getvalue()
    assert "the timeline event 'h20_resumed' of scenario baseline sets policy.compliant_chips.surcharge_share" in text
    assert "from 2025-08" in text


def test_the_pilot_is_timed_and_the_estimate_printed_before_the_sweep(tmp_path: Path) -> None:
    out = io.StringIO()
    start_sweep(experiment("baseline", {"policy.enforcement.audit_budget_per_month": [0, 8]}), tmp_path, out=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("pilot: ") and "2 runs on 1 serial slot" in lines[0]
    assert lines[1].startswith("sweep precheck: 2 runs")


def test_the_pilot_estimate_leaves_out_the_first_run_which_pays_for_imports() -> None:
    timer = precheck._Timer()
    timer.times_s = [5.0, 0.03, 0.05, 0.04]  # a cold first run, then warm ones
    assert timer.seconds_per_run() == pytest.approx(0.04)
    timer.times_s = [0.2]
    assert timer.seconds_per_run() == 0.2


def test_allow_inactive_names_only_factors() -> None:
    with pytest.raises(ConfigError, match="allow_inactive: nope is not a factor"):
        experiment("baseline", {CAP: [0, 1]}, allow_inactive=["nope"])


def test_the_command_exits_2_on_an_inactive_factor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = {
        "name": "inactive",
        "scenario": "baseline",
        "overrides": ["months=4"],
        "design": {"kind": "factorial"},
        "levers": {CAP: [0, 1.0e9]},
        "executor": {"kind": "serial"},
    }
    (tmp_path / "inactive.yaml").write_text(yaml.safe_dump(body))
    assert sweep_main([f"experiment={tmp_path / 'inactive.yaml'}"]) == 2
    assert f"{CAP}: inactive" in capsys.readouterr().err


def test_a_held_value_must_be_one_of_its_factors_values() -> None:
    factors = {"policy.enforcement.audit_budget_per_month": [2, 8]}
    with pytest.raises(ConfigError, match=r"report.hold: policy.enforcement.audit_budget_per_month=4 is not one of"):
        experiment("baseline", factors, report={"hold": {"policy.enforcement.audit_budget_per_month": 4}})
    held = experiment("baseline", factors, report={"hold": {"policy.enforcement.audit_budget_per_month": 8.0}})
    assert held.report.hold == {"policy.enforcement.audit_budget_per_month": 8.0}  # numbers match within rounding


def test_a_rule_across_keys_is_checked_on_the_design_points_not_on_each_value_alone() -> None:
    from sim.sweep.engine import prepare

    fine = {"behaviour.news_weight": [0.5, 5], "behaviour.news_trials": [10, 20]}  # every point has trials >= weight
    _, design = prepare(experiment("baseline", fine))
    assert len(design) == 4
    clash = {"behaviour.news_weight": [0.5, 5], "behaviour.news_trials": [1, 20]}
    with pytest.raises(ConfigError, match=r"design point \d \(behaviour.news_weight=5.0, behaviour.news_trials=1\)"):
        prepare(experiment("baseline", clash))
