"""Supply at home: the compliant vendor's queue, cancellation on close, buying ahead of a rule, domestic supply."""

from __future__ import annotations

import numpy as np
import pytest

from sim.agents.firm import _needs
from sim.config import Config
from sim.ledger import Ledger
from sim.model import ExportControlModel
from sim.run import run
from sim.schema import with_settings
from sim.world import domestic_supply_h100e
from tests.conftest import one_firm, one_hub, rows, schedule_compliant, tiny_world

SOURCE = 7  # any source index
FROM_SOURCE = np.arange(8) == SOURCE  # the flags that select it


def compliant_order(ledger: Ledger, cfg: Config, month: int, quantity_h100e: float, spend_usd: float) -> None:
    """Schedule a compliant order that passed."""
    schedule_compliant(ledger, cfg, month, quantity_h100e, spend_usd, SOURCE)


@pytest.fixture
def queued(baseline: Config) -> Config:
    """$100 of supply a month, shipped in the month ordered."""
    return with_settings(
        baseline,
        {"policy.compliant_chips.supply_usd_per_month": 100.0, "world.market.compliant_lead_time_months": 0},
    )


def test_orders_beyond_supply_wait_first_come_first_served(queued: Config) -> None:
    ledger = Ledger()
    compliant_order(ledger, queued, month=0, quantity_h100e=25.0, spend_usd=250.0)
    compliant_order(ledger, queued, month=1, quantity_h100e=10.0, spend_usd=100.0)
    due = [(s.due_month, s.quantity_h100e, s.value_usd) for s in rows(ledger.shipments)]
    assert due == [(0, 10.0, 100.0), (1, 10.0, 100.0), (2, 5.0, 50.0), (2, 5.0, 50.0), (3, 5.0, 50.0)]


def test_nothing_is_created_or_lost_in_the_queue(queued: Config) -> None:
    ledger = Ledger()
    for month, spend in enumerate([30.0, 470.0, 5.0, 220.0]):
        compliant_order(ledger, queued, month, spend / 10, spend)
    assert sum(s.value_usd for s in rows(ledger.shipments)) == pytest.approx(725.0)
    assert sum(s.quantity_h100e for s in rows(ledger.shipments)) == pytest.approx(72.5)
    per_month: dict[int, float] = {}
    for s in rows(ledger.shipments):
        per_month[s.due_month] = per_month.get(s.due_month, 0.0) + s.value_usd
    assert max(per_month.values()) <= 100.0 + 1e-9


def test_what_cannot_ship_before_the_run_ends_is_due_after_it(queued: Config) -> None:
    short = with_settings(queued, {"months": 3})
    ledger = Ledger()
    compliant_order(ledger, short, month=1, quantity_h100e=1.0e8, spend_usd=1.0e9)  # ten million months of supply
    due = [(s.due_month, s.value_usd) for s in rows(ledger.shipments)]
    assert due == [(1, 100.0), (2, 100.0), (3, pytest.approx(1.0e9 - 200.0))]
    assert sum(s.quantity_h100e for s in rows(ledger.shipments)) == pytest.approx(1.0e8)


def test_unlimited_supply_ships_after_the_lead_time(baseline: Config) -> None:
    cfg = with_settings(baseline, {"policy.compliant_chips.supply_usd_per_month": None})
    ledger = Ledger()
    compliant_order(ledger, cfg, month=3, quantity_h100e=1.0e6, spend_usd=1.0e12)
    lead = cfg.world.market.compliant_lead_time_months
    assert [(s.due_month, s.value_usd) for s in rows(ledger.shipments)] == [(3 + lead, 1.0e12)]


def test_a_cancelled_queue_frees_the_supply(queued: Config) -> None:
    ledger = Ledger()
    compliant_order(ledger, queued, month=0, quantity_h100e=30.0, spend_usd=300.0)
    cancelled = ledger.cancel(FROM_SOURCE)
    assert sum(s.value_usd for s in rows(cancelled)) == 300.0 and rows(ledger.shipments) == []
    compliant_order(ledger, queued, month=0, quantity_h100e=1.0, spend_usd=10.0)
    assert [s.due_month for s in rows(ledger.shipments)] == [0]


def test_on_order_counts_a_firms_undelivered_chips(queued: Config) -> None:
    ledger = Ledger()
    compliant_order(ledger, queued, month=0, quantity_h100e=25.0, spend_usd=250.0)
    assert ledger.on_order_h100e(2, FROM_SOURCE).tolist() == pytest.approx([25.0, 0.0])
    ledger.arrivals(1)
    assert ledger.on_order_h100e(2, FROM_SOURCE).tolist() == pytest.approx([5.0, 0.0])


