"""The gray market's price (docs/ODD.md, section 7.1) and Hong Kong's tier (section 5.3)."""

from __future__ import annotations

import pytest

from sim.channels import CHANNELS
from sim.config import Config
from sim.loading import load_config
from sim.model import ExportControlModel
from sim.schema import with_settings
from sim.world import gray_price_usd_per_h100e, list_price_usd_per_h100e


@pytest.fixture
def market(baseline: Config) -> Config:
    """List price $1,000 falling 10% a month, a 3x premium halving every 100 H100e, no risk terms."""
    return with_settings(
        baseline,
        {
            "world.market.h100_price_usd": 1000.0,
            "world.market.list_price_decline_per_month": 0.1,
            "world.market.gray_premium": 3.0,
            "world.market.premium_halving_h100e": 100.0,
            "world.market.scarcity_elasticity": 0.5,
            "world.market.seizure_elasticity": 2.0,
        },
    )


def test_the_list_price_falls_with_new_generations(market: Config) -> None:
    assert [list_price_usd_per_h100e(market, m) for m in range(3)] == pytest.approx([1000.0, 900.0, 810.0])


def test_the_premium_over_list_halves_with_each_halving_volume(market: Config) -> None:
    # month 2: list 810; premium over list 2 halved once by 100 H100e delivered: 810 x 2
    assert gray_price_usd_per_h100e(market, 2, 100.0, 0.0, 0.0) == pytest.approx(1620.0)
    assert gray_price_usd_per_h100e(market, 2, 200.0, 0.0, 0.0) == pytest.approx(810.0 * 1.5)
    # scarcity 0.2 and a seized share of 0.1 multiply it by 1.1 and 1.2
    assert gray_price_usd_per_h100e(market, 2, 100.0, 0.2, 0.1) == pytest.approx(1620.0 * 1.1 * 1.2)


def test_without_a_halving_volume_the_premium_holds(market: Config) -> None:
    held = with_settings(market, {"world.market.premium_halving_h100e": None})
    assert gray_price_usd_per_h100e(held, 0, 1.0e9, 0.0, 0.0) == pytest.approx(3000.0)


def test_the_gray_price_never_falls_below_the_list_price(market: Config) -> None:
    for delivered in (0.0, 50.0, 1.0e4, 1.0e9):
        assert gray_price_usd_per_h100e(market, 5, delivered, 0.0, 0.0) >= list_price_usd_per_h100e(market, 5)


def test_the_model_prices_with_what_smugglers_delivered_so_far(baseline: Config) -> None:
    model = ExportControlModel(baseline)
    for _ in range(6):
        model.step()
    ts = model.timeseries()
    row = ts.iloc[-1]
    cfg = model.cfg
    expected = gray_price_usd_per_h100e(cfg, 5, ts["delivered_smuggled_h100e"].iloc[:-1].sum(), 0, 0)
    assert model.smuggled_delivered_h100e == pytest.approx(ts["delivered_smuggled_h100e"].sum())
    # the month's price is the premium-and-list part times the risk terms (each >= 1)
    assert row["gray_price_usd_per_h100e"] >= expected
    assert row["list_price_usd_per_h100e"] == pytest.approx(list_price_usd_per_h100e(cfg, 5))


def test_hong_kong_is_closed_to_smuggling_under_a_tier_3_cap_of_zero(baseline: Config) -> None:
    assert baseline.world.hubs["hong_kong"].tier == 3
    capped = with_settings(
        baseline, {"policy.country_caps.enabled": True, "policy.country_caps.tier3_cap_h100e_per_year": 0}
    )
    smuggled = {}
    for cfg in (baseline, capped):
        model = ExportControlModel(cfg)
        for _ in range(6):
            model.step()
        smuggled[cfg is capped] = model.timeseries()["smuggled_hub_hong_kong_h100e"].sum()
    assert smuggled[False] > 0
    assert smuggled[True] == 0


def test_without_controls_chips_sell_at_the_falling_list_price() -> None:
    model = ExportControlModel(load_config(["scenario=no_controls"]))
    for month in range(13):
        model.step()
        compliant = CHANNELS["compliant"]().options(model)
        assert compliant.upfront_usd_per_h100e[0] == pytest.approx(list_price_usd_per_h100e(model.cfg, month))
