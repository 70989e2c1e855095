"""Legal sales of export-compliant chips to China."""

from __future__ import annotations

from sim.levers.base import Lever
from sim.schema import field


class CompliantChips(Lever):
    """Export-compliant chips sold legally to China."""

    key = "compliant_chips"

    allowed: bool = field("Whether compliant chips may be sold to China.", switch=True)
    chip: str = field("Best chip legally sold, a key of world.chips (H20; H100 with no controls).")
    price_usd_per_chip: float | None = field(
        "Price of one compliant chip before surcharge; null: the list price of Nvidia's current chips "
        "(world.market), which falls as new generations arrive.",
        "USD/chip",
        ge=0,
    )
    surcharge_share: float = field("Surcharge (e.g. revenue share to the US).", "share", ge=0, le=5)
    home_discouragement_share: float = field(
        "Cost to the buyer of the home government's discouragement (scrutiny, political risk), as a share of "
        "the chip's monthly cost; paid to nobody.",
        "share",
        ge=0,
        le=5,
    )
    supply_usd_per_month: float | None = field(
        "What the vendor can deliver to China in a month, at the price paid; orders beyond it wait in a "
        "first-come, first-served queue; null for unlimited.",
        "USD/month",
        ge=0,
    )

    def price_usd_per_h100e(self, chip_h100e: float, list_price_usd_per_h100e: float) -> float:
        """Price of one H100e of compliant chips, surcharge included (the list price when no price is set)."""
        base = list_price_usd_per_h100e if self.price_usd_per_chip is None else self.price_usd_per_chip / chip_h100e
        return base * (1 + self.surcharge_share)
