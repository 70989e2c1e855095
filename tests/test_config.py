"""Every config composes and validates; every bad input gets one clear message."""

from __future__ import annotations

import itertools

import pytest
import yaml

from sim import ConfigError, load_config, run
from sim.docs import DOC_PATH, render
from sim.loading import CONFIG_DIR, group_options
from sim.schema import SettingsError, with_settings
from sim.timeline import compile_expectations, compile_rules, compile_timeline


@pytest.mark.parametrize("scenario", group_options("scenario"))
def test_every_scenario_composes_and_validates(scenario: str) -> None:
    cfg = load_config([f"scenario={scenario}"])
    assert cfg.name == scenario
    compile_timeline(cfg)


@pytest.mark.parametrize(("world", "policy"), list(itertools.product(group_options("world"), group_options("policy"))))
def test_every_world_and_policy_composes(world: str, policy: str) -> None:
    cfg = load_config([f"world={world}", f"policy={policy}"])
    assert cfg.world.hubs


def test_scenarios_pick_their_policy() -> None:
    assert load_config(["scenario=no_controls"]).policy.compliant_chips.chip == "H100"
    assert not load_config(["scenario=baseline"]).policy.country_caps.enabled
    assert load_config(["scenario=baseline", "policy=strict"]).policy.enforcement.escalation.enabled


def test_fitted_values_apply_unless_a_policy_sets_them_and_can_be_left_out() -> None:
    fitted = yaml.safe_load((CONFIG_DIR / "calibrated" / "baseline.yaml").read_text())
    supply = fitted["policy"]["compliant_chips"]["supply_usd_per_month"]
    assert load_config([]).policy.compliant_chips.supply_usd_per_month == supply
    assert load_config(["policy=diffusion_rule"]).policy.compliant_chips.supply_usd_per_month == supply
    for chosen in (["policy=none"], ["scenario=no_controls"]):  # no controls: the vendor sells without limit
        assert load_config(chosen).policy.compliant_chips.supply_usd_per_month is None
    uncalibrated = load_config(["~calibrated"])
    assert uncalibrated.policy.compliant_chips.supply_usd_per_month == 1.43e9  # configs/config.yaml's, before the fit
    assert uncalibrated.world.market.gray_premium != fitted["world"]["market"]["gray_premium"]


def test_an_events_set_is_changed_added_to_or_replaced() -> None:
    def licence_sets(*overrides: str) -> dict:
        return dict(load_config(list(overrides)).timeline["h20_licence"].set)

    assert licence_sets("timeline.h20_licence.set={policy.compliant_chips.allowed: true}") == {
        "policy.compliant_chips.allowed": True
    }
    surge = "{policy.enforcement.audit_budget_per_month: 8}"
    assert licence_sets(f"+timeline.h20_licence.set={surge}") == {
        "policy.compliant_chips.allowed": False,
        "policy.enforcement.audit_budget_per_month": 8,
    }
    replaced = licence_sets("~timeline.h20_licence.set", f"+timeline.h20_licence.set={surge}")
    assert replaced == {"policy.enforcement.audit_budget_per_month": 8}


def test_overrides_reach_the_config() -> None:
    cfg = load_config(["scenario=crackdown_singapore", "policy.end_user_audits.audit_rate=0.2", "seed=7"])
    assert (cfg.name, cfg.policy.end_user_audits.audit_rate, cfg.seed) == ("crackdown_singapore", 0.2, 7)


def test_timeline_changes_the_rules_at_its_month() -> None:
    cfg = load_config(["scenario=diffusion_rule_kept"])
    compiled = compile_timeline(cfg)
    may = compiled[4]  # 2025-05: the Diffusion Rule's compliance date
    assert not cfg.policy.country_caps.enabled and may.policy.country_caps.enabled
    assert not compiled[3].policy.compliant_chips.allowed  # 2025-04: H20 licences required


