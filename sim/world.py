"""The world's markets at home: domestic supply and the gray-market price."""

from __future__ import annotations

from sim.config import Config


def domestic_supply_h100e(cfg: Config, month: int) -> float:
    """National supply of domestic accelerators open to the modelled firms this month."""
    domestic = cfg.world.domestic
    return domestic.supply_h100e_per_month * (1 + domestic.growth_per_month) ** month


def gray_price_usd_per_h100e(cfg: Config, scarcity: float, seized_share: float) -> float:
    """Gray-market price of an H100e in a hub, rising with scarcity and seizures.

    Args:
        cfg: The config in force.
        scarcity: Last month's unmet share of demand, in [0, 1].
        seized_share: Last month's seized share of smuggled volume, in [0, 1].
    """
    market = cfg.world.market
    return (
        market.h100_price_usd
        * market.gray_premium
        * (1 + market.scarcity_elasticity * scarcity)
        * (1 + market.seizure_elasticity * seized_share)
    )
