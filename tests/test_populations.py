"""Operators, intermediaries and authorities as array populations: exact values on tiny worlds."""

from __future__ import annotations

import numpy as np
import pytest

from sim.agents.intermediary import KINDS
from sim.capacity import UNLIMITED, Capacities
from sim.channels import IntermediaryKind
from sim.config import Config
from sim.model import ExportControlModel
from sim.schema import with_settings
from tests.conftest import one_hub, tiny_world


def two_hubs(base: Config, **settings: object) -> Config:
    """Hub "a" (two operators of 500 H100e each) and hub "b" (one of 300), 10% growth wanted a month."""
    cfg = tiny_world(base, world__operators__capacity_growth_per_month=0.1, **settings)
    hubs = {
        "a": one_hub(operators=2, rental_capacity_h100e=1000.0, resellers=2),
        "b": one_hub(operators=1, rental_capacity_h100e=300.0, resellers=1, longitude_deg=1.0),
    }
    return with_settings(cfg, {"world.hubs": hubs})


def test_operators_of_a_hub_draw_its_quota_in_row_order(baseline: Config) -> None:
    model = ExportControlModel(two_hubs(baseline))
    operators = model.operators
    assert operators.hub.tolist() == [0, 0, 1] and operators.first.tolist() == [0, 2, 3]
    no_cap_announced = np.array([False, False])
    imported = operators.refresh(np.array([70.0, np.inf]), no_cap_announced)  # 70 H100e of quota left in a, b no cap
    assert operators.capacity_h100e.tolist() == pytest.approx([550.0, 520.0, 330.0])
    assert imported.tolist() == pytest.approx([70.0, 30.0])
    assert operators.free_h100e.tolist() == pytest.approx([550.0, 520.0, 330.0])  # no legitimate demand, no lease


def test_operators_import_ahead_of_a_cap_announced_on_their_hub(baseline: Config) -> None:
    cfg = two_hubs(baseline, world__operators__import_ahead_months=1.0)
    operators = ExportControlModel(cfg).operators
    imported = operators.refresh(np.array([np.inf, np.inf]), np.array([False, True]))
    # b's operator imports up to its path a month after next month, 300 * 1.1^2; a's grow 10%
    assert operators.capacity_h100e.tolist() == pytest.approx([550.0, 550.0, 363.0])
    assert imported.tolist() == pytest.approx([100.0, 63.0])
    operators.capacity_h100e[2] = 300.0  # cut back below its path (caught): it imports back to the path ahead
    assert operators.refresh(np.array([np.inf, 40.0]), np.array([False, True])).tolist() == pytest.approx([110.0, 40.0])


def test_a_cap_counts_as_announced_only_where_it_is_new_or_lower(baseline: Config) -> None:
    cfg = with_settings(two_hubs(baseline), {"world.hubs.a.import_cap_h100e_per_year": 10_000.0})
    authorities = ExportControlModel(cfg).authorities
    importers = np.array([0, 0])
    authorities.set_quota(importers, new_year=False)  # a: its own cap of 10,000; b: none

    def tightened(**settings: object) -> list[bool]:
        expected = with_settings(cfg, {"policy.country_caps.enabled": True} | settings)
        return authorities.caps_tightened(expected, importers).tolist()

    assert tightened() == [False, True]  # the tier-2 cap of 16,700 is above a's own; b had none
    assert tightened(**{"policy.country_caps.tier2_cap_h100e_per_year": 5_000}) == [True, True]
    assert tightened(**{"policy.country_caps.hubs": ["a"]}) == [False, False]
    assert tightened(**{"policy.country_caps.enabled": False}) == [False, False]


def test_leases_commit_and_free_operator_capacity_by_row(baseline: Config) -> None:
    operators = ExportControlModel(two_hubs(baseline)).operators
    operators.lease(np.array([2, -1, 2, 0]), np.array([10.0, 99.0, 5.0, 1.0]))  # -1: chips, no operator
    assert operators.leased_h100e.tolist() == [1.0, 0.0, 15.0]
    operators.release(np.array([2]), np.array([15.0]))
    assert operators.leased_h100e.tolist() == [1.0, 0.0, 0.0]
    assert [o.leased_h100e for o in operators.agents] == [1.0, 0.0, 0.0]  # the agents read their rows


def test_listing_takes_open_affiliates_out_once(baseline: Config) -> None:
    cfg = two_hubs(baseline, world__intermediaries__owner_groups=1)  # every subsidiary shares one parent
    parties = ExportControlModel(cfg).intermediaries
    assert len(parties) == 3 and not parties.local_front.any()
    assert parties.list_party(0, include_affiliates=False) == 1
    assert parties.list_party(0, include_affiliates=False) == 0  # already listed this month
    assert parties.list_party(1, include_affiliates=True) == 2  # itself and the one left in hub b
    assert parties.listed.all() and not parties.open.any()
    assert all(agent.listed and not agent.in_market for agent in parties.agents)
    assert all(agent not in parties.model.agents for agent in parties.agents)


def test_registration_draws_a_lessee_an_operator_of_its_own_hub(baseline: Config) -> None:
    model = ExportControlModel(two_hubs(baseline))
    parties = model.intermediaries
    lessee, reseller = KINDS.index(IntermediaryKind.FRONT_COMPANY), KINDS.index(IntermediaryKind.RESELLER)
    kinds = np.array([lessee] * 50 + [reseller] * 5)
    hubs = np.array([0, 1] * 25 + [1] * 5)
    parties.register(kinds, hubs, usable_from_month=4)
    new = slice(3, None)
    operators = parties.operator[new]
    assert (model.operators.hub[operators[:50]] == hubs[:50]).all()
    assert set(operators[:50][hubs[:50] == 0].tolist()) == {0, 1}  # both of hub a's operators get drawn
    assert (operators[50:] == -1).all()
    assert (parties.usable_from_month[new] == 4).all() and (parties.last_active_month[new] == 4).all()
    assert parties.usable_count(IntermediaryKind.FRONT_COMPANY).tolist() == [0, 0]  # registering until month 4


def test_capacities_lay_pools_out_by_party_and_hub() -> None:
    pools = Capacities(np.array([5.0, 6.0]), np.array([7.0, -1.0, 8.0]), np.array([np.inf, 9.0]))
    assert pools.left.tolist() == [np.inf, 5.0, 6.0, 7.0, 0.0, 8.0, np.inf, 9.0, 0.0, 0.0]
    assert pools.intermediary(np.array([1])).tolist() == [2]
    assert pools.operator(np.array([0, 2])).tolist() == [3, 5]
    assert pools.quota(np.array([0, 1])).tolist() == [UNLIMITED, 7]  # hub 0 has no cap
    assert [pools.ration("domestic_ration"), pools.ration("inference_need")] == [8, 9]
