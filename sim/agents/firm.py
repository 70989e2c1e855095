"""Restricted AI firms: the agents, and their state as one population of arrays."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from mesa import Agent
from numba import njit

from sim.channels import CHANNEL_NAMES, CHANNELS, Delivery
from sim.decision import Beliefs, allocate_month
from sim.ledger import Ledger, Shipments
from sim.option_table import FirmTerms, worth_per_h100e
from sim.sources import STOCKPILE

if TYPE_CHECKING:
    from sim.capacity import Capacities
    from sim.config import FirmClass
    from sim.option_table import OptionTable
    from sim.protocols import Run
    from sim.sources import Sources


class AIFirm(Agent):
    """A Chinese AI firm that needs compute and cannot buy advanced chips legally.

    Its stock serves demand first (inference chips its inference demand only). Each month it
    covers the rest (demand less stock, leases and orders under way, by use) with the decision
    rule of ``sim.decision``: options worth more than they cost, risk included, split by a
    logit, within capacities and its budget (:meth:`Firms.decide`, firm after firm in a random
    order). Its state (stock, ledger, listing) is its row in the :class:`Firms` population.
    """

    model: Run

    def __init__(self, model: Run, population: Firms, params: FirmClass, index: int) -> None:
        super().__init__(model)
        self.population = population
        self.params = params
        self.index = index


class Firms:
    """Every restricted firm: the agents and their state, one row per firm.

    Attributes:
        agents: The firms, in the order of the rows.
        value_usd: What an H100e-month is worth to each firm.
        budget_usd: What each firm can spend on compute a month.
        risk_aversion: Each firm's weight on expected losses.
        inference_share: Share of each firm's demand that is inference.
        trips: Data-transport trips each firm's dataset needs.
        stock_h100e: (firms x sources) chips owned, by where they came from.
        inference_stock_h100e: (firms x sources) the part of ``stock_h100e`` that is inference
            chips (``world.inference_chips``), which serve inference demand only.
        ledger: Shipments under way and leases running.
        beliefs: Each firm's beliefs about the detection probability of every cell.
        listed_until_month: Month each firm's listing ends.
        need_h100e: This month's unmet demand.
        inference_need_h100e: The part of it that is inference demand (inference chips may fill it).
        ration_h100e: This month's share of domestic supply.
    """

    def __init__(self, model: Run, sources: Sources) -> None:
        cfg = model.cfg
        self.model = model
        self.agents: list[AIFirm] = []
        for params in cfg.world.firms.classes.values():
            for _ in range(params.count):
                self.agents.append(AIFirm(model, self, params, len(self.agents)))
        params = [f.params for f in self.agents]
        transport = cfg.world.data_transport
        per_trip_tb = transport.persons_per_trip * transport.drives_per_person * transport.drive_tb
        self.value_usd = np.array([p.value_usd_per_h100e_month for p in params])
        self.budget_usd = np.array([p.budget_usd_per_month for p in params], dtype=float)
        self._demand_h100e = np.array([p.demand_h100e_months for p in params], dtype=float)
        self._demand_growth = np.array([1.0 + p.demand_growth_per_month for p in params])
        self.risk_aversion = np.array([p.risk_aversion for p in params])
        self.inference_share = np.array([p.inference_share for p in params])
        self.trips = np.array([max(1, math.ceil(p.dataset_tb / per_trip_tb)) for p in params], dtype=float)
        self.stock_h100e = np.zeros((len(params), len(sources.all)))
        self.stock_h100e[:, sources.index(STOCKPILE)] = [p.stock_h100e for p in params]
        self.inference_stock_h100e = np.zeros_like(self.stock_h100e)
        self.ledger = Ledger()
        self._sources_of = {name: sources.of_channels([name]) for name in CHANNEL_NAMES}
        self.beliefs = Beliefs(len(params), len(sources.cells), cfg.behaviour.prior_a, cfg.behaviour.prior_b)
        self.listed_until_month = np.full(len(params), -1)
        self.need_h100e = np.zeros(len(params))
        self.inference_need_h100e = np.zeros(len(params))
        self.ration_h100e = np.zeros(len(params))

    def __len__(self) -> int:
        return len(self.agents)

    def terms(self, month: int) -> FirmTerms:
        """What this month's option table needs of the firms."""
        return FirmTerms(
            self.value_usd, self.risk_aversion, self.trips, self.listed(month), self.need_h100e, self.beliefs.mean()
        )

    def decide(
        self, order: np.ndarray, table: OptionTable, capacities: Capacities, closing: frozenset[str]
    ) -> tuple[np.ndarray, ...]:
        """Every firm plans its orders for its unmet demand, then buys chips ahead through channels about to close.

        Firms decide one after the other in ``order`` (rows), drawing on the same ``capacities``.
        Anticipation (docs/ODD.md, section 7.15): once a rule that will close a channel of chips
        is announced, a firm tops up what it has on order through that channel (the chips just
        ordered included) to ``front_load_months`` months of the demand the channel serves for
        it (its inference demand for an inference chip, else all of it), through the channel's
        options worth taking (U > 0), paid from the budget of the months it buys for. Leases
        are not bought ahead: a lease runs from the month it is ordered and cannot be stocked.

        Returns:
            The orders as (firm, option, H100e), in the order decided (``allocate_month``).
        """
        behaviour = self.model.cfg.behaviour
        channels = sorted(c for c in closing if CHANNELS[c].delivers is Delivery.STOCK)
        through = np.zeros((len(channels), len(table)), dtype=bool)
        ahead_h100e = np.zeros((len(self), len(channels)))
        if channels:
            demand = self.demand_h100e(self.model.month)
        for c, channel in enumerate(channels):
            through[c] = table.channel == CHANNEL_NAMES.index(channel)
            serves = self.inference_share if table.inference[through[c]].any() else 1.0
            ahead_h100e[:, c] = behaviour.front_load_months * serves * demand - self.on_order_h100e(channel)
        inference_pool = capacities.ration("inference_need")
        return allocate_month(
            order,
            table.u,
            table.upfront_usd_per_h100e,
            table.pool_index,
            capacities.left,
            self.need_h100e,
            self.budget_usd,
            self.value_usd,
            (
                np.array([capacities.ration("domestic_ration"), inference_pool]),
                np.array([self.ration_h100e, self.inference_need_h100e]).T.copy(),
            ),
            (through, ahead_h100e, behaviour.front_load_months * self.budget_usd, inference_pool),
            behaviour.temperature,
            behaviour.min_order_share,
            behaviour.max_rounds,
        )

    def demand_h100e(self, month: int) -> np.ndarray:
        """Compute each firm wants in a month."""
        return self._demand_h100e * self._demand_growth**month

    def on_order_h100e(self, channel: str) -> np.ndarray:
        """What each firm has ordered through a channel and not yet received."""
        return self.ledger.on_order_h100e(len(self), self._sources_of[channel])

    def unmet_share(self, month: int) -> float:
        """Share of the month's demand that the firms' stock alone leaves unmet."""
        demand = self.demand_h100e(month)
        covered = np.minimum(demand, self.stock_h100e.sum(axis=1)).sum()
        return float(1.0 - covered / demand.sum()) if demand.sum() > 0 else 0.0

    def listed(self, month: int) -> np.ndarray:
        """Which firms are entity-listed, their new fronts not yet registered."""
        return month < self.listed_until_month

    def list_firm(self, index: int, month: int, listing_months: int) -> bool:
        """List a firm for ``listing_months`` from next month; return whether it was not listed before."""
        newly = not self.listed(month)[index]
        self.listed_until_month[index] = month + 1 + listing_months
        return bool(newly)

    def plan(self, month: int, domestic_supply_h100e: float) -> None:
        """Unmet demand (demand less stock, leases and orders under way, by use) and domestic rations.

        Training demand is met by chips and leases that serve any work; inference demand by
        inference chips first, then by what the others leave over. Rations are in H100e of
        the work the domestic chip does, as needs and orders are: the supply (H100e by
        training performance) times the chip's worth, shared pro rata to the need the chip can
        fill, the inference need for an inference chip (docs/ODD.md, section 7.10).
        """
        cfg = self.model.cfg
        any_work, inference = self.ledger.covered_h100e(
            self.stock_h100e.sum(axis=1), self.inference_stock_h100e.sum(axis=1)
        )
        chip = cfg.world.domestic.chip
        supply_of_work_h100e = domestic_supply_h100e * worth_per_h100e(cfg, chip)
        self.need_h100e, self.inference_need_h100e, self.ration_h100e = _needs(
            self.demand_h100e(month),
            self.inference_share,
            (any_work, inference),
            supply_of_work_h100e,
            chip in cfg.world.inference_chips,
        )  # the rows of one (3 x firms) block

    def receive(self, month: int, depreciation_per_month: float) -> Shipments:
        """Stock depreciates, then the month's shipments join it; returns them."""
        s = self.ledger.arrivals(month)
        _receive(self.stock_h100e, self.inference_stock_h100e, 1.0 - depreciation_per_month, tuple(s))
        return s

    def use(self, month: int) -> tuple[np.ndarray, np.ndarray]:
        """Compute used this month, up to demand, by use.

        Inference chips serve inference demand; the other chips and running leases serve
        training demand and then the inference demand left; each kind is drawn pro rata over
        its sources.

        Returns:
            Demand per firm, and (firms x sources) compute used.
        """
        demand = self.demand_h100e(month)
        leases = self.ledger.leases
        started = (leases.firm_index, leases.source, leases.quantity_h100e, leases.start_month <= month)
        used = _use(self.stock_h100e, self.inference_stock_h100e, started, demand, self.inference_share)
        return demand, used

    def seize(self, index: int, source: int, quantity_h100e: float) -> float:
        """Remove up to ``quantity_h100e`` of a firm's chips from a source; return what was removed."""
        held = float(self.stock_h100e[index, source])
        taken = min(quantity_h100e, held)
        if held > 0:
            self.inference_stock_h100e[index, source] *= 1.0 - taken / held
        self.stock_h100e[index, source] -= taken
        return taken


