"""Experiment files: shipped ones validate; a bad one exits 2 with a clear message before any run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sim.loading import ConfigError
from sim.sweep.designs import run_seed, sample
from sim.sweep.engine import prepare
from sim.sweep.experiment import experiment_names, load_experiment, parse_experiment

GOOD = """
scenario: baseline
overrides: ["months=12"]
design: {kind: factorial}
levers:
  policy.enforcement.audit_budget_per_month: [2, 8]
replications: 1
executor: {kind: serial}
"""


def sweep_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sim.sweep", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("name", experiment_names())
def test_every_shipped_experiment_is_valid(name: str) -> None:
    experiment = load_experiment(name)
    bases, design = prepare(experiment)
    assert len(design) >= 2
    assert set(bases) == set(experiment.scenarios)


def test_shipped_experiments_are_the_documented_ones() -> None:
    assert {"smoke", "audits_vs_caps", "crackdown_displacement", "sensitivity"} <= set(experiment_names())


def test_overrides_change_experiment_keys_and_factor_bounds() -> None:
    experiment = load_experiment(
        "sensitivity",
        ["replications=3", "executor.workers=1", "uncertainties.behaviour.temperature.high=0.4", "design.samples=8"],
    )
    assert experiment.replications == 3
    assert experiment.executor.workers == 1
    assert experiment.uncertainties["behaviour.temperature"].high == 0.4
    assert experiment.uncertainties["behaviour.temperature"].low == 0.02
    assert len(sample(experiment)) == 8 * (len(experiment.factors) + 2)


def test_an_override_can_add_a_factor() -> None:
    experiment = load_experiment("smoke", ["levers.policy.penalties.seizure=[true, false]"])
    assert experiment.levers["policy.penalties.seizure"] == [True, False]
    assert len(sample(experiment)) == 8


def test_factorial_design_crosses_levers_and_uncertainties_in_order() -> None:
    design = sample(load_experiment("smoke"))
    assert list(design.columns) == ["point_id", "policy.enforcement.audit_budget_per_month", "behaviour.temperature"]
    assert design.iloc[:, 1:].values.tolist() == [[2, 0.1], [2, 0.3], [8, 0.1], [8, 0.3]]


def test_run_seeds_depend_on_sweep_seed_and_run_id_only() -> None:
    seeds = [run_seed(7, i) for i in range(1000)]
    assert len(set(seeds)) == 1000
    assert all(0 <= s < 2**63 for s in seeds)
    assert run_seed(7, 5) == seeds[5]
    assert run_seed(8, 5) != seeds[5]


def test_sampled_integer_factors_are_rounded() -> None:
    experiment = parse_experiment(
        {
            "name": "ints",
            "design": {"kind": "lhs", "samples": 20},
            "levers": {"world.market.lease_months": {"low": 1, "high": 24}},
        }
    )
    _, design = prepare(experiment)
    column = design["world.market.lease_months"]
    assert column.dtype == "int64" and column.between(1, 24).all() and column.nunique() > 5


SUBPROCESS_CASES = [
    (GOOD.replace("audit_budget_per_month", "audit_budget"), "unknown key 'policy.enforcement.audit_budget'"),
    (GOOD.replace("factorial", "grid"), "design.kind"),
    (
        GOOD.replace("factorial}", "lhs, samples: 4}").replace("[2, 8]", "{low: 8, high: 2}"),
        "lower bound 8.0 > upper bound 2.0",
    ),
    (GOOD.replace("factorial}", "lhs, samples: 4}").replace("[2, 8]", "{low: 2, high: 2}"), "empty range"),
]
IN_PROCESS_CASES = [
    (GOOD.replace("[2, 8]", "[]"), "empty list of values"),
    (GOOD.replace("replications: 1", "replication: 1"), "replication: unknown key"),
    (GOOD.replace("factorial}", "sobol, samples: 5}").replace("[2, 8]", "{low: 0, high: 2}"), "power of 2"),
    (GOOD.replace("policy.enforcement.audit_budget_per_month: [2, 8]", "seed: [1, 2]"), "seed cannot be a factor"),
    (GOOD.replace("policy.enforcement.audit_budget_per_month", "policy.enforcement"), "is a section"),
    (GOOD.replace("months=12", "scenario=nowhere"), "unknown scenario"),
    (GOOD.replace("[2, 8]", "{low: 0, high: 2}"), "needs a list of values, not a range"),
    (
        GOOD.replace("levers:", "uncertainties:\n  behaviour.temperature: [0.1]\nlevers:").replace(
            "policy.enforcement.audit_budget_per_month", "behaviour.temperature"
        ),
        "not both",
    ),
]


@pytest.mark.parametrize(("body", "message"), SUBPROCESS_CASES)
def test_bad_experiment_exits_2_before_any_run(tmp_path: Path, body: str, message: str) -> None:
    (tmp_path / "bad.yaml").write_text(body)
    done = sweep_cli("experiment=bad.yaml", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith("error: ") and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(("body", "message"), IN_PROCESS_CASES)
def test_bad_experiment_is_a_config_error(tmp_path: Path, body: str, message: str) -> None:
    (tmp_path / "bad.yaml").write_text(body)
    with pytest.raises(ConfigError) as caught:
        prepare(load_experiment(str(tmp_path / "bad.yaml")))
    assert message in str(caught.value)


def test_bad_override_and_unknown_experiment_exit_2(tmp_path: Path) -> None:
    done = sweep_cli("experiment=smoke", "executor.kind=cloud", cwd=tmp_path)
    assert done.returncode == 2 and "executor.kind" in done.stderr
    done = sweep_cli("experiment=nosuch", cwd=tmp_path)
    assert done.returncode == 2 and "shipped: " in done.stderr and "smoke" in done.stderr
    assert not (tmp_path / "results").exists()


def test_unknown_factor_path_names_valid_keys() -> None:
    experiment = load_experiment("smoke", ["levers.behaviour.temprature=[0.1]"])
    with pytest.raises(ConfigError, match="Did you mean 'temperature'"):
        prepare(experiment)
