"""Entity listing of detected parties."""

from __future__ import annotations

from sim.levers.base import Lever
from sim.schema import field


class EntityList(Lever):
    """Listing of detected parties."""

    key = "entity_list"

    list_on_detection: bool = field("List the intermediary and the firm of a detected transaction.")
    include_affiliates: bool = field("Also list every intermediary with the same owner.")
    listed_cost_multiplier: float = field(
        "Cost multiplier on a listed firm's offshore options until its new fronts register.",
        "ratio",
        ge=1,
        le=10,
    )
