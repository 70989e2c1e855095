"""Data-centre operators that lease capacity in a hub."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mesa import Agent

from sim.capacity import Pool

if TYPE_CHECKING:
    from sim.protocols import Run, Venue


class Operator(Agent):
    """A data-centre operator serving legitimate customers and, knowingly or not, fronts.

    Each month it grows its capacity within the hub's import quota, serves its legitimate
    customers first (screening refuses some of them), and offers what is left to leases.
    It leases and releases capacity as orders are placed and leases end.

    Attributes:
        capacity_h100e: Servers it runs.
        leased_h100e: Capacity committed to leases.
        free_h100e: This month's offer to new leases.
        legit_denied_h100e_months: Legitimate demand it refused or could not serve this month.
    """

    model: Run

    def __init__(self, model: Run, authority: Venue, capacity_h100e: float) -> None:
        super().__init__(model)
        self.authority = authority
        self.hub = authority.hub
        self.capacity_h100e = capacity_h100e
        self.leased_h100e = 0.0
        self.free_h100e = 0.0
        self.legit_denied_h100e_months = 0.0

    def kyc_strictness(self) -> float:
        """Probability of refusing a customer with red flags.

        The hub's baseline, lowered by risk appetite when compute is scarce (prices are
        high), and never below the required minimum when KYC rules are on.
        """
        cfg = self.model.cfg
        base = cfg.world.hubs[self.hub].kyc_baseline
        return cfg.policy.remote_access.strictness(
            base * (1.0 - cfg.world.operators.risk_appetite * self.model.scarcity)
        )

    def refresh(self) -> None:
        """Grow capacity within the import quota, serve legitimate demand, offer the rest."""
        rules = self.model.cfg.world.operators
        wanted = self.capacity_h100e * rules.capacity_growth_per_month
        self.capacity_h100e += self.authority.import_h100e(wanted)
        legit_demand = rules.legit_demand_share * self.capacity_h100e
        screened_out = legit_demand * rules.kyc_false_positive_rate * self.kyc_strictness()
        served = min(legit_demand - screened_out, max(0.0, self.capacity_h100e - self.leased_h100e))
        self.legit_denied_h100e_months = legit_demand - served
        self.free_h100e = max(0.0, self.capacity_h100e - self.leased_h100e - served)

    def pool(self) -> Pool:
        """This month's free capacity as a pool."""
        return Pool(("operator", self.unique_id), self.free_h100e)

    def lease(self, quantity_h100e: float) -> None:
        """Commit capacity to a lease."""
        self.leased_h100e += quantity_h100e

    def release(self, quantity_h100e: float) -> None:
        """Free the capacity of a lease that ended or was lost."""
        self.leased_h100e -= quantity_h100e

    def penalise(self) -> None:
        """Caught serving a restricted firm: the vendor cuts part of its supply.

        Running leases are honoured, so the cut never takes capacity below what is leased;
        legitimate customers bear the rest of it.
        """
        cut = self.model.cfg.world.operators.capacity_cut_share
        self.capacity_h100e = max(self.leased_h100e, self.capacity_h100e * (1.0 - cut))
