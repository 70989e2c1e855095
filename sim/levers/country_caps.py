"""Import caps per country tier (the AI Diffusion Rule)."""

from __future__ import annotations

from typing import Annotated

from sim.levers.base import Lever
from sim.schema import READ_ONLY, field


class CountryCaps(Lever):
    """Annual import caps per country tier (the AI Diffusion Rule)."""

    key = "country_caps"

    enabled: bool = field("Whether tier caps apply.", switch=True)
    tier2_cap_h100e_per_year: float | None = field("Annual cap for a tier-2 hub; null for none.", "H100e/year", ge=0)
    tier3_cap_h100e_per_year: float | None = field("Annual cap for a tier-3 hub; null for none.", "H100e/year", ge=0)
    hubs: Annotated[list[str], READ_ONLY] = field("Hubs the caps apply to; empty for every hub.")
    small_order_exemption_h100e: float = field(
        "Volume each reseller may import a year without counting against the cap.", "H100e/year", ge=0
    )

    def annual_cap_h100e(self, hub: str, tier: int, own_cap_h100e: float | None, importers: int) -> float | None:
        """A hub's import cap for the year: its own cap and any tier cap, whichever is lower.

        Under a tier-2 cap each importer (reseller) may import ``small_order_exemption_h100e``
        a year outside it, counted here as extra room in the hub's quota. None means no cap.
        """
        tier_cap, exemption = None, 0.0
        if self.enabled and (not self.hubs or hub in self.hubs):
            tier_cap = {2: self.tier2_cap_h100e_per_year, 3: self.tier3_cap_h100e_per_year}.get(tier)
            if tier == 2 and tier_cap is not None:
                exemption = importers * self.small_order_exemption_h100e
        caps = [c for c in (own_cap_h100e, tier_cap) if c is not None]
        return min(caps) + exemption if caps else None
