"""The EMA Workbench example: the model as a plain function, importable without ema-workbench."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from sim.schema import SettingsError

SCRIPT = Path(__file__).resolve().parent.parent / "experiments" / "ema_workbench" / "exportsim_ema.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("exportsim_ema", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_model_function_returns_the_outcomes_and_is_reproducible(example) -> None:
    first = example.exportsim_model(months=6, seed=1, audit_budget=4.0, temperature=0.2)
    assert set(first) == set(example.OUTCOMES)
    assert 0 <= first["access_ratio"] <= 1
    assert example.exportsim_model(months=6, seed=1, audit_budget=4.0, temperature=0.2) == first
    by_path = example.exportsim_model(
        months=6, seed=1, **{"policy.enforcement.audit_budget_per_month": 4.0, "behaviour.temperature": 0.2}
    )
    assert by_path == first
    assert example.exportsim_model(months=6, seed=2, audit_budget=4.0, temperature=0.2) != first


def test_model_function_rejects_unknown_and_out_of_range_inputs(example) -> None:
    with pytest.raises(SettingsError, match=r"behaviour\.temperature = 50\.0"):
        example.exportsim_model(months=6, temperature=50.0)
    with pytest.raises(SettingsError, match=r"unknown key 'behaviour\.temprature'"):
        example.exportsim_model(months=6, **{"behaviour.temprature": 0.2})


def test_every_example_parameter_is_a_config_path(example) -> None:
    cfg = example.base_config("baseline", 6).model_dump()
    for name, path in example.PARAMETERS.items():
        node = cfg
        for part in path.split("."):
            node = node[part]
        assert isinstance(node, float), name


def test_ema_workbench_runs_the_model(example) -> None:
    ema = pytest.importorskip("ema_workbench")
    model = example.build_model(replications=2, months=6)
    with ema.SequentialEvaluator(model) as evaluator:
        experiments, outcomes = ema.perform_experiments(model, scenarios=2, policies=1, evaluator=evaluator)
    assert len(experiments) == 2
    assert set(outcomes) == set(example.OUTCOMES) and outcomes["access_ratio"].shape == (2,)
