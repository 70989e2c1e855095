"""Data-centre operators that lease capacity in a hub."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mesa import Agent

if TYPE_CHECKING:
    from sim.model import ExportControlModel


class Operator(Agent):
    """A data-centre operator serving legitimate customers and, knowingly or not, fronts.

    Each month it grows its capacity within the hub's import quota, serves its legitimate
    customers first (screening refuses some of them), and offers what is left to leases.
    """

    model: ExportControlModel

    def __init__(self, model: ExportControlModel, hub: str, capacity_h100e: float) -> None:
        super().__init__(model)
        self.hub = hub
        self.capacity_h100e = capacity_h100e
        self.leased_h100e = 0.0
        self.legit_denied_h100e_months = 0.0
        self.pool = 0

    def kyc_strictness(self) -> float:
        """Probability of refusing a customer with red flags.

        The hub's baseline, lowered by risk appetite when compute is scarce (prices are
        high), and never below the required minimum when KYC rules are on.
        """
        cfg = self.model.cfg
        base = cfg.world.hubs[self.hub].kyc_baseline
        strictness = base * (1.0 - cfg.world.operators.risk_appetite * self.model.scarcity)
        if cfg.policy.remote_access.kyc_required:
            strictness = max(strictness, cfg.policy.remote_access.kyc_min_strictness)
        return strictness

    def step(self) -> None:
        """Grow capacity within the import quota, serve legitimate demand, offer the rest."""
        rules = self.model.cfg.world.operators
        wanted = self.capacity_h100e * rules.capacity_growth_per_month
        self.capacity_h100e += self.model.hubs[self.hub].draw_quota(wanted)
        legit_demand = rules.legit_demand_share * self.capacity_h100e
        screened_out = legit_demand * rules.kyc_false_positive_rate * self.kyc_strictness()
        served = min(legit_demand - screened_out, max(0.0, self.capacity_h100e - self.leased_h100e))
        self.legit_denied_h100e_months = legit_demand - served
        free_h100e = max(0.0, self.capacity_h100e - self.leased_h100e - served)
        self.pool = self.model.pools.add(("operator", self.unique_id), free_h100e)

    def penalise(self) -> None:
        """Caught serving a restricted firm: the vendor cuts part of its supply.

        Running leases are honoured, so the cut never takes capacity below what is leased;
        legitimate customers bear the rest of it.
        """
        cut = self.model.cfg.world.operators.capacity_cut_share
        self.capacity_h100e = max(self.leased_h100e, self.capacity_h100e * (1.0 - cut))