def test_events_before_start_apply_from_the_start_and_after_end_are_not_reached() -> None:
    cfg = load_config(["start=2025-06", "world.as_of=2025-06", "months=1"])
    compiled = compile_timeline(cfg)
    assert list(compiled) == [0]  # April and May apply at the start; July and August are not reached
    assert not compiled[0].policy.compliant_chips.allowed
    late = compile_timeline(load_config(["start=2025-09", "world.as_of=2025-09", "months=3"]))
    assert list(late) == [0] and late[0].policy.compliant_chips.surcharge_share == 0.15


def test_a_start_other_than_the_worlds_month_is_refused_unless_the_world_says_so_too() -> None:
    refused = r"start '2030-01' is not the month the world describes \(world.as_of '2025-01'"
    with pytest.raises(ConfigError, match=refused):
        load_config(["start=2030-01"])
    moved = load_config(["start=2030-01", "world.as_of=2030-01", "months=2"])
    assert run(moved).timeseries["month"].tolist() == ["2030-01", "2030-02"]


def test_rules_are_composed_once_for_every_seed_and_carry_each_seed() -> None:
    cfg = load_config(["scenario=baseline"])
    first, second = compile_rules(cfg), compile_rules(with_settings(cfg, {"seed": 7}))
    assert set(first.in_force) == set(compile_timeline(cfg)) and set(first.expected) == set(compile_expectations(cfg))
    for month, in_force in second.in_force.items():
        assert in_force.seed == 7 and first.in_force[month].seed == cfg.seed
        assert in_force.model_copy(update={"seed": cfg.seed}) == first.in_force[month] == compile_timeline(cfg)[month]
    assert all(expected.seed == 7 for expected in second.expected.values())
    shared = [m for m in first.expected if m - 1 in first.expected and first.expected[m] is first.expected[m - 1]]
    assert shared  # months expecting the same rules under the same config in force share one config
    other = compile_rules(with_settings(cfg, {"policy.end_user_audits.audit_rate": 0.3}))
    assert all(c.policy.end_user_audits.audit_rate == 0.3 for c in other.expected.values())  # another config


BAD_INPUTS = [
    (["policy.end_user_audit.rate=0.1"], ["policy.end_user_audit", "end_user_audits"]),
    (["seed=-1"], ["seed", "-1", "0 <= value"]),
    (["world.hubs.malaysia.cargo_inspection_rate=1.5"], ["cargo_inspection_rate", "1.5", "value <= 1"]),
    (["scenario=atlantis"], ["scenario=atlantis", "baseline", "no_controls"]),
    (["policy.enforcement.allocation=random"], ["allocation", "random", "uniform"]),
    (
        ['+timeline.test={month: "2025-02", note: x, set: {policy.end_user_audits.rate: 1}}'],
        ["timeline.test", "policy.end_user_audits.rate", "audit_rate"],
    ),
    (
        ['+timeline.test={month: "2025-02", note: x, set: {world.hubs.atlantis.cooperation: 1}}'],
        ["world.hubs.atlantis.cooperation", "unknown hub", "singapore"],
    ),
    (
        ['+timeline.test={month: "2025-02", note: x, set: {world.hubs.malaysia.operators: 9}}'],
        ["world.hubs.malaysia.operators", "fixed at start", "cargo_inspection_rate"],
    ),
    (
        ['+timeline.test={month: "2025-02", note: x, set: {policy.penalties.fine_usd_per_h100e_month: -5}}'],
        ["fine_usd_per_h100e_month", "-5", "0 <= value"],
    ),
    (['+timeline.test={month: "2031-13", note: x, set: {}}'], ["2031-13", "YYYY-MM"]),
    (  # an event refused for a missing note has its set checked too: one message names both
        ['+timeline.test={month: "2025-02", set: {policy.penalties.fine_usd_per_h100e_month: -5}}'],
        ["missing key 'timeline.test.note'.", "timeline.test sets policy.penalties.fine_usd_per_h100e_month = -5"],
    ),
    (
        ['+timeline.test={month: "2025-02", set: {months: 3}}'],
        ["missing key 'timeline.test.note'.", "timeline.test sets 'months': this value is fixed at start"],
    ),
    (
        ["timeline.h20_licence.set={policy.enforcement.audit_budget_per_month: 8}"],
        [
            "policy.enforcement.audit_budget_per_month not in timeline.h20_licence.set "
            "(its entries: policy.compliant_chips.allowed)",
            "'~timeline.h20_licence.set' '+timeline.h20_licence.set={policy.enforcement.audit_budget_per_month: 8}'",
        ],
    ),
    (
        ['+timeline.h20_licence={month: "2025-06", note: x, set: {policy.enforcement.audit_budget_per_month: 8}}'],
        ["the timeline already has an event 'h20_licence'", "'~timeline.h20_licence' '+timeline.h20_licence={"],
    ),
    (["months={a: 1}"], ["months"]),
    (['+timeline.test={month: "2025-02", note: x, set: {}}'], ["the event sets nothing (set: {})"]),
    (["timeline.h20_licence.note="], ["timeline.h20_licence.note = ''", "at least 1 character"]),
    (  # an optional event key the YAML leaves out is in the schema: Hydra needs it added
        ["timeline.h20_licence.label=x"],
        ["timeline.h20_licence.label is not set in this config; add it with +timeline.h20_licence.label=x"],
    ),
    (["paths.results="], ["paths.results = ''", "at least 1 character"]),  # not a silent ./runs/
    (["~policy"], ["~policy: the policy group cannot be removed", "policy=diffusion_rule|jan2025|none|strict"]),
    (["~policy.penalties"], ["~policy.penalties: policy.penalties is required and cannot be removed"]),
    (["~world.hubs.malaysia.tier"], ["world.hubs.malaysia.tier is required and cannot be removed"]),
    (
        ["timeline.h20_licence.set.policy.compliant_chips.allowed=true"],
        [
            "timeline.h20_licence.set is keyed by dotted paths",
            "'timeline.h20_licence.set={policy.compliant_chips.allowed: true}'",
            "its entries now: policy.compliant_chips.allowed",
        ],
    ),
]


