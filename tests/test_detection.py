"""Layered detection: each illicit channel's measured detection rate converges to
1 - prod(1 - p_i) of its checkpoints, computed here by hand from the config."""

from __future__ import annotations

import math

import pytest

from sim import Config, run
from tests.conftest import one_firm, one_hub, tiny_world


def stationary_world(base: Config) -> Config:
    hub = one_hub(
        cargo_inspection_rate=0.1,
        passenger_inspection_rate=0.2,
        kyc_baseline=0.4,
        cooperation=1.0,
        resellers=1,
        front_companies=1,
        logistics_brokers=1,
    )
    firm = one_firm(count=20, dataset_tb=100.0)
    return tiny_world(
        base,
        hub=hub,
        firm=firm,
        months=120,
        seed=11,
        behaviour__beliefs="true",
        behaviour__temperature=10.0,
        behaviour__min_order_share=0.0,
        world__firms__stock_depreciation_per_month=1.0,
        world__market__lease_months=1,
        world__market__smuggling_lead_time_months=0,
        world__data_transport__prep_months=0,
        world__data_transport__red_flag_factor=0.5,
        world__intermediaries__red_flag_rate=0.5,
        world__operators__capacity_cut_share=0.0,
        policy__compliant_chips__allowed=False,
        policy__entity_list__list_on_detection=False,
        policy__penalties__fine_usd_per_h100e_month=0.0,
        policy__end_user_audits__audit_rate=0.2,
        policy__end_user_audits__detection_given_audit=0.5,
        policy__customs__cargo_multiplier=1.0,
        policy__customs__passenger_multiplier=1.0,
        policy__customs__detection_given_cargo_inspection=0.5,
        policy__customs__detection_given_drive_inspection=0.25,
        policy__customs__detection_given_weights_inspection=0.1,
        policy__remote_access__operator_audits=True,
        policy__enforcement__audit_budget_per_month=0.6,
        policy__enforcement__detection_given_audit=0.5,
    )


def layered(*p: float) -> float:
    return 1 - math.prod(1 - x for x in p)


# Checks per cell: 0.6 over two cells (smuggling, remote rental), one party each.
REGULATOR = 0.3 * 0.5 * 1.0
# 100 TB over 4 persons x 15 drives x 1.333 TB = 79.98 TB a trip: two trips.
DRIVE_TRIP = 0.2 * 0.25
EXPECTED = {
    "smuggling": layered(0.2 * 0.5, 0.1 * 0.5, REGULATOR),
    "remote_rental": layered(0.4 * 0.5, REGULATOR),
    "data_transport": layered(layered(DRIVE_TRIP, DRIVE_TRIP), 0.4 * 0.5 * 0.5, 0.2 * 0.1),
}


@pytest.fixture(scope="module")
def totals(baseline: Config) -> dict[str, float]:
    return run(stationary_world(baseline)).summary


@pytest.mark.parametrize("channel", sorted(EXPECTED))
def test_detection_rate_matches_layered_formula(totals: dict[str, float], channel: str) -> None:
    n = totals[f"attempts_{channel}_total"]
    assert n > 1000
    p = EXPECTED[channel]
    half_width = 4 * math.sqrt(p * (1 - p) / n)  # a 99.99% binomial interval
    assert abs(totals[f"detection_rate_{channel}"] - p) < half_width