def licence_world(base: Config, front_load_months: float, announced: str | None) -> Config:
    """One firm (100 H100e-months a month, no stock) that can buy only compliant H100s, $1,000 a month of
    supply at $1,000 an H100, a licence requirement from April 2025 announced in ``announced``."""
    cfg = tiny_world(base, firm=one_firm(), world__hubs__hubland__resellers=0, months=6)
    event = {"month": "2025-04", "note": "licence", "set": {"policy.compliant_chips.allowed": False}}
    if announced is not None:
        event["announced"] = announced
    return with_settings(
        cfg,
        {
            "timeline": {"licence": event},
            "behaviour.front_load_months": front_load_months,
            "world.market.compliant_lead_time_months": 0,
            "policy.compliant_chips.chip": "H100",
            "policy.compliant_chips.price_usd_per_chip": 1000.0,
            "policy.compliant_chips.supply_usd_per_month": 1000.0,
        },
    )


def test_firms_buy_ahead_of_an_announced_rule_and_lose_what_cannot_ship(baseline: Config) -> None:
    surprise = run(licence_world(baseline, front_load_months=6, announced=None)).timeseries.set_index("month")
    ahead = run(licence_world(baseline, front_load_months=6, announced="2025-01")).timeseries.set_index("month")
    # demand is a level: a surprised firm orders its 100 H100e once (and tops up what depreciates)
    assert surprise.loc["2025-01", "spend_compliant_usd"] == pytest.approx(100 * 1000.0)
    # forewarned, it tops what it has on order up to 6 months of demand (600), this month's 100 included
    assert ahead.loc["2025-01", "spend_compliant_usd"] == pytest.approx(600 * 1000.0)
    # the vendor ships $1,000 a month, one H100, whatever was ordered
    assert (ahead.loc["2025-01":"2025-03", "delivered_compliant_usd"] == 1000.0).all()
    assert surprise.loc["2025-04", "cancelled_compliant_usd"] < ahead.loc["2025-04", "cancelled_compliant_usd"]


def test_buying_ahead_tops_up_what_is_on_order_to_the_months_ahead(baseline: Config) -> None:
    model = ExportControlModel(licence_world(baseline, front_load_months=2, announced="2025-01"))
    model.step()
    firms = model.firms
    # in January: the month's 100 and 100 more, 2 months of demand in all, of which the vendor ships 1
    assert firms.on_order_h100e("compliant")[0] == pytest.approx(200 - 1)
    model.step()  # in February it tops up only what was shipped, the one H100
    assert model.timeseries()["orders_compliant_h100e"].iloc[-1] == pytest.approx(1.0)
    assert firms.on_order_h100e("compliant")[0] == pytest.approx(200 - 1)


def domestic(baseline: Config, **settings: object) -> Config:
    """10 wafers a month of 10 dies, half of them good, 2 dies and 8 HBM stacks a chip of 0.8 H100e."""
    values = {
        "start": "2025-01",
        "world.chips.Ascend910C": 0.8,
        "world.domestic.chip": "Ascend910C",
        "world.domestic.wafers_per_month": 10.0,
        "world.domestic.wafer_growth_per_month": 0.1,
        "world.domestic.wafer_growth_until": "2025-03",
        "world.domestic.dies_per_wafer": 10.0,
        "world.domestic.die_yield": 0.5,
        "world.domestic.dies_per_chip": 2,
        "world.domestic.hbm_stacks_per_month": 1000.0,
        "world.domestic.hbm_growth_per_month": 0.0,
        "world.domestic.hbm_growth_until": None,
        "world.domestic.stacks_per_chip": 8,
    }
    return with_settings(baseline, values | {f"world.domestic.{k}": v for k, v in settings.items()})


def test_domestic_supply_grows_until_its_last_month_and_then_holds(baseline: Config) -> None:
    cfg = domestic(baseline)  # logic dies bind: 25 chips, HBM allows 125
    supply = [domestic_supply_h100e(cfg, month) for month in range(5)]
    assert supply == pytest.approx([20.0, 22.0, 24.2, 24.2, 24.2])
    forever = with_settings(cfg, {"world.domestic.wafer_growth_until": None})
    assert domestic_supply_h100e(forever, 4) == pytest.approx(20.0 * 1.1**4)


