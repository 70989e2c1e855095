"""Directions of policy effects, averaged over seeds (docs/ODD.md, sections 1.2 and 9)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim import load_config, run
from tests.conftest import SMUGGLING_WORLD

SEEDS = range(6)
HUBS = ["singapore", "malaysia", "thailand", "indonesia", "vietnam", "uae", "saudi_arabia"]


def summaries(*overrides: str) -> pd.DataFrame:
    return pd.DataFrame([run(load_config([*overrides, f"seed={s}"])).summary for s in SEEDS])


def smuggling_summaries(*overrides: str) -> pd.DataFrame:
    return summaries(*SMUGGLING_WORLD, *overrides)


def pooled_rate(table: pd.DataFrame, channel: str) -> float:
    return table[f"detections_{channel}_total"].sum() / table[f"attempts_{channel}_total"].sum()


def test_more_audits_raise_smuggling_detection_and_lower_smuggled_volume() -> None:
    few, many = (smuggling_summaries(f"policy.enforcement.audit_budget_per_month={b}") for b in (2, 20))
    assert pooled_rate(many, "smuggling") > pooled_rate(few, "smuggling")
    assert many["smuggled_h100e_total"].mean() < 0.8 * few["smuggled_h100e_total"].mean()


def test_audits_have_diminishing_returns() -> None:
    rates = [
        pooled_rate(smuggling_summaries(f"policy.enforcement.audit_budget_per_month={b}"), "smuggling")
        for b in (2, 8, 50)
    ]
    gain_per_check = np.diff(rates) / np.diff([2, 8, 50])
    assert rates[0] < rates[1] < rates[2]
    assert gain_per_check[1] < gain_per_check[0]


def smuggled_through(hubs: list[str], *overrides: str, since: str = "2025-01") -> float:
    """Mean volume smuggled through ``hubs`` from the month ``since`` on."""
    columns = [f"smuggled_hub_{h}_h100e" for h in hubs]
    configs = [load_config([*SMUGGLING_WORLD, *overrides, f"seed={s}"]) for s in SEEDS]
    frames = [run(cfg).timeseries for cfg in configs]
    return float(np.mean([f.loc[f["month"] >= since, columns].sum().sum() for f in frames]))


def test_caps_lower_smuggling_through_capped_hubs() -> None:
    capped = ["singapore", "malaysia"]
    scenario = "scenario=diffusion_rule_kept"
    in_force = "2025-05"  # the Diffusion Rule's compliance date, when the caps start
    with_caps = smuggled_through(
        capped,
        scenario,
        "policy.country_caps.hubs=[singapore,malaysia]",
        "policy.country_caps.tier2_cap_h100e_per_year=2000",
        "policy.country_caps.small_order_exemption_h100e=0",  # the cap alone, no room per reseller
        since=in_force,
    )
    without = smuggled_through(capped, scenario, "policy.country_caps.enabled=false", since=in_force)
    assert with_caps < 0.6 * without


def smuggled_after_crackdown(scenario: str) -> pd.Series:
    """Mean volume smuggled through each hub from the crackdown (2025-03) on."""
    configs = [load_config([f"scenario={scenario}", *SMUGGLING_WORLD, f"seed={s}"]) for s in SEEDS]
    frames = [run(cfg).timeseries.iloc[2:] for cfg in configs]
    return pd.Series({h: np.mean([f[f"smuggled_hub_{h}_h100e"].sum() for f in frames]) for h in HUBS})


def test_singapore_crackdown_cuts_its_flows() -> None:
    """Where the flows go instead is a validation target (python -m sim.validate), not a unit test."""
    before, after = smuggled_after_crackdown("baseline"), smuggled_after_crackdown("crackdown_singapore")
    assert after["singapore"] < 0.7 * before["singapore"]


@pytest.mark.parametrize("scenario", ["baseline", "crackdown_singapore", "diffusion_rule_kept"])
def test_no_controls_gives_the_highest_access(scenario: str) -> None:
    free = summaries("scenario=no_controls")["access_ratio"].mean()
    assert free > summaries(f"scenario={scenario}")["access_ratio"].mean()


def test_listing_raises_access_only_through_the_chips_seized_from_the_smuggling_it_deters() -> None:
    """docs/ODD.md, section 8: without listing firms smuggle more, and more of their chips are seized."""

    def access_without_listing_minus_with(*overrides: str) -> float:
        listing, none = (summaries(*overrides, f"policy.entity_list.list_on_detection={on}") for on in (True, False))
        return float((none["access_ratio"] - listing["access_ratio"]).mean())

    assert access_without_listing_minus_with() < -0.005
    assert abs(access_without_listing_minus_with("policy.penalties.seizure=false")) < 0.003
