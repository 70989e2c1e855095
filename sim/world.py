"""The world's markets: hub import quotas, domestic supply and the gray-market price."""

from __future__ import annotations

from sim.config import Config


def annual_cap_h100e(cfg: Config, hub: str, resellers: int) -> float | None:
    """A hub's import cap for the year: its own cap and any tier cap, whichever is lower.

    Under a tier-2 cap each reseller may import ``small_order_exemption_h100e`` a year
    outside it, counted here as extra room in the hub's quota. None means no cap.
    """
    caps_rule = cfg.policy.country_caps
    params = cfg.world.hubs[hub]
    tier_cap, exemption = None, 0.0
    if caps_rule.enabled and (not caps_rule.hubs or hub in caps_rule.hubs):
        tier_cap = {2: caps_rule.tier2_cap_h100e_per_year, 3: caps_rule.tier3_cap_h100e_per_year}.get(params.tier)
        if params.tier == 2 and tier_cap is not None:
            exemption = resellers * caps_rule.small_order_exemption_h100e
    caps = [c for c in (params.import_cap_h100e_per_year, tier_cap) if c is not None]
    return min(caps) + exemption if caps else None


class HubMarket:
    """Imports into one hub this calendar year, against its cap."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.imported_this_year_h100e = 0.0
        self.cap_h100e: float | None = None
        self.quota_pool: int | None = None

    def quota_left_h100e(self) -> float | None:
        """Room left under the cap this year; None without a cap."""
        if self.cap_h100e is None:
            return None
        return max(0.0, self.cap_h100e - self.imported_this_year_h100e)

    def draw_quota(self, wanted_h100e: float) -> float:
        """Import up to ``wanted_h100e`` within the quota and return what was granted."""
        left = self.quota_left_h100e()
        granted = wanted_h100e if left is None else min(wanted_h100e, left)
        self.imported_this_year_h100e += granted
        return granted


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
