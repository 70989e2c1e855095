"""Bad input is refused with one message naming the key and what is allowed; valid input runs (a fuzz)."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.config import Config
from sim.loading import load_config
from sim.run import run
from sim.schema import ConfigError, ReadOnlyError, with_settings


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ("world.chips.H20=-1", "world.chips.H20 = -1: Input should be greater than 0"),
        ("world.chips.H20=nan", "world.chips.H20 = nan: Input should be a finite number"),
        ("+world.chips.X1=-5", "world.chips.X1 = -5"),
        ("world.chips.Ascend910C=0", "world.chips.Ascend910C = 0"),
        ("policy.end_user_audits.audit_rate=true", "audit_rate = True: expected a number, got a boolean"),
        ('policy.end_user_audits.audit_rate="0.2"', "expected a number, got the text '0.2' (write it without quotes)"),
        ("behaviour.temperature=abc", "temperature = 'abc': expected a number, got the text 'abc' (allowed:"),
        ("world.market.h100_price_usd=inf", "h100_price_usd = inf: Input should be a finite number"),
        ("world.firms.classes.startup.demand_h100e_months=inf", "demand_h100e_months = inf"),
        ("policy.enforcement.audit_budget_per_month=inf", "audit_budget_per_month = inf"),
        ("policy.penalties.fine_usd_per_h100e_month=inf", "fine_usd_per_h100e_month = inf"),
        ("behaviour.temperature=nan", "temperature = nan: Input should be a finite number"),
        ("behaviour.learning=1", "behaviour.learning = 1: expected true or false"),
        ("world.market.h100_price_usd=0", "(allowed: 0 < value USD/H100e)"),
        ("name=../../../x", "name = '../../../x': expected a plain name"),
        ("world.hubs={}", "an empty mapping changes nothing (Hydra merges it into world.hubs)"),
        ("world.firms.classes.big_tech.dataset_tb=inf", "dataset_tb = inf: Input should be a finite number"),
        ("name=/tmp/x", "no '/' and no interpolation"),
        ("name=${oc.env:HOME}", "expected a plain name"),
    ],
)
def test_bad_values_name_the_key_and_what_is_allowed(override: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_config([override])
    assert fragment in str(refused.value)


def test_yaml_exponents_read_as_text_by_pyyaml_are_numbers() -> None:
    cfg = load_config(["months=2"])
    assert (
        with_settings(cfg, {"policy.penalties.operator_fine_usd": "4.6e9"}).policy.penalties.operator_fine_usd == 4.6e9
    )
    with pytest.raises(ConfigError, match="got the text '8'"):
        with_settings(cfg, {"policy.penalties.operator_fine_usd": "8"})


def test_a_number_for_a_text_key_is_its_digits() -> None:
    assert load_config(["name=2025", "description=2025"]).name == "2025"
    with pytest.raises(ConfigError, match="start = 2025: expected a month as YYYY-MM"):
        load_config(["start=2025"])


def test_a_world_without_firms_is_refused() -> None:
    no_firms = [f"world.firms.classes.{c}.count=0" for c in ("frontier_lab", "big_tech", "startup")]
    with pytest.raises(ConfigError, match="at least one firm is needed"):
        load_config(no_firms)


def test_a_string_of_overrides_is_refused_not_split_into_characters() -> None:
    with pytest.raises(ConfigError, match=r"list of strings such as \['months=6'\]"):
        load_config("months=6")  # type: ignore[arg-type]


def test_run_refuses_anything_but_a_validated_config() -> None:
    with pytest.raises(ConfigError, match="run\\(\\) takes a validated Config, got dict"):
        run({"seed": 1})  # type: ignore[arg-type]


def leaf_paths(data: object, prefix: str = "") -> list[str]:
    """Dotted paths of the scalar leaves of a config dump (timeline events left out)."""
    if isinstance(data, dict):
        return [p for k, v in data.items() if k != "timeline" for p in leaf_paths(v, f"{prefix}{k}.")]
    return [prefix.rstrip(".")]


PATHS = leaf_paths(load_config().model_dump(mode="json"))
VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.booleans(),
    st.sampled_from(["null", "abc", "[1,2]", "{a: 1}", "''", "1e400", "-0.0", "H20", "2025-13"]),
)


def override_text(path: str, value: object) -> str:
    """A Hydra override setting ``path`` to ``value`` as a user would type it."""
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, float) and math.isnan(value):
        text = "nan"
    elif isinstance(value, float) and math.isinf(value):
        text = "inf" if value > 0 else "-inf"
    else:
        text = str(value)
    return f"{path}={text}"


@settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(PATHS), value=VALUES)
def test_any_override_gives_a_valid_config_or_one_clear_error(path: str, value: object) -> None:
    try:
        cfg = load_config([override_text(path, value)])
    except ConfigError as refused:
        message = str(refused)
        assert message and "Traceback" not in message
        return
    assert isinstance(cfg, Config)
    assert all(math.isfinite(v) for v in numbers(cfg.model_dump(mode="python")))
    result = run(with_settings(cfg, {"months": 3}))  # a valid config runs, to a share of demand met
    assert 0.0 <= result.summary["access_ratio"] <= 1.0
    assert_no_nan(result)


#: Outputs that are NaN by definition in some months: a rate with no attempt, a closed channel's price.
NAN_BY_DEFINITION = ("detection_rate", "price_", "first_detection_month")  # NaN: no attempt, closed, no detection


def assert_no_nan(result) -> None:
    """No NaN or infinity in a run's outputs, except where a column's definition allows it."""
    summary = {k: v for k, v in result.summary.items() if not k.startswith(NAN_BY_DEFINITION)}
    assert all(math.isfinite(v) for v in summary.values() if isinstance(v, float)), summary
    numeric = result.timeseries.drop(columns="month")
    checked = numeric[[c for c in numeric.columns if not c.startswith(NAN_BY_DEFINITION)]]
    assert np.isfinite(checked.to_numpy(dtype=float)).all()


def test_a_microscopic_drive_runs_without_a_crash() -> None:
    result = run(load_config(["world.data_transport.drive_tb=1e-300", "months=3"]))
    assert_no_nan(result)


def numbers(data: object) -> list[float]:
    """Every float or int in a config dump."""
    if isinstance(data, dict):
        return [n for v in data.values() for n in numbers(v)]
    if isinstance(data, list | tuple):
        return [n for v in data for n in numbers(v)]
    return [data] if isinstance(data, int | float) and not isinstance(data, bool) else []


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        (
            {"world.chipz.H20": 1},
            "world.chipz.H20 = 1: unknown key 'world.chipz'; valid keys under world: as_of, chips, data_transport, ",
        ),
        ({"world.chipz.H20": 1}, "Did you mean 'chips'?"),
        ({"seed.x": 1}, "seed.x = 1: unknown key 'seed.x'; seed is a value, not a section."),
        ({"world.chips.H20": -1}, "world.chips.H20 = -1: Input should be greater than 0"),
        (
            {"behaviour.temprature": 0.2},
            "behaviour.temprature = 0.2: unknown key 'behaviour.temprature'; valid keys under behaviour: belief_decay,",
        ),
        ({"behaviour.temprature": 0.2}, "Did you mean 'temperature'?"),
        ({"world.hubs.singapre.cooperation": 0.5}, "unknown key 'world.hubs.singapre'; valid keys under world.hubs: "),
        ({"world.hubs.singapre.cooperation": 0.5}, "Did you mean 'singapore'?"),
        ({"world.hubs.malaysia.cargo_inspection_rate": 1.5}, "cargo_inspection_rate = 1.5: Input should be less"),
        ({"world.hubs.malaysia.cargo_inspection_rate": 1.5}, "(allowed: 0 <= value <= 1"),
        ({"policy.enforcement.allocation": "random"}, "policy.enforcement.allocation = 'random': Input should be"),
    ],
)
def test_with_settings_names_the_key_and_what_is_allowed(baseline: Config, settings: dict, fragment: str) -> None:
    with pytest.raises(ConfigError) as refused:
        with_settings(baseline, settings)
    assert fragment in str(refused.value)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("policy.end_user_audit.rate", 0.1),
        ("behaviour.temprature", 0.2),
        ("seed", -1),
        ("world.hubs.malaysia.cargo_inspection_rate", 1.5),
    ],
)
def test_with_settings_errors_read_as_the_command_lines(baseline: Config, path: str, value: float) -> None:
    with pytest.raises(ConfigError) as from_python:
        with_settings(baseline, {path: value})
    with pytest.raises(ConfigError) as from_command_line:
        load_config([f"{path}={value}"])
    python, command_line = str(from_python.value), str(from_command_line.value)
    assert python.startswith(f"{path} = {value}: ")
    if "unknown key" in python:  # the same reason, valid keys and suggestion after the setting
        assert python.split(": ", 1)[1] == command_line.split(": ", 1)[1]
        assert "Did you mean" in python
    else:  # the same sentence naming the key, value and range
        assert command_line.endswith(python)


def test_the_documented_option_true_is_read_as_an_option_not_a_boolean() -> None:
    assert load_config(["behaviour.beliefs=true"]).behaviour.beliefs == "true"


def test_unquoted_special_characters_get_a_hint_to_quote() -> None:
    with pytest.raises(ConfigError, match="must be quoted for Hydra inside the shell's quotes") as refused:
        load_config(["months=3", "description=été"])
    reason, _ = str(refused.value).splitlines()  # the override Hydra cannot read, where, then the hint
    assert reason == (
        "cannot read the override 'description=été': 'été', from character 13, is not in the override grammar"
    )
    unread = r"cannot read the override 'months=1\)': extraneous input '\)' expecting <EOF>\n"
    with pytest.raises(ConfigError, match=unread):
        load_config(["months=1)"])
    assert load_config(["description='Café (draft)'"]).description == "Café (draft)"


def test_an_unresolvable_interpolation_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"cannot resolve months: .*NOT_SET_ANYWHERE"):
        load_config(["months=${oc.env:NOT_SET_ANYWHERE}"])


def test_a_validated_config_cannot_be_changed_in_place() -> None:
    """Its mappings and lists refuse changes, and say how to make a changed copy; it stays as validated."""
    cfg = load_config(["months=2"])
    caps_hubs = cfg.policy.country_caps.hubs
    edits = [
        lambda: cfg.world.chips.__setitem__("H20", -1.0),
        lambda: cfg.world.hubs.pop("singapore"),
        lambda: cfg.world.firms.classes.clear(),
        lambda: cfg.timeline.update({}),
        lambda: next(iter(cfg.timeline.values())).set.setdefault("months", 1),
        lambda: caps_hubs.append("nowhere"),
        lambda: setattr(cfg.behaviour, "temperature", 1.0),
        lambda: delattr(cfg, "months"),
    ]
    for edit in edits:
        with pytest.raises(ReadOnlyError, match=r"read-only.*sim\.schema\.with_settings\(config"):
            edit()
    assert cfg == load_config(["months=2"])
    assert pickle.loads(pickle.dumps(cfg)) == cfg  # sent to workers as it is