def test_hbm_binds_when_it_allows_fewer_chips_than_the_dies(baseline: Config) -> None:
    cfg = domestic(baseline, hbm_stacks_per_month=176.0, hbm_growth_per_month=0.5, hbm_growth_until="2025-02")
    # HBM allows 22 chips (month 0), then 33 and 49.5; dies allow 25, 27.5, 30.25, then 30.25
    supply = [domestic_supply_h100e(cfg, month) / 0.8 for month in range(4)]
    assert supply == pytest.approx([22.0, 27.5, 30.25, 30.25])
    assert domestic_supply_h100e(domestic(baseline, hbm_stacks_per_month=0.0), 0) == 0.0


def test_firms_buy_no_more_domestic_chips_than_are_made(baseline: Config) -> None:
    """Rations are in H100e of work: 25 Ascend 910C a month are 20 H100e by TPP and do 15 of inference."""
    cfg = with_settings(domestic(baseline), {"months": 6, "world.domestic.wafer_growth_per_month": 0.0})
    frame = run(cfg).timeseries
    assert frame["domestic_supply_h100e"].tolist() == pytest.approx([20.0] * 6)
    bought = frame["orders_domestic_h100e"].to_numpy()  # nothing until the H20 licence closes that channel
    assert bought.max() <= 15.0 + 1e-9 and bought[3:].min() > 0.8 * 15.0  # scarce: most of it, never more


def test_an_inference_chip_is_rationed_by_the_inference_need_it_can_serve() -> None:
    """Firm 0 trains only, firm 1 serves inference only; 50 H100e of domestic work a month."""
    demand, inference_share, covered = np.array([100.0, 100.0]), np.array([0.0, 1.0]), (np.zeros(2), np.zeros(2))
    need, inference_need, ration = _needs(demand, inference_share, covered, 50.0, True)
    assert need.tolist() == [100.0, 100.0] and inference_need.tolist() == [0.0, 100.0]
    assert ration.tolist() == [0.0, 50.0]  # the trainer could not use an Ascend 910C
    assert _needs(demand, inference_share, covered, 50.0, False)[2].tolist() == [25.0, 25.0]  # a chip for any work


def announced_world(base: Config, rule: dict[str, object], announced: str | None, **settings: object) -> Config:
    """The tiny world (no reseller) for 4 months, with ``rule`` set from April 2025, announced in ``announced``."""
    event = {"month": "2025-04", "note": "rule", "set": rule} | ({"announced": announced} if announced else {})
    cfg = tiny_world(base, hub=one_hub(resellers=0, rental_capacity_h100e=1000.0), months=4, **settings)
    return with_settings(cfg, {"timeline": {"rule": event}})


def test_operators_import_ahead_of_an_announced_cap_and_the_hub_counts_it(baseline: Config) -> None:
    growth = {"world__operators__capacity_growth_per_month": 0.1, "world__operators__import_ahead_months": 1.0}
    caps = {"policy.country_caps.enabled": True}
    surprise = run(announced_world(baseline, caps, None, **growth)).timeseries
    ahead = run(announced_world(baseline, caps, "2025-01", **growth)).timeseries
    # 10% growth of the operator's 1,000 H100e a month; the cap (16,700 a year) never binds
    assert surprise["imports_hub_hubland_h100e"].tolist() == pytest.approx([100.0, 110.0, 121.0, 133.1])
    # forewarned, it imports in January up to where its path would be a month after February,
    # 1,000 * 1.1^2, and from there grows as before, a month ahead of its path: 1,210 * 0.1, ...
    assert ahead["imports_hub_hubland_h100e"].tolist() == pytest.approx([210.0, 121.0, 133.1, 146.41])


def test_leases_are_not_bought_ahead_of_a_rule_that_closes_legal_cloud_rental(baseline: Config) -> None:
    legal = {"policy__remote_access__kyc_required": False}  # legal cloud rental open until April
    kyc = {"policy.remote_access.kyc_required": True}
    surprise = run(announced_world(baseline, kyc, None, **legal)).timeseries
    ahead = run(announced_world(baseline, kyc, "2025-01", **legal)).timeseries
    assert surprise["orders_cloud_rental_h100e"].iloc[0] == pytest.approx(100.0)  # the month's demand
    assert ahead["orders_cloud_rental_h100e"].tolist() == surprise["orders_cloud_rental_h100e"].tolist()