@pytest.mark.parametrize(("overrides", "fragments"), BAD_INPUTS)
def test_bad_input_names_key_value_and_what_is_allowed(overrides: list[str], fragments: list[str]) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(overrides)
    message = str(error.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert "Traceback" not in message


def test_config_reference_is_up_to_date() -> None:
    assert DOC_PATH.read_text() == render(), "docs/config.md is stale: run python -m sim.docs"


def test_the_config_reference_shows_types_limits_and_defaults_as_a_reader_writes_them() -> None:
    rows = {
        line.split("|")[1].strip(" `"): line.split("|")[2:6] for line in render().splitlines() if line.startswith("| `")
    }
    assert [cell.strip() for cell in rows["world.chips.<chip>"][:3]] == [
        "dict[str, float]",
        "H100e/chip",
        "> 0, <= 100",
    ]
    assert rows["world.inference_chips"][3].strip() == "H20: 1.19, Ascend910C: 0.6"
    leaks = [key for key, cells in rows.items() if any(t in "".join(cells) for t in ("annotation=", "metadata=", "{'"))]
    assert leaks == []


def test_every_schema_field_is_documented() -> None:
    from pydantic import BaseModel

    from sim.config import Config

    def walk(model: type[BaseModel]) -> None:
        for name, info in model.model_fields.items():
            assert info.description, f"{model.__name__}.{name} has no description"
            inner = getattr(info.annotation, "model_fields", None)
            if inner is not None:
                walk(info.annotation)

    walk(Config)


def test_with_settings_changes_a_copy_and_revalidates_only_what_changed(baseline) -> None:
    changed = with_settings(baseline, {"world.hubs.uae.cargo_inspection_rate": 0.5, "seed": 9})
    assert changed.world.hubs["uae"].cargo_inspection_rate == 0.5 and changed.seed == 9
    assert baseline.world.hubs["uae"].cargo_inspection_rate != 0.5 and baseline.seed != 9  # the original kept
    assert changed.policy is baseline.policy and changed.world.hubs["malaysia"] is baseline.world.hubs["malaysia"]
    with pytest.raises(SettingsError, match="cargo_inspection_rate"):
        with_settings(baseline, {"world.hubs.uae.cargo_inspection_rate": 2.0})  # a changed value is still checked
