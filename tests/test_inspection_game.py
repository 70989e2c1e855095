"""The inspection game (Avenhaus, von Stengel): a firm and a regulator that both best-respond
to the other's past play (fictitious play) end up, on time average, at the mixed equilibrium:
violation rate k / r and inspection rate g / (delta p).

Fictitious play cycles with ever longer periods around the equilibrium, so its averages
approach it slowly; over 600 months they are within 0.05 of it.
"""

from __future__ import annotations

import pytest

from sim import Config, run
from tests.conftest import one_hub, tiny_world

VALUE = 4000.0
DETECTION_GIVEN_CHECK = 0.5  # p: detection_given_audit x cooperation (1) x red flags (1)
CHECK_COST = 1.0  # k


def game(base: Config, violation: float, inspection: float) -> Config:
    """One firm renting servers abroad (one-month leases) or going without; one regulator.

    The fine and the value of a detection are set so that the equilibrium is the given
    violation and inspection rates.
    """
    hub = one_hub(resellers=0, front_companies=1, rental_price_usd_per_h100e_month=2000.0)
    cfg = tiny_world(base, hub=hub)
    rent = 2000.0 * (1 + cfg.world.intermediaries.fee_share)
    gain = VALUE - rent  # g: value of a violation over going without
    fine = gain / (DETECTION_GIVEN_CHECK * inspection) - VALUE  # delta = L + F = g / (p i*)
    value_of_detection = CHECK_COST / (DETECTION_GIVEN_CHECK * violation)  # r = p R = k / v*
    return tiny_world(
        base,
        hub=hub,
        months=600,
        seed=1,
        world__market__lease_months=1,
        policy__compliant_chips__allowed=False,
        policy__entity_list__list_on_detection=False,
        policy__penalties__seizure=True,
        policy__penalties__fine_usd_per_h100e_month=fine,
        policy__remote_access__operator_audits=True,
        policy__enforcement__allocation="best_response",
        policy__enforcement__audit_budget_per_month=1.0,
        policy__enforcement__detection_given_audit=DETECTION_GIVEN_CHECK,
        policy__enforcement__check_cost_usd=CHECK_COST,
        policy__enforcement__detection_value_usd=value_of_detection,
        world__operators__capacity_cut_share=0.0,
        behaviour__temperature=0.0,
        behaviour__learning=True,
        behaviour__belief_decay=1.0,
        behaviour__prior_a=0.01,
        behaviour__prior_b=0.09,
        behaviour__news_weight=0.0,
        behaviour__news_trials=0.0,
        behaviour__climate_weight=100.0,
    )


@pytest.mark.parametrize(("violation", "inspection"), [(0.3, 0.4), (0.5, 0.25), (0.7, 0.7), (0.4, 0.5)])
def test_time_averages_tend_to_the_mixed_equilibrium(baseline: Config, violation: float, inspection: float) -> None:
    ts = run(game(baseline, violation, inspection)).timeseries
    assert (ts["attempts_remote_rental"] > 0).mean() == pytest.approx(violation, abs=0.05)
    assert (ts["audits"] > 0).mean() == pytest.approx(inspection, abs=0.05)
