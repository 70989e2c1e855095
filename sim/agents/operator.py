"""Data-centre operators that lease capacity in a hub: the agents, and their state as arrays."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from sim.agents.rows import Column, RowAgent

if TYPE_CHECKING:
    from sim.protocols import Run


class Operator(RowAgent):
    """A data-centre operator serving legitimate customers and, knowingly or not, fronts.

    Each month it grows its capacity within the hub's import quota, serves its legitimate
    customers first (screening refuses some of them), and offers what is left to leases.
    It leases and releases capacity as orders are placed and leases end. Its state is its
    row in the :class:`Operators` population.

    Attributes:
        hub: The hub it operates in.
        capacity_h100e: Servers it runs.
        leased_h100e: Capacity committed to leases.
        free_h100e: This month's offer to new leases.
    """

    model: Run
    hub: str = Column("hub", lambda population, value: population.hubs[value])
    capacity_h100e: float = Column("capacity_h100e")
    leased_h100e: float = Column("leased_h100e")
    free_h100e: float = Column("free_h100e")


class Operators:
    """Every data-centre operator, hub after hub: the agents and their state, one row per operator.

    Attributes:
        hubs: Hub names, in hub order.
        hub: Hub index of each operator (operators of a hub are consecutive rows).
        first: Row of each hub's first operator, and the row count last.
        per_hub: How many operators each hub has.
        capacity_h100e: Servers each runs.
        leased_h100e: Capacity committed to restricted firms' leases.
        free_h100e: This month's offer to new leases (capacity less leases and legitimate use served).
        kyc_strictness: This month's probability that each refuses a customer with red flags.
        legit_denied_h100e_months: Legitimate demand each refused or could not serve this month.
    """

    def __init__(self, model: Run, hubs: tuple[str, ...]) -> None:
        self.model = model
        params = [model.cfg.world.hubs[hub] for hub in hubs]
        counts = np.array([p.operators for p in params], dtype=np.intp)
        self.hubs = hubs
        self.hub = np.repeat(np.arange(len(hubs)), counts)
        self.first = np.concatenate([[0], np.cumsum(counts)])
        self.per_hub = counts
        self.capacity_h100e = np.repeat([p.rental_capacity_h100e / p.operators for p in params], counts)
        self.start_capacity_h100e = self.capacity_h100e.copy()  # where each one's growth path starts
        self.leased_h100e = np.zeros(len(self.hub))
        self.free_h100e = np.zeros(len(self.hub))
        self.legit_denied_h100e_months = np.zeros(len(self.hub))
        self.kyc_strictness = np.zeros(len(self.hub))  # set by each month's refresh
        self.agents = [Operator(model, self, row) for row in range(len(self.hub))]

    def __len__(self) -> int:
        return len(self.hub)

    def of_hub(self, hub: str) -> list[Operator]:
        """The operators of a hub."""
        h = self.hubs.index(hub)
        return self.agents[self.first[h] : self.first[h + 1]]

    def _kyc_strictness(self) -> np.ndarray:
        """Each operator's probability of refusing a customer with red flags.

        The hub's baseline, lowered by risk appetite when compute is scarce (prices are
        high), and never below the required minimum when KYC rules are on.
        """
        model = self.model
        chosen = model.hub_columns.kyc_baseline * (1.0 - model.cfg.world.operators.risk_appetite * model.scarcity)
        return model.cfg.policy.remote_access.strictness(chosen)[self.hub]

    def refresh(self, quota_left_h100e: np.ndarray, cap_announced: np.ndarray) -> np.ndarray:
        """Screen at this month's strictness, grow capacity within the import quota, serve legit demand, offer the rest.

        Decision rule (docs/ODD.md, section 7.8): an operator seeks ``capacity_growth_per_month``
        of its capacity a month; while a cap on its hub is announced and not yet in force, it
        imports ahead, at least up to where its growth path from the start would be
        ``import_ahead_months`` after next month. Operators of a hub import in row order, each
        what it wants while quota is left.

        Args:
            quota_left_h100e: Import room left in each hub (inf: no cap).
            cap_announced: Which hubs a rule announced for later caps (or caps lower).

        Returns:
            What the operators of each hub imported.
        """
        rules = self.model.cfg.world.operators
        self.kyc_strictness = self._kyc_strictness()
        growth = rules.capacity_growth_per_month
        wanted_h100e = self.capacity_h100e * growth
        ahead = cap_announced[self.hub]
        if ahead.any():
            months = self.model.month + 1 + rules.import_ahead_months
            path_h100e = self.start_capacity_h100e[ahead] * (1.0 + growth) ** months
            wanted_h100e[ahead] = np.maximum(wanted_h100e[ahead], path_h100e - self.capacity_h100e[ahead])
        imported_h100e, (self.legit_denied_h100e_months, self.free_h100e) = _refresh(
            (self.capacity_h100e, self.leased_h100e, self.kyc_strictness, wanted_h100e),
            (self.hub, self.first),
            quota_left_h100e,
            (rules.legit_demand_share, rules.kyc_false_positive_rate),
        )
        return imported_h100e

    def lease(self, rows: np.ndarray, quantity_h100e: np.ndarray) -> None:
        """Commit capacity to leases (rows of -1, chips, are skipped)."""
        _add_by_row(self.leased_h100e, rows, quantity_h100e)

    def release(self, rows: np.ndarray, quantity_h100e: np.ndarray) -> None:
        """Free the capacity of leases that ended or were lost (rows of -1 are skipped)."""
        self.lease(rows, -quantity_h100e)

    def penalise(self, row: int) -> None:
        """Caught serving a restricted firm: the vendor cuts part of its supply (``capacity_cut_share``).

        Running leases are honoured, so the cut never takes capacity below what is leased;
        legitimate customers bear the rest of it.
        """
        cut = self.model.cfg.world.operators.capacity_cut_share
        self.capacity_h100e[row] = max(self.leased_h100e[row], self.capacity_h100e[row] * (1.0 - cut))


@njit(cache=True)
def _add_by_row(column, rows, quantity):
    """Add each quantity to its row of ``column``, in order; rows of -1 are skipped (compiled)."""
    for k in range(rows.size):
        if rows[k] >= 0:
            column[rows[k]] += quantity[k]


@njit(cache=True)
def _refresh(operators, hubs, quota_left_h100e, rules):
    """The loop of :meth:`Operators.refresh`, compiled; grows ``capacity_h100e`` in place by what each wants.

    Returns:
        What each hub imported, and (2 x operators) each operator's legitimate demand denied and free capacity.
    """
    capacity_h100e, leased_h100e, kyc_strictness, wanted_h100e = operators
    hub, first = hubs
    legit_demand_share, kyc_false_positive_rate = rules
    imported_h100e = np.zeros(len(quota_left_h100e))
    denied_and_free_h100e = np.empty((2, hub.size))
    denied_h100e, free_h100e = denied_and_free_h100e[0], denied_and_free_h100e[1]
    cumulative, hub_start = 0.0, 0.0  # what all operators before want, and at the hub's first
    for row in range(hub.size):
        wanted = wanted_h100e[row]
        cumulative += wanted
        before = cumulative - wanted
        if row == first[hub[row]]:
            hub_start = before
        granted = min(max(quota_left_h100e[hub[row]] - (before - hub_start), 0.0), wanted)
        capacity_h100e[row] += granted
        imported_h100e[hub[row]] += granted
        free = capacity_h100e[row] - leased_h100e[row]
        legit_demand = legit_demand_share * capacity_h100e[row]
        screened_out = legit_demand * kyc_false_positive_rate * kyc_strictness[row]
        served = min(legit_demand - screened_out, max(0.0, free))
        denied_h100e[row] = legit_demand - served
        free_h100e[row] = max(0.0, free - served)
    return imported_h100e, denied_and_free_h100e
