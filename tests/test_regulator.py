"""The regulator's allocation rules, escalation and entity listing."""

from __future__ import annotations

import numpy as np
import pytest

from sim import Config, load_config, run
from sim.levers.enforcement import Enforcement
from sim.model import ExportControlModel
from sim.schema import with_settings
from tests.conftest import SMUGGLING_WORLD


def enforcement(baseline: Config, allocation: str, **settings: float) -> Enforcement:
    """The baseline's enforcement lever with another allocation rule and 7 checks a month."""
    values = {"allocation": allocation, "audit_budget_per_month": 7.0, "exploration": 0.0} | settings
    return with_settings(baseline.policy.enforcement, values)


#: Four cells: the last is inactive (operator audits off); cell 0 has 2 parties, cell 1 has 14.
ACTIVE = np.array([True, True, True, False])
PARTIES = np.array([2.0, 14.0, 7.0, 3.0])
NOTHING = np.zeros(4)


def allocate(rule: Enforcement, volume=NOTHING, detections=NOTHING, violation=NOTHING) -> tuple[np.ndarray, float]:
    return rule.allocate(ACTIVE, PARTIES, volume, detections, violation, cooperation=np.ones(4))


def test_uniform_spreads_checks_evenly_over_active_cells(baseline: Config) -> None:
    rate, audits = allocate(enforcement(baseline, "uniform"))
    # 7/3 checks per active cell, spread over its parties and capped at one check a party
    np.testing.assert_allclose(rate, [1.0, (7 / 3) / 14, (7 / 3) / 7, 0.0])
    assert audits == pytest.approx(2 + 7 / 3 + 7 / 3)


def test_volume_and_adaptive_follow_their_memory(baseline: Config) -> None:
    memory = np.array([0.0, 5.0, 0.0, 9.0])  # the inactive cell's memory is ignored
    for rule, kwargs in (("volume", {"volume": memory}), ("adaptive", {"detections": memory})):
        rate, audits = allocate(enforcement(baseline, rule), **kwargs)
        np.testing.assert_allclose(rate, [0.0, 7 / 14, 0.0, 0.0], err_msg=rule)
        assert audits == pytest.approx(7.0)


def test_without_memory_volume_and_adaptive_are_uniform(baseline: Config) -> None:
    uniform, _ = allocate(enforcement(baseline, "uniform"))
    for rule in ("volume", "adaptive"):
        np.testing.assert_allclose(allocate(enforcement(baseline, rule))[0], uniform)


def test_adaptive_explores_a_share_uniformly(baseline: Config) -> None:
    rate, _ = allocate(enforcement(baseline, "adaptive", exploration=0.5), detections=np.array([0.0, 5.0, 0.0, 0.0]))
    np.testing.assert_allclose(rate, [min(1.0, 3.5 / 3 / 2), (3.5 / 3 + 3.5) / 14, 3.5 / 3 / 7, 0.0])


def test_best_response_checks_only_cells_worth_checking(baseline: Config) -> None:
    rule = enforcement(baseline, "best_response", check_cost_usd=10.0, detection_value_usd=100.0)
    # gain = v * detection_given_audit (0.5) * cooperation * R: worth it iff v > 0.2
    rate, _ = allocate(rule, violation=np.array([0.1, 0.5, 0.3, 0.9]))
    np.testing.assert_allclose(rate, [0.0, 3.5 / 14, 3.5 / 7, 0.0])


def test_escalation_tightens_customs_where_detections_pile_up(baseline: Config) -> None:
    cfg = with_settings(
        baseline,
        {
            "policy.enforcement.escalation.enabled": True,
            "policy.enforcement.escalation.threshold_detections": 1,
            "policy.enforcement.escalation.customs_multiplier": 2.0,
            "policy.enforcement.audit_budget_per_month": 30.0,
        },
    )
    model = ExportControlModel(cfg)
    model.run_for(12)
    escalated = [a for a in model.authorities.agents if a.escalations > 0]
    assert escalated
    hub = escalated[0]
    base_rate = model.cfg.world.hubs[hub.hub].cargo_inspection_rate * model.cfg.policy.customs.cargo_multiplier
    rate = model.authorities.cargo_inspection_rate()[hub.row]
    assert rate == pytest.approx(min(1.0, base_rate * 2.0**hub.escalations))


def test_listing_affiliates_lists_more_and_cuts_smuggling(baseline: Config) -> None:
    listed, smuggled = {}, {}
    for affiliates in (False, True):
        results = [
            run(load_config([*SMUGGLING_WORLD, f"policy.entity_list.include_affiliates={affiliates}", f"seed={s}"]))
            for s in range(4)
        ]
        listed[affiliates] = np.mean([r.summary["listed_entities_final"] for r in results])
        smuggled[affiliates] = np.mean([r.summary["smuggled_h100e_total"] for r in results])
    assert listed[True] > listed[False]
    assert smuggled[True] < smuggled[False]


def test_no_listing_keeps_intermediaries(baseline: Config) -> None:
    ts = run(with_settings(baseline, {"policy.entity_list.list_on_detection": False})).timeseries
    assert (ts["listed_entities"] == 0).all()