@njit(cache=True)
def _needs(demand_h100e, inference_share, covered_h100e, domestic_supply_h100e, domestic_for_inference):
    """(3 x firms) each firm's unmet demand, the inference demand in it, and its domestic ration (compiled).

    Training demand is met by what serves any work (``covered_h100e[0]``); inference demand by
    inference chips (``covered_h100e[1]``), then by what serving training demand leaves over.
    Domestic supply is rationed pro rata to the unmet demand it can serve: the inference
    demand when ``domestic_for_inference`` (an inference chip), else all of it.
    """
    any_work_h100e, inference_h100e = covered_h100e
    needs = np.empty((3, demand_h100e.size))
    need_h100e, inference_need_h100e = needs[0], needs[1]
    for f in range(demand_h100e.size):
        training_demand = (1.0 - inference_share[f]) * demand_h100e[f]
        spare = max(0.0, any_work_h100e[f] - training_demand)
        inference_need_h100e[f] = max(0.0, inference_share[f] * demand_h100e[f] - inference_h100e[f] - spare)
        need_h100e[f] = max(0.0, training_demand - any_work_h100e[f]) + inference_need_h100e[f]
    servable_h100e = inference_need_h100e if domestic_for_inference else need_h100e
    total_h100e = servable_h100e.sum()
    needs[2] = domestic_supply_h100e * (servable_h100e / total_h100e if total_h100e > 0 else servable_h100e)
    return needs


