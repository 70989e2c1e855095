"""The Mesa model: one step is one month, phase by phase (DESIGN section 8)."""

from __future__ import annotations

import numpy as np
from mesa import Model

from sim.agents import AIFirm, Intermediary, IntermediaryKind, LocalAuthority, Operator, Regulator
from sim.capacity import Pools
from sim.channels import CHANNELS, ILLICIT_CHANNELS, OFFSHORE_CHANNELS, Checkpoint, Delivery
from sim.config import Config, Ownership
from sim.decision import Beliefs
from sim.market import OptionTable
from sim.metrics import MonthTally, month_row
from sim.timeline import compile_timeline
from sim.transactions import Lease, Shipment, Transaction, first_detection, with_trips
from sim.world import HubMarket, annual_cap_h100e, domestic_supply_h100e, gray_price_usd_per_h100e

#: Where a firm's compute comes from: stock bought before the rules, or a channel (and hub).
HOME_SOURCES = ("stockpile", "domestic", "compliant")


class ExportControlModel(Model):
    """Export-control enforcement on AI chips, monthly, for one validated config.

    Attributes:
        cfg: The config in force this month (timeline events replace it).
        month: Months since ``cfg.start`` (0 in the first step).
        rows: One metrics row per month simulated.
    """

    def __init__(self, cfg: Config) -> None:
        super().__init__(rng=cfg.seed)
        self.cfg = cfg
        self.month = 0
        self._timeline = compile_timeline(cfg)
        hubs = list(cfg.world.hubs)
        self.hub_names = tuple(hubs)
        self.channels = [cls() for cls in CHANNELS.values()]
        self.sources = (*HOME_SOURCES, *(f"{c}:{h}" for c in OFFSHORE_CHANNELS for h in hubs))
        keys = [(s, None) for s in HOME_SOURCES] + [(c, h) for c in OFFSHORE_CHANNELS for h in hubs]
        self._source_index = {key: i for i, key in enumerate(keys)}
        self._cell_index = {(c, h): i for i, (c, h) in enumerate((c, h) for c in ILLICIT_CHANNELS for h in hubs)}

        self.hubs = {h: HubMarket(h) for h in hubs}
        self.authorities = {h: LocalAuthority(self, h) for h in hubs}
        self.regulator = Regulator(self, hubs)
        self._operators: dict[str, list[Operator]] = {}
        for hub, params in cfg.world.hubs.items():
            share = params.rental_capacity_h100e / params.operators
            self._operators[hub] = [Operator(self, hub, share) for _ in range(params.operators)]
        self._intermediaries: dict[tuple[str, str], list[Intermediary]] = {
            (kind.value, hub): [] for kind in IntermediaryKind for hub in hubs
        }
        for hub, params in cfg.world.hubs.items():
            for kind, count in (
                (IntermediaryKind.RESELLER, params.resellers),
                (IntermediaryKind.FRONT_COMPANY, params.front_companies),
                (IntermediaryKind.LOGISTICS_BROKER, params.logistics_brokers),
            ):
                for _ in range(count):
                    self._register_intermediary(kind, hub, usable_from_month=0)

        self.firms: list[AIFirm] = []
        for size_class, params in cfg.world.firms.classes.items():
            for _ in range(params.count):
                self.firms.append(AIFirm(self, size_class, params, len(self.firms)))
        n_firms = len(self.firms)
        self.firm_value_usd = np.array([f.params.value_usd_per_h100e_month for f in self.firms])
        self.firm_risk_aversion = np.array([f.params.risk_aversion for f in self.firms])
        self.firm_trips = np.array([f.trips() for f in self.firms], dtype=float)
        self.stock_h100e = np.zeros((n_firms, len(self.sources)))
        self.stock_h100e[:, 0] = [f.params.stock_h100e for f in self.firms]
        self.beliefs = Beliefs(n_firms, len(self._cell_index), cfg.behaviour.prior_a, cfg.behaviour.prior_b)

        self.shipments: list[Shipment] = []
        self.leases: list[Lease] = []
        self.transactions: list[Transaction] = []
        self.listed_entities = 0
        self.first_detection_month = -1
        self.scarcity = 0.0
        self.seized_share = 0.0
        self.gray_price_usd_per_h100e = 0.0
        self.domestic_supply_h100e = 0.0
        self.need_h100e = np.zeros(n_firms)
        self.domestic_ration_h100e = np.zeros(n_firms)
        self.pools = Pools()
        self.market: OptionTable | None = None
        self.tally = MonthTally(self)
        self.rows: list[dict[str, float]] = []

    # ------------------------------------------------------------------ look-ups

    def usable_intermediaries(self, channel: str, hub: str) -> list[Intermediary]:
        """Unlisted intermediaries serving a channel in a hub, registered long enough to trade."""
        return [i for i in self._intermediaries[(channel, hub)] if i.is_usable()]

    def operators_in(self, hub: str) -> list[Operator]:
        """The hub's data-centre operators."""
        return self._operators[hub]

    def cell_index(self, channel: str, hub: str | None) -> int:
        """Index of an (illicit channel, hub) belief cell."""
        return self._cell_index[(channel, hub)]

    def source_index(self, channel: str, hub: str | None) -> int:
        """Index of a compute source: a home channel, or an offshore channel in a hub."""
        return self._source_index[(channel, hub)]

    def firm_listed(self) -> np.ndarray:
        """Which firms are entity-listed this month."""
        return np.array([f.is_listed() for f in self.firms], dtype=bool)

    # ------------------------------------------------------------------- the month

    def step(self) -> None:
        """One month, in the order of DESIGN section 8."""
        self.month = self.steps - 1
        self.tally = MonthTally(self)
        self._apply_rule_changes()
        self._refresh_supply()
        self._trade()
        self._resolve_transactions()
        self._deliver_and_use()
        self._learn()
        self.rows.append(month_row(self))

    def _apply_rule_changes(self) -> None:
        """Phase 1: timeline events apply; the regulator escalates and allocates its checks."""
        if self.month in self._timeline:
            self.cfg = self._timeline[self.month]
        self.regulator.step()

    def _refresh_supply(self) -> None:
        """Phase 2: domestic supply, import quotas and registrations refresh; operators serve."""
        cfg = self.cfg
        self.pools = Pools()
        if self.month > 0 and (month_of_year(cfg.start, self.month) == 1):
            for hub in self.hubs.values():
                hub.imported_this_year_h100e = 0.0
        self._end_leases()
        self._close_idle_intermediaries()
        self._register_new_intermediaries()
        for name, hub in self.hubs.items():
            hub.cap_h100e = annual_cap_h100e(cfg, name, len(self.usable_intermediaries("smuggling", name)))
        self.domestic_supply_h100e = domestic_supply_h100e(cfg, self.month)
        self.gray_price_usd_per_h100e = gray_price_usd_per_h100e(cfg, self.scarcity, self.seized_share)
        for operators in self._operators.values():
            for operator in operators:
                operator.step()
        for name, hub in self.hubs.items():
            left = hub.quota_left_h100e()
            hub.quota_pool = None if left is None else self.pools.add(("quota", name), left)
        for intermediaries in self._intermediaries.values():
            for intermediary in intermediaries:
                intermediary.refresh_capacity()

    def _end_leases(self) -> None:
        """Leases that ran their term free their operators' capacity."""
        for lease in self.leases:
            if lease.end_month <= self.month:
                lease.operator.leased_h100e -= lease.quantity_h100e
        self.leases = [lease for lease in self.leases if lease.end_month > self.month]

    def _close_idle_intermediaries(self) -> None:
        for group in self._intermediaries.values():
            for intermediary in [i for i in group if i.is_idle_too_long()]:
                group.remove(intermediary)
                intermediary.remove()

    def _register_new_intermediaries(self) -> None:
        """Entrants pick a kind at random and a hub by its enforcement climate.

        ``registration_rate_per_month`` entrants per hub arrive on average; each picks hub h
        with weight ``(1 - risk_h) ** entry_risk_sensitivity``, where risk_h is last month's
        mean detection probability of that kind's options in h (the mean over hubs where it
        had none), so networks move away from hubs that crack down.
        """
        rules = self.cfg.world.intermediaries
        kinds = list(IntermediaryKind)
        entrants = self.rng.poisson(rules.registration_rate_per_month * len(self.hub_names))
        if entrants == 0:
            return
        cumulative = ((1.0 - self._entry_risk()) ** rules.entry_risk_sensitivity).cumsum(axis=1)
        for _ in range(entrants):
            kind = kinds[int(self.rng.integers(len(kinds)))]
            row = cumulative[ILLICIT_CHANNELS.index(kind.value)]
            hub = self.hub_names[int(np.searchsorted(row, self.rng.random() * row[-1], side="right"))]
            self._register_intermediary(kind, hub, usable_from_month=self.month + rules.registration_delay_months)

    def _entry_risk(self) -> np.ndarray:
        """Last month's mean detection probability of each illicit channel's options, per hub.

        Rows follow ``ILLICIT_CHANNELS``, columns the hubs; a hub with no option of a channel
        takes the channel's mean over the other hubs (0 before any option existed).
        """
        shape = (len(ILLICIT_CHANNELS), len(self.hub_names))
        risk = np.full(shape, np.nan) if self.market is None else self._cell_true_pi().mean(axis=0).reshape(shape)
        known = ~np.isnan(risk)
        row_mean = np.divide(
            np.where(known, risk, 0.0).sum(axis=1), known.sum(axis=1), out=np.zeros(len(risk)), where=known.any(axis=1)
        )
        return np.where(known, risk, row_mean[:, None])

    def _register_intermediary(self, kind: IntermediaryKind, hub: str, usable_from_month: int) -> None:
        rules = self.cfg.world.intermediaries
        group = int(self.rng.integers(rules.owner_groups))
        if self.rng.random() < rules.local_front_share:
            ownership, owner = Ownership.LOCAL_FRONT, ("local", hub, group)
        else:
            ownership, owner = Ownership.SUBSIDIARY, ("parent", group)
        operators = self._operators[hub]
        operator = None
        if kind is not IntermediaryKind.RESELLER:
            operator = operators[int(self.rng.integers(len(operators)))]
        agent = Intermediary(self, kind, hub, ownership, owner, usable_from_month, operator)
        self._intermediaries[(kind.value, hub)].append(agent)

    def _trade(self) -> None:
        """Phase 3: firms, in random order, decide and place their orders."""
        self.need_h100e = self._unmet_demand_h100e()
        total_need = self.need_h100e.sum()
        share = self.need_h100e / total_need if total_need > 0 else self.need_h100e
        self.domestic_ration_h100e = self.domestic_supply_h100e * share
        self.transactions = []
        self.market = OptionTable(self, self.need_h100e)
        self.agents_by_type[AIFirm].shuffle_do("decide")

    def _unmet_demand_h100e(self) -> np.ndarray:
        covered = self.stock_h100e.sum(axis=1)
        for lease in self.leases:
            covered[lease.firm_index] += lease.quantity_h100e
        for shipment in self.shipments:
            covered[shipment.firm_index] += shipment.quantity_h100e
        demand = np.array([f.demand_h100e_months(self.month) for f in self.firms])
        return np.maximum(0.0, demand - covered)

    def place_order(self, firm: AIFirm, option_index: int, quantity_h100e: float) -> None:
        """Record a firm's order; it commits the intermediary's and operator's capacity."""
        option = self.market.options[option_index]
        checkpoints = with_trips(option.checkpoints, int(self.firm_trips[firm.index]))
        self.transactions.append(Transaction(firm, option, quantity_h100e, checkpoints))
        if option.intermediary is not None:
            option.intermediary.handled_h100e += quantity_h100e
            option.intermediary.last_active_month = self.month
        if option.operator is not None:
            option.operator.leased_h100e += quantity_h100e
        if option.channel.name == "smuggling":
            self.hubs[option.hub].draw_quota(quantity_h100e)

    def _resolve_transactions(self) -> None:
        """Phase 4: transactions pass their checkpoints; detections have consequences."""
        for t in self.transactions:
            detected_at = first_detection(t.checkpoints, self.rng)
            self.tally.record_attempt(t, detected_at is not None)
            if t.option.hub is not None:
                self.regulator.observe(t.option.channel.name, t.option.hub, t.quantity_h100e, detected_at is not None)
            if detected_at is not None:
                self._on_detection(t, detected_at)
            if detected_at is None or not self.cfg.policy.penalties.seizure:
                self._deliver_later(t)
            elif t.option.operator is not None:
                t.option.operator.leased_h100e -= t.quantity_h100e

    def _on_detection(self, t: Transaction, checkpoint: Checkpoint) -> None:
        """Seize, fine, list and make news of a detected transaction."""
        policy = self.cfg.policy
        option = t.option
        if self.first_detection_month < 0:
            self.first_detection_month = self.month
        self.tally.fines_usd += (
            policy.penalties.fine_usd_per_h100e_month * t.quantity_h100e * option.channel.months_delivered(self)
        )
        if policy.penalties.seizure:
            self.tally.record_seizure(t)
        if checkpoint.name == "regulator_audit" and option.operator is not None:
            option.operator.penalise()
            self.tally.fines_usd += policy.penalties.operator_fine_usd
        if policy.entity_list.list_on_detection:
            self._list(option.intermediary, policy.entity_list.include_affiliates)
            if not t.firm.is_listed():
                self.listed_entities += 1
            t.firm.listed_until_month = self.month + 1 + self.cfg.world.intermediaries.registration_delay_months

    def _list(self, intermediary: Intermediary, include_affiliates: bool) -> None:
        """Entity-list an intermediary (and its affiliates): it leaves the market."""
        if include_affiliates:
            targets = [i for group in self._intermediaries.values() for i in group if i.owner == intermediary.owner]
        else:
            targets = [intermediary]
        for target in targets:
            if target.listed:  # already listed by an earlier detection this month
                continue
            target.listed = True
            self._intermediaries[(target.kind.value, target.hub)].remove(target)
            target.remove()
            self.listed_entities += 1

    def _deliver_later(self, t: Transaction) -> None:
        option = t.option
        source = self.source_index(option.channel.name, option.hub)
        start = self.month + option.channel.lead_time_months(self)
        if option.channel.delivers is Delivery.STOCK:
            self.shipments.append(Shipment(t.firm.index, source, t.quantity_h100e, start))
        else:
            end = start + self.cfg.world.market.lease_months
            self.leases.append(Lease(t.firm.index, source, option.operator, t.quantity_h100e, start, end))

    def _deliver_and_use(self) -> None:
        """Phase 5: chips depreciate and arrive, leases run, firms use their compute."""
        self.stock_h100e *= 1.0 - self.cfg.world.firms.stock_depreciation_per_month
        arriving = [s for s in self.shipments if s.due_month <= self.month]
        self.shipments = [s for s in self.shipments if s.due_month > self.month]
        for s in arriving:
            self.stock_h100e[s.firm_index, s.source] += s.quantity_h100e
            self.tally.record_arrival(s)
        flow = np.zeros_like(self.stock_h100e)
        for lease in self.leases:
            if lease.start_month <= self.month:
                flow[lease.firm_index, lease.source] += lease.quantity_h100e
        available = self.stock_h100e + flow
        demand = np.array([f.demand_h100e_months(self.month) for f in self.firms])
        total = available.sum(axis=1)
        used_share = np.divide(np.minimum(demand, total), total, out=np.zeros_like(total), where=total > 0)
        self.tally.record_use(demand, available * used_share[:, None])
        adjustment = self.cfg.world.market.price_adjustment
        self.scarcity += adjustment * (1.0 - self.tally.access_ratio() - self.scarcity)
        self.seized_share += adjustment * (self.tally.seized_share() - self.seized_share)

    def _learn(self) -> None:
        """Phase 6: beliefs forget, then learn from own outcomes, public detections and reports."""
        behaviour = self.cfg.behaviour
        if behaviour.learning:
            self.beliefs.update(
                behaviour.belief_decay,
                self.tally.own_detected,
                self.tally.own_passed,
                self.tally.public_detections,
                behaviour.news_weight,
                behaviour.news_trials,
            )
            if behaviour.climate_weight > 0:
                self.beliefs.observe_climate(self._cell_true_pi(), behaviour.climate_weight)

    def _cell_true_pi(self) -> np.ndarray:
        """This month's mean true detection probability of each firm's options per cell (NaN: none)."""
        cells = self.market.cell
        illicit = cells >= 0
        one_hot = np.zeros((illicit.sum(), len(self._cell_index)))
        one_hot[np.arange(illicit.sum()), cells[illicit]] = 1.0
        counts = one_hot.sum(axis=0)
        sums = self.market.true_pi[:, illicit] @ one_hot
        return np.divide(sums, counts, out=np.full_like(sums, np.nan), where=counts > 0)


def month_of_year(start: str, month: int) -> int:
    """Calendar month (1-12) of a month index."""
    first = int(start.split("-")[1]) - 1
    return (first + month) % 12 + 1
