"""The world: hubs (their parameters as arrays, routes between them) and the markets at home."""

from __future__ import annotations

import math

import numpy as np

from sim.config import Config, Hub
from sim.timeline import month_index

EARTH_RADIUS_KM = 6371.0


class HubColumns:
    """Any numeric parameter of every hub as an array in hub order, built on first use.

    ``HubColumns(cfg.world.hubs).cooperation`` is every hub's cooperation; a parameter that is
    None in a hub (no import cap) is NaN there.
    """

    def __init__(self, hubs: dict[str, Hub]) -> None:
        self._hubs = tuple(hubs.values())

    def __getattr__(self, name: str) -> np.ndarray:
        if name.startswith("_"):
            raise AttributeError(name)
        column = np.array([getattr(hub, name) for hub in self._hubs], dtype=float)
        setattr(self, name, column)
        return column


def route_km(a: Hub, b: Hub) -> float:
    """Great-circle distance between two hubs' data-centre clusters."""
    lat_a, lat_b = math.radians(a.latitude_deg), math.radians(b.latitude_deg)
    d_lat, d_lon = lat_b - lat_a, math.radians(b.longitude_deg - a.longitude_deg)
    h = math.sin(d_lat / 2) ** 2 + math.cos(lat_a) * math.cos(lat_b) * math.sin(d_lon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def _grown(level: float, growth_per_month: float, until: str | None, cfg: Config, month: int) -> float:
    """``level`` grown at ``growth_per_month`` for ``month`` months, held after ``until``."""
    months = month if until is None else min(month, month_index(cfg.start, until))
    return level * (1 + growth_per_month) ** max(0, months)


def domestic_supply_h100e(cfg: Config, month: int) -> float:
    """National supply of domestic accelerators this month: logic dies or HBM, whichever binds.

    Chips = min(wafers x dies per wafer x yield / dies per chip, HBM stacks / stacks per chip),
    each input growing to its own last month of growth; counted in H100e of the domestic chip.
    """
    d = cfg.world.domestic
    wafers = _grown(d.wafers_per_month, d.wafer_growth_per_month, d.wafer_growth_until, cfg, month)
    stacks = _grown(d.hbm_stacks_per_month, d.hbm_growth_per_month, d.hbm_growth_until, cfg, month)
    chips = min(wafers * d.dies_per_wafer * d.die_yield / d.dies_per_chip, stacks / d.stacks_per_chip)
    return chips * cfg.world.chips[d.chip]


def list_price_usd_per_h100e(cfg: Config, month: int) -> float:
    """List price of an H100e of Nvidia's chips outside China, falling as newer generations arrive."""
    market = cfg.world.market
    return market.h100_price_usd * (1 - market.list_price_decline_per_month) ** month


def gray_price_usd_per_h100e(
    cfg: Config, month: int, delivered_h100e: float, scarcity: float, seized_share: float
) -> float:
    """Gray-market price of an H100e in a hub: the list price times a premium.

    The premium over list price halves every ``premium_halving_h100e`` of smuggled chips
    delivered (more sellers, cheaper routes) and rises with scarcity and seizures.

    Args:
        cfg: The config in force.
        month: Months since the start.
        delivered_h100e: Smuggled chips delivered to firms since the start.
        scarcity: Last month's unmet share of demand, in [0, 1].
        seized_share: Last month's seized share of smuggled volume, in [0, 1].
    """
    market = cfg.world.market
    over_list = market.gray_premium - 1
    if market.premium_halving_h100e is not None:
        over_list *= 0.5 ** (delivered_h100e / market.premium_halving_h100e)
    return (
        list_price_usd_per_h100e(cfg, month)
        * (1 + over_list)
        * (1 + market.scarcity_elasticity * scarcity)
        * (1 + market.seizure_elasticity * seized_share)
    )