@njit(cache=True)
def _receive(stock_h100e, inference_stock_h100e, kept_share, shipments):
    """Stocks keep ``kept_share`` of themselves, then each shipment joins its firm's stock from its source (compiled).

    Inference chips join the inference stock too.
    """
    (firm, source, _), (quantity_h100e, _), inference_only = shipments
    stock_h100e *= kept_share
    inference_stock_h100e *= kept_share
    for k in range(firm.size):
        stock_h100e[firm[k], source[k]] += quantity_h100e[k]
    for k in range(firm.size):
        if inference_only[k]:
            inference_stock_h100e[firm[k], source[k]] += quantity_h100e[k]


@njit(cache=True)
def _use(stock_h100e, inference_stock_h100e, leases, demand, inference_share):
    """(firms x sources) compute used (compiled; see :meth:`Firms.use`).

    What serves any work is the chips other than inference chips, plus running leases
    (``leases``: firm, source, quantity, and whether each has started). Each firm's inference
    chips serve up to its inference demand, the rest up to what demand is left; each kind is
    drawn pro rata over its sources.
    """
    firm, source, quantity_h100e, started = leases
    any_work = stock_h100e - inference_stock_h100e
    for k in range(firm.size):
        if started[k]:
            any_work[firm[k], source[k]] += quantity_h100e[k]
    used = np.empty_like(any_work)
    for f in range(len(any_work)):
        any_total, inference_total = any_work[f].sum(), inference_stock_h100e[f].sum()
        inference_used = min(inference_share[f] * demand[f], inference_total)
        any_used = min(demand[f] - inference_used, any_total)
        inference_part = inference_used / inference_total if inference_total > 0 else 0.0
        any_part = any_used / any_total if any_total > 0 else 0.0
        used[f] = any_work[f] * any_part + inference_stock_h100e[f] * inference_part
    return used
