"""Restricted AI firms."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from mesa import Agent

from sim.config import FirmClass
from sim.decision import allocate

if TYPE_CHECKING:
    from sim.model import ExportControlModel


class AIFirm(Agent):
    """A Chinese AI firm that needs compute and cannot buy advanced chips legally.

    Its stock serves demand first. Each month it covers the rest (demand less stock, leases
    and orders under way) with the decision rule of ``sim.decision``: options worth more
    than they cost, risk included, split by a logit, within capacities and its budget.
    """

    model: ExportControlModel

    def __init__(self, model: ExportControlModel, size_class: str, params: FirmClass, index: int) -> None:
        super().__init__(model)
        self.size_class = size_class
        self.params = params
        self.index = index
        self.listed_until_month = -1

    def demand_h100e_months(self, month: int) -> float:
        """Compute wanted in a month."""
        return self.params.demand_h100e_months * (1 + self.params.demand_growth_per_month) ** month

    def trips(self) -> int:
        """Data-transport trips needed to carry the firm's dataset (at least one)."""
        transport = self.model.cfg.world.data_transport
        per_trip_tb = transport.persons_per_trip * transport.drives_per_person * transport.drive_tb
        return max(1, math.ceil(self.params.dataset_tb / per_trip_tb))

    def is_listed(self) -> bool:
        """Entity-listed, and its new fronts not yet registered."""
        return self.model.month < self.listed_until_month

    def decide(self) -> None:
        """Order compute for this month's unmet demand."""
        model = self.model
        need = float(model.need_h100e[self.index])
        if need <= 0:
            return
        behaviour = model.cfg.behaviour
        table = model.market
        model.pools.refill(("domestic",), model.domestic_ration_h100e[self.index])
        orders = allocate(
            table.u[self.index],
            need,
            self.params.budget_usd_per_month,
            table.upfront_usd_per_h100e[self.index],
            table.pool_index,
            model.pools.left,
            behaviour.temperature,
            self.params.value_usd_per_h100e_month,
            behaviour.min_order_share,
            behaviour.max_rounds,
        )
        for option_index, quantity_h100e in orders.items():
            model.place_order(self, option_index, quantity_h100e)
