"""The world: routes between hubs, and the markets at home (domestic supply, gray-market price)."""

from __future__ import annotations

import math

from sim.config import Config, Hub
from sim.timeline import month_index

EARTH_RADIUS_KM = 6371.0


def route_km(a: Hub, b: Hub) -> float:
    """Great-circle distance between two hubs' data-centre clusters."""
    lat_a, lat_b = math.radians(a.latitude_deg), math.radians(b.latitude_deg)
    d_lat, d_lon = lat_b - lat_a, math.radians(b.longitude_deg - a.longitude_deg)
    h = math.sin(d_lat / 2) ** 2 + math.cos(lat_a) * math.cos(lat_b) * math.sin(d_lon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def domestic_supply_h100e(cfg: Config, month: int) -> float:
    """National supply of domestic accelerators open to the modelled firms this month.

    It grows from ``supply_h100e_per_month`` at ``growth_per_month`` up to ``growth_until``
    and stays at that month's level after it.
    """
    domestic = cfg.world.domestic
    growing = month if domestic.growth_until is None else min(month, month_index(cfg.start, domestic.growth_until))
    return domestic.supply_h100e_per_month * (1 + domestic.growth_per_month) ** max(0, growing)


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
