"""Experiment files: shipped ones validate; a bad one exits 2 with a clear message before any run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser

from sim.schema import ConfigError
from sim.sweep.__main__ import main as sweep_main
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


def test_a_plus_override_adds_a_factor_after_the_others() -> None:
    experiment = load_experiment("smoke", ["+levers.policy.penalties.seizure=[true, false]"])
    assert list(experiment.levers) == ["policy.enforcement.audit_budget_per_month", "policy.penalties.seizure"]
    assert experiment.levers["policy.penalties.seizure"] == [True, False]
    design = sample(experiment)
    assert list(design.columns)[1:] == [
        "policy.enforcement.audit_budget_per_month",
        "policy.penalties.seizure",
        "behaviour.temperature",
    ]
    assert design.iloc[:, 1:].values.tolist()[:3] == [[2, True, 0.1], [2, True, 0.3], [2, False, 0.1]]
    assert len(design) == 8


def test_adding_a_factor_without_plus_names_the_key_and_the_fix() -> None:
    with pytest.raises(ConfigError) as caught:
        load_experiment("smoke", ["levers.policy.penalties.seizure=[true,false]"])
    message = str(caught.value)
    assert "unknown key 'levers.policy.penalties'" in message and "enforcement" in message
    assert "+levers.policy.penalties.seizure=[true,false]" in message


def test_a_hydra_override_replaces_a_factors_values() -> None:
    experiment = load_experiment("smoke", ["levers.policy.enforcement.audit_budget_per_month=[0,4,16]"])
    design = sample(experiment)
    assert list(design.columns)[1:] == ["policy.enforcement.audit_budget_per_month", "behaviour.temperature"]
    assert design.iloc[:, 1:].values.tolist() == [[0, 0.1], [0, 0.3], [4, 0.1], [4, 0.3], [16, 0.1], [16, 0.3]]


def test_a_hydra_override_changes_one_bound_of_a_range_and_tilde_removes_a_factor() -> None:
    experiment = load_experiment(
        "sensitivity", ["levers.policy.customs.cargo_multiplier.low=1", "~uncertainties.world.market.gray_premium"]
    )
    assert experiment.levers["policy.customs.cargo_multiplier"].model_dump() == {"low": 1.0, "high": 4.0}
    assert list(experiment.uncertainties) == [
        "behaviour.temperature",
        "behaviour.belief_decay",
        "world.intermediaries.registration_rate_per_month",
    ]


def test_factors_may_be_nested_or_dotted_and_keep_their_written_order() -> None:
    experiment = parse_experiment(
        {
            "name": "mixed",
            "design": {"kind": "factorial"},
            "levers": {
                "policy.enforcement.audit_budget_per_month": [1, 2],
                "world": {"market": {"gray_premium": [1.5]}},
                "policy": {"customs": {"cargo_multiplier": [1, 2]}},
            },
        },
        ["levers.world.market.gray_premium=[2.0]"],
    )
    assert experiment.levers == {
        "policy.enforcement.audit_budget_per_month": [1, 2],
        "world.market.gray_premium": [2.0],
        "policy.customs.cargo_multiplier": [1, 2],
    }


def test_a_factor_given_twice_is_a_config_error() -> None:
    data = {"name": "twice", "design": {"kind": "factorial"}, "levers": {"a.b": [1], "a": {"b": [2]}}}
    with pytest.raises(ConfigError, match=r"levers\.a\.b: factor given twice"):
        parse_experiment(data)


@pytest.mark.parametrize(
    ("override", "quoted"),
    [
        ("overrides=[months=24, paths.results=/tmp/x]", "overrides=['months=24','paths.results=/tmp/x']"),
        ("description=a (b)", "description='a (b)'"),
        ("replications=[1", "replications='[1'"),
    ],
)
def test_an_unparsable_override_is_a_config_error_with_a_quoting_hint(override: str, quoted: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_experiment("smoke", [override])
    message = str(caught.value)
    key, _, value = override.partition("=")
    assert message.startswith(override) and repr(key) in message and repr(value) in message
    assert message.endswith(f"quote a value holding = , ( ) [ ] {{ }} or spaces, e.g. {quoted}")
    OverridesParser.create().parse_override(quoted)  # the suggestion is readable


def test_quoted_list_items_and_values_are_read_as_strings() -> None:
    experiment = load_experiment("smoke", ["overrides=['months=6','seed=3']", "description='a (b), c'"])
    assert experiment.overrides == ["months=6", "seed=3"]
    assert experiment.description == "a (b), c"


def test_a_sweep_override_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="replications=2,3"):
        load_experiment("smoke", ["replications=2,3"])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"design: {kind: factorial\n", "not valid YAML"),
        (b"description: caf\xe9\n", "not UTF-8 text (byte 0xe9"),
        (b"- 1\n- 2\n", "expected a mapping of keys, got list"),
        (b"seed: 1\nseed: 2\n", "duplicate key seed"),
    ],
)
def test_an_unreadable_experiment_file_is_a_config_error(tmp_path: Path, body: bytes, message: str) -> None:
    (tmp_path / "bad.yaml").write_bytes(body)
    with pytest.raises(ConfigError) as caught:
        load_experiment(str(tmp_path / "bad.yaml"))
    assert str(tmp_path / "bad.yaml") in str(caught.value) and message in str(caught.value)


def test_factorial_design_crosses_levers_and_uncertainties_in_order() -> None:
    design = sample(load_experiment("smoke"))
    assert list(design.columns) == ["point_id", "policy.enforcement.audit_budget_per_month", "behaviour.temperature"]
    assert design.iloc[:, 1:].values.tolist() == [[2, 0.1], [2, 0.3], [8, 0.1], [8, 0.3]]


def test_run_seeds_depend_on_sweep_seed_and_replication_only() -> None:
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
    (
        GOOD.replace("replications: 1", "replication: 1"),
        "unknown key 'replication'; valid keys there: allow_inactive, confirm, description, design, executor, "
        "levers, name, overrides, replications, report, scenario, seed, timeseries, uncertainties. "
        "Did you mean 'replications'?",
    ),
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
    (
        GOOD
        + "report: {pool: [policy.enforcement.audit_budget_per_month], "
        + "hold: {policy.enforcement.audit_budget_per_month: 2}}\n",
        "report: policy.enforcement.audit_budget_per_month is both in report.pool and in report.hold; pick one",
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
    assert done.returncode == 2 and "executor.kind = 'cloud'" in done.stderr and "'serial'" in done.stderr
    done = sweep_cli("experiment=smoke", "replications=[1", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.startswith("error: replications=[1") and "quote" in done.stderr
    assert "Traceback" not in done.stderr
    done = sweep_cli("experiment=smoke", "replications=3", "replications=4", cwd=tmp_path)
    assert done.returncode == 2 and "replications=3 and replications=4: replications is given twice" in done.stderr
    done = sweep_cli("experiment=smok", cwd=tmp_path)
    assert done.returncode == 2 and "shipped: " in done.stderr and "Did you mean 'smoke'?" in done.stderr
    assert not (tmp_path / "results").exists()


def test_the_sweep_command_prints_its_version_and_refuses_a_bare_word(capsys: pytest.CaptureFixture[str]) -> None:
    assert sweep_main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("exportsim ")
    assert sweep_main(["experiment=smoke", "foo"]) == 2
    assert capsys.readouterr().err.startswith("error: foo: expected key=value (e.g. replications=2) or ~key")


def test_unknown_factor_path_names_valid_keys() -> None:
    experiment = load_experiment("smoke", ["+levers.behaviour.temprature=[0.1]"])
    with pytest.raises(ConfigError, match="Did you mean 'temperature'"):
        prepare(experiment)
