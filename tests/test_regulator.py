"""The regulator's allocation rules, escalation and entity listing."""

from __future__ import annotations

import numpy as np
import pytest

from sim import Config, run
from sim.model import ExportControlModel
from sim.schema import with_settings


def regulator_after_one_month(base: Config, allocation: str) -> ExportControlModel:
    cfg = with_settings(
        base,
        {
            "policy.enforcement.allocation": allocation,
            "policy.enforcement.audit_budget_per_month": 7.0,
            "policy.enforcement.exploration": 0.0,
            "policy.remote_access.operator_audits": False,
        },
    )
    model = ExportControlModel(cfg)
    model.step()
    return model


def test_uniform_spreads_checks_evenly(baseline: Config) -> None:
    model = regulator_after_one_month(baseline, "uniform")
    regulator = model.regulator
    model.regulator.step()
    for (channel, hub), rate in zip(regulator.cells, regulator.check_rate, strict=True):
        if channel == "smuggling":
            assert rate == pytest.approx(min(1.0, 1.0 / len(model.usable_intermediaries(channel, hub))))
        else:
            assert rate == 0.0  # operator audits are off


def test_volume_follows_trade_and_adaptive_follows_detections(baseline: Config) -> None:
    for rule, memory in (("volume", "volume_memory"), ("adaptive", "detection_memory")):
        model = regulator_after_one_month(baseline, rule)
        regulator = model.regulator
        regulator.month_volume[:] = 0.0
        regulator.month_detections[:] = 0.0
        setattr(regulator, memory, np.zeros(len(regulator.cells)))
        target = regulator.cells.index(("smuggling", "thailand"))
        getattr(regulator, memory)[target] = 5.0
        regulator.step()
        busy = regulator.check_rate[target]
        assert busy == pytest.approx(min(1.0, 7.0 / len(model.usable_intermediaries("smuggling", "thailand"))))
        assert np.count_nonzero(regulator.check_rate) == 1, rule


def test_adaptive_explores(baseline: Config) -> None:
    cfg = with_settings(baseline, {"policy.enforcement.allocation": "adaptive", "policy.enforcement.exploration": 0.5})
    model = ExportControlModel(cfg)
    model.step()
    assert np.count_nonzero(model.regulator.check_rate[: len(model.hub_names)]) == len(model.hub_names)


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
    escalated = [a for a in model.authorities.values() if a.escalations > 0]
    assert escalated
    hub = escalated[0]
    base_rate = model.cfg.world.hubs[hub.hub].cargo_inspection_rate * model.cfg.policy.customs.cargo_multiplier
    assert hub.cargo_inspection_rate() == pytest.approx(min(1.0, base_rate * 2.0**hub.escalations))


def test_listing_affiliates_lists_more_and_cuts_smuggling(baseline: Config) -> None:
    listed, smuggled = {}, {}
    for affiliates in (False, True):
        results = [
            run(with_settings(baseline, {"policy.entity_list.include_affiliates": affiliates, "seed": s}))
            for s in range(4)
        ]
        listed[affiliates] = np.mean([r.summary["listed_entities_final"] for r in results])
        smuggled[affiliates] = np.mean([r.summary["smuggled_h100e_total"] for r in results])
    assert listed[True] > listed[False]
    assert smuggled[True] < smuggled[False]


def test_no_listing_keeps_intermediaries(baseline: Config) -> None:
    ts = run(with_settings(baseline, {"policy.entity_list.list_on_detection": False})).timeseries
    assert (ts["listed_entities"] == 0).all()
