"""The target language on hand-made runs, and target files with mistakes."""

import math
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sim.channels import CHANNEL_NAMES
from sim.run import run
from sim.schema import ConfigError, with_settings
from sim.targets import (
    DEFAULT_TARGETS,
    ExpressionError,
    NotComputable,
    Role,
    RunData,
    Target,
    columns_of,
    evaluate,
    load_targets,
)
from tests.conftest import target_data

ODD = Path(__file__).resolve().parent.parent / "docs" / "ODD.md"


def run_data(**columns):
    months = [f"2025-{m:02d}" for m in range(1, 7)]
    return RunData(pd.DataFrame({"month": months, **columns}), {"detection_rate": 0.25, "seed": 3})


@pytest.fixture
def runs():
    base = run_data(
        a=[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        b=[10.0, 10.0, 10.0, 10.0, 10.0, 10.0],
        p=[100.0, math.nan, 96.0, 94.0, math.nan, 90.0],
        z=[0.0] * 6,
    )
    other = run_data(a=[2.0] * 6, b=[0.0] * 6, p=[1.0] * 6, z=[0.0] * 6)
    return {"baseline": base, "other": other}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("total(a)", 21.0),
        ('total(a, "2025-02", "2025-04")', 9.0),
        ('total([a, b], "2025-01", "2025-02")', 23.0),
        ('value(a, "2025-05")', 5.0),
        ('mean(a, "2025-01", "2025-04")', 2.5),
        ("mean(p)", 95.0),
        ("slope(a)", 1.0),
        ("slope(p)", -2.0),
        ("ratio(total(a), total(b))", 0.35),
        ("total(a) / 3 - 2 * 2 + -1", 2.0),
        ("summary(detection_rate)", 0.25),
        ("at(other, total(a)) - total(a)", -9.0),
        ("ratio(at(other, total(a)), at(other, total(b)) + 1)", 12.0),
    ],
)
def test_expression_values_are_exact(runs, expression, expected):
    assert evaluate(expression, runs) == pytest.approx(expected, abs=1e-12)


def test_division_by_zero_is_nan_not_an_error(runs):
    assert math.isnan(evaluate("ratio(total(a), total(z))", runs))
    assert math.isnan(evaluate("total(a) / total(z)", runs))


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("total(missing_column)", "no column missing_column"),
        ('total(a, "2024-12", "2025-03")', "covers 2025-01..2025-06"),
        ('total(a, "2025-01", "2025-12")', "covers 2025-01..2025-06"),
        ("at(nowhere, total(a))", "no run of scenario 'nowhere'"),
        ("summary(no_such_key)", "summary key 'no_such_key'"),
    ],
)
def test_missing_inputs_are_not_computable(runs, expression, message):
    with pytest.raises(NotComputable, match=re.escape(message)):
        evaluate(expression, runs)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("__import__('os').system('true')", "unknown function"),
        ("total(a).real", "not allowed"),
        ("a", "bare name 'a'"),
        ("total(a, '2025-13')", "not a month"),
        ("total(a, 2025)", "not a month"),
        ("total(a, from_month='2025-01')", "keyword"),
        ("total(1)", "not a column"),
        ("ratio(total(a))", "two expressions"),
        ("at('other', total(a))", "scenario name"),
        ("total(a) ** 2", "not allowed"),
        ("total(a", "cannot parse"),
        ("lambda: 1", "not allowed"),
    ],
)
def test_expressions_outside_the_language_are_refused(expression, message):
    with pytest.raises(ExpressionError, match=re.escape(message)):
        evaluate(expression, {})


def test_columns_of_lists_every_column_once():
    assert columns_of("ratio(total([a, b]), mean(a)) + at(x, slope(c))") == ["a", "b", "c"]


def target(**changes):
    data = target_data(expression="total(a)") | changes
    return Target.model_validate(data)


def test_a_contrast_subtracts_the_versus_run_of_the_same_seed(runs):
    contrast = target(scenario="other", versus="baseline")
    assert contrast.compute(runs) == pytest.approx(12.0 - 21.0)
    assert contrast.scenarios() == ["other", "baseline"]


def test_scenarios_read_through_at_only_are_listed_without_the_default():
    t = target(expression="at(other, total(a)) - at(third, total(a))")
    assert t.scenarios() == ["other", "third"]


def write(tmp_path, data):
    path = tmp_path / "targets.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def good_file():
    return yaml.safe_load(DEFAULT_TARGETS.read_text())


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d: d["targets"]["cnas_smuggled_volume"].update(expression="total(x, 'May')"),
            "targets.cnas_smuggled_volume.expression",
        ),
        (
            lambda d: d["targets"]["cnas_smuggled_volume"].update(roles="validation"),
            "unknown key 'targets.cnas_smuggled_volume.roles'",
        ),
        (lambda d: d["targets"]["cnas_smuggled_volume"].update(role="fitted"), "targets.cnas_smuggled_volume.role"),
        (lambda d: d["targets"]["cnas_smuggled_volume"]["public"].update(low=5e5), "low 500000.0 is above high"),
        (
            lambda d: d["targets"]["cnas_smuggled_volume"]["public"].update(high=None),
            "targets.cnas_smuggled_volume: a calibration target needs",
        ),
        (
            lambda d: d["targets"]["cnas_smuggled_volume"]["source"].pop("counts"),
            "missing key 'targets.cnas_smuggled_volume.source.counts'",
        ),
        (
            lambda d: d["targets"]["cnas_smuggled_volume"].update(versus="baseline_typo"),
            "uses scenario 'baseline_typo'",
        ),
        (lambda d: d["scenarios"].pop("baseline"), "needs a 'baseline' entry"),
    ],
)
def test_a_target_file_with_a_mistake_names_the_key(tmp_path, mutate, message):
    data = good_file()
    mutate(data)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_targets(write(tmp_path, data))


def test_an_unreadable_target_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_targets(tmp_path / "absent.yaml")


def test_the_shipped_targets_load_with_both_roles_and_cite_the_bibliography():
    targets = load_targets().targets
    assert {t.role for t in targets.values()} == set(Role)
    bibliography = ODD.read_text().split("## 10. Bibliography")[1]
    for name, t in targets.items():
        assert f"**[{t.source.cite}]**" in bibliography, name


def test_the_smuggled_share_counts_inference_chips_by_tpp_as_the_config_does(baseline):
    """CNAS counts training compute: the H20's and Ascend's orders (H100e of inference work) go back to TPP."""
    result = run(with_settings(baseline, {"months": 12}))
    orders = {c: result.timeseries[f"orders_{c}_h100e"].sum() for c in CHANNEL_NAMES}
    world = baseline.world

    def by_tpp(chip: str) -> float:
        return world.chips[chip] / world.inference_chips[chip]

    training_h100e = (
        orders["domestic"] * by_tpp(world.domestic.chip)
        + orders["compliant"] * by_tpp(baseline.policy.compliant_chips.chip)
        + orders["smuggling"]
        + orders["remote_rental"]
        + orders["data_transport"]
    )
    target = load_targets().targets["cnas_smuggled_share_acquired"]
    share = target.compute({"baseline": RunData(result.timeseries, result.summary)})
    assert orders["compliant"] > 0 and orders["domestic"] > 0
    assert share == pytest.approx(orders["smuggling"] / training_h100e, rel=1e-9)
