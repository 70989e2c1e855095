"""Becker's rational offender: with true beliefs and temperature 0 the firm smuggles exactly
when smuggling's expected net value beats the legal option's and zero."""

from __future__ import annotations

import pytest

from sim import Config, run
from sim.channels import CHANNEL_NAMES
from sim.model import ExportControlModel
from tests.conftest import one_hub, tiny_world

VALUE = 4000.0
RISK_AVERSION = 1.0


def becker_world(base: Config, fine: float, compliant_allowed: bool = True) -> Config:
    hub = one_hub(cargo_inspection_rate=0.04, cooperation=0.8)
    return tiny_world(
        base,
        hub=hub,
        behaviour__temperature=0.0,
        behaviour__beliefs="true",
        policy__end_user_audits__audit_rate=0.1,
        policy__end_user_audits__detection_given_audit=0.5,
        policy__customs__detection_given_cargo_inspection=0.5,
        policy__enforcement__audit_budget_per_month=0.5,
        policy__enforcement__detection_given_audit=0.5,
        policy__compliant_chips__allowed=compliant_allowed,
        policy__compliant_chips__surcharge_share=0.0,
        policy__penalties__seizure=True,
        policy__penalties__fine_usd_per_h100e_month=fine,
        months=1,
    )


def analytic_threshold_fine(cfg: Config) -> float:
    """The fine at which U(smuggling) = U(compliant), from the config values by hand."""
    market, policy = cfg.world.market, cfg.policy
    # Checkpoints: vendor audit, cargo inspection, regulator check of the one reseller
    # (0.5 checks for 1 reseller, detection 0.5, cooperation 0.8).
    p = [0.1 * 0.5, 0.04 * 0.5, 0.5 * 0.5 * 0.8]
    pi = 1 - (1 - p[0]) * (1 - p[1]) * (1 - p[2])
    gray_price = market.h100_price_usd * market.gray_premium * (1 + cfg.world.intermediaries.fee_share)
    cost_smuggling = gray_price / market.amortisation_months + market.opex_usd_per_h100e_month
    compliant = policy.compliant_chips
    h20_price = compliant.price_usd_per_chip / cfg.world.chips[compliant.chip]
    cost_compliant = h20_price / market.amortisation_months + market.opex_usd_per_h100e_month
    # v - c_s - lambda * pi * (v + F) = v - c_c  <=>  F = (c_c - c_s) / (lambda * pi) - v
    return (cost_compliant - cost_smuggling) / (RISK_AVERSION * pi) - VALUE


def first_month_choice(cfg: Config) -> str:
    row = run(cfg).timeseries.iloc[0]
    chosen = [c for c in ("compliant", "smuggling") if row[f"attempts_{c}"] > 0]
    assert len(chosen) == 1, f"temperature 0 must pick one option, got {chosen}"
    return chosen[0]


def test_model_utilities_are_equal_at_the_analytic_fine(baseline: Config) -> None:
    """The option table's U of smuggling and of compliant chips cross exactly at the threshold."""
    threshold = analytic_threshold_fine(becker_world(baseline, fine=0.0))
    assert 0 < threshold < 1e5
    model = ExportControlModel(becker_world(baseline, fine=threshold))
    model.step()
    table = model.table
    u = {CHANNEL_NAMES[c]: table.u[0, i] for i, c in enumerate(table.channel)}
    assert u["smuggling"] == pytest.approx(u["compliant"], rel=1e-9)
    compliant = CHANNEL_NAMES.index("compliant")
    assert u["compliant"] == pytest.approx(VALUE - table.offered_cost_usd[table.channel == compliant][0])


@pytest.mark.parametrize(("factor", "expected"), [(0.999, "smuggling"), (1.001, "compliant")])
def test_switch_at_analytic_fine(baseline: Config, factor: float, expected: str) -> None:
    threshold = analytic_threshold_fine(becker_world(baseline, fine=0.0))
    assert first_month_choice(becker_world(baseline, fine=threshold * factor)) == expected


def test_no_offence_when_crime_does_not_pay(baseline: Config) -> None:
    """With no legal option, the firm smuggles only while U > 0."""
    threshold = analytic_threshold_fine(becker_world(baseline, fine=0.0))
    huge_fine = 10 * threshold + 10 * VALUE
    ts = run(becker_world(baseline, fine=huge_fine, compliant_allowed=False)).timeseries
    assert ts["attempts_smuggling"].sum() == 0
    ts = run(becker_world(baseline, fine=0.0, compliant_allowed=False)).timeseries
    assert ts["attempts_smuggling"].iloc[0] == 1
