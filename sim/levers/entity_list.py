"""Entity listing of detected parties."""

from __future__ import annotations

from sim.levers.base import Lever
from sim.schema import field


class EntityList(Lever):
    """Listing of detected parties."""

    key = "entity_list"

    list_on_detection: bool = field("List the intermediary and the firm of a detected transaction.", switch=True)
    include_affiliates: bool = field("Also list every intermediary with the same owner.")
    firm_listing_months: int = field(
        "Months a detected firm stays on the entity list (entries are rarely removed).", "months", ge=0, le=600
    )
    listed_cost_multiplier: float = field(
        "Cost multiplier on a listed firm's offshore options while it is listed (it must use new fronts).",
        "ratio",
        ge=1,
        le=10,
    )
