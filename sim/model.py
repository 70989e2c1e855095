"""The Mesa model: one step is one month, phase by phase (docs/ODD.md, section 3)."""

from __future__ import annotations

import numpy as np
from mesa import Model

from sim.agents import Firms, Intermediaries, Intermediary, LocalAuthority, Operator, Regulator, entry_risk
from sim.anticipation import closing_channels
from sim.channels import CHANNELS, ILLICIT_CHANNELS, IntermediaryKind
from sim.config import Config
from sim.consequences import Consequences
from sim.ledger import Scheduled, Shipments
from sim.levers import LEVERS
from sim.metrics import MonthState, MonthTally, month_row
from sim.option_table import OptionTable
from sim.schema import with_settings
from sim.sources import Source, Sources
from sim.timeline import compile_expectations, compile_timeline, month_of_year
from sim.transactions import Orders, Transaction, first_detections, place
from sim.world import domestic_supply_h100e, gray_price_usd_per_h100e, list_price_usd_per_h100e


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
        self._expectations = compile_expectations(cfg)
        self._expected_configs: dict[tuple[int, int], Config] = {}
        self.sources = Sources(tuple(cfg.world.hubs))
        self.channels = [cls() for cls in CHANNELS.values()]
        self._lost_on_close = {name for name, cls in CHANNELS.items() if cls.undelivered_lost_on_close}
        self.authorities = {hub: LocalAuthority(self, hub) for hub in cfg.world.hubs}
        self.operators_by_hub = {
            hub: [
                Operator(self, self.authorities[hub], p.rental_capacity_h100e / p.operators) for _ in range(p.operators)
            ]
            for hub, p in cfg.world.hubs.items()
        }
        self.intermediaries = Intermediaries(self, self.sources.hubs, self.operators_by_hub)
        self.regulator = Regulator(self, self.authorities, self.operators_by_hub, self.intermediaries)
        self.firms = Firms(self, self.sources)
        self.consequences = Consequences(self.firms, self.intermediaries)
        self.lever_state = {key: lever.new_state() for key, lever in zip(LEVERS, cfg.policy.levers(), strict=True)}
        self.scarcity = self.firms.unmet_share(0)  # the scarcity the stockpiles leave at the start
        self.seized_share = 0.0
        self.smuggled_delivered_h100e = 0.0  # since the start: what the gray market has sold
        self.gray_price_usd_per_h100e = 0.0
        self.list_price_usd_per_h100e = 0.0
        self.domestic_supply_h100e = 0.0
        self.table: OptionTable | None = None  # the month's options, priced for every firm
        self.arrivals = Shipments.empty()
        self.rows: list[dict[str, float]] = []

    # ------------------------------------------------------ what channels and levers read

    @property
    def firm_value_usd(self) -> np.ndarray:
        """What an H100e-month is worth to each firm."""
        return self.firms.value_usd

    @property
    def firm_risk_aversion(self) -> np.ndarray:
        """Each firm's risk aversion."""
        return self.firms.risk_aversion

    def venues(self) -> list[LocalAuthority]:
        """Every hub's local authority."""
        return list(self.authorities.values())

    def usable(self, kind: IntermediaryKind | None, hub: str) -> list[Intermediary]:
        """Unlisted intermediaries of a kind in a hub, registered long enough to trade."""
        return self.intermediaries.usable(kind, hub)

    def operators(self, hub: str) -> list[Operator]:
        """The data-centre operators of a hub."""
        return self.operators_by_hub[hub]

    def check_probability(self, channel: str, hub: str) -> float:
        """Probability that the regulator's checks detect one illicit transaction in a cell."""
        return self.regulator.check_probability(channel, hub)

    # ------------------------------------------------------------------- the month

    def step(self) -> None:
        """One month: rules, supply, trade, checkpoints, deliveries and use, learning, metrics."""
        self.month = self.steps - 1
        self.tally = MonthTally(self.sources, len(self.firms))
        before, self.cfg = self.cfg, self._timeline.get(self.month, self.cfg)
        if self.cfg is not before:
            self.intermediaries.relocate(before.world.hubs, self.cfg.world.hubs)
        self.regulator.step()
        self._refresh_supply()
        self._resolve(self._trade())
        self._deliver_and_use()
        self._learn()
        lever_columns: dict[str, float] = {}
        for lever in self.cfg.policy.levers():
            lever_columns |= lever.month_columns(self.lever_state[lever.key])
        state = MonthState(
            self.consequences.listed_entities,
            self.intermediaries.active_count(),
            sum(o.legit_denied_h100e_months for operators in self.operators_by_hub.values() for o in operators),
            self.domestic_supply_h100e,
            self.gray_price_usd_per_h100e,
            self.list_price_usd_per_h100e,
            self.regulator.audits,
            lever_columns,
        )
        self.rows.append(month_row(self.tally, self.table, state))

    def _refresh_supply(self) -> None:
        """Leases end, intermediaries close and enter, quotas, supply and prices refresh, operators serve."""
        cfg = self.cfg
        self.firms.ledger.end_leases(self.month)
        self.intermediaries.close_idle()
        shape = (len(ILLICIT_CHANNELS), len(self.sources.hubs))
        last = None if self.table is None else self.table.cell_true_pi(len(self.sources.cells))
        self.intermediaries.enter(entry_risk(last, shape))
        new_year = self.month > 0 and month_of_year(cfg.start, self.month) == 1
        for hub, authority in self.authorities.items():
            importers = sum(len(self.usable(c.served_by, hub)) for c in CHANNELS.values() if c.uses_import_quota)
            authority.set_quota(importers, new_year)
        self.domestic_supply_h100e = domestic_supply_h100e(cfg, self.month)
        self.list_price_usd_per_h100e = list_price_usd_per_h100e(cfg, self.month)
        self.gray_price_usd_per_h100e = gray_price_usd_per_h100e(
            cfg, self.month, self.smuggled_delivered_h100e, self.scarcity, self.seized_share
        )
        for operators in self.operators_by_hub.values():
            for operator in operators:
                operator.refresh()

    def _trade(self) -> Orders:
        """Options are listed, orders a closed vendor cannot ship cancelled, and firms plan and order.

        Firms order in random order, through the options priced for each of them.
        """
        firms = self.firms
        options = [o for channel in self.channels for o in channel.options(self)]
        open_now = {o.channel.name for o in options}
        closed = {i for i, s in enumerate(self.sources.all) if s.channel in self._lost_on_close - open_now}
        if closed:
            self.tally.record_cancellations(firms.ledger.cancel(closed))
        firms.plan(self.month, self.domestic_supply_h100e)
        levers = self.cfg.policy.levers()
        penalty = sum(
            (lever.option_penalty_usd_per_h100e_month(self, self.lever_state[lever.key], options) for lever in levers),
            0.0,
        )
        self.table = OptionTable(self.cfg, options, self.sources, firms.terms(self.month), penalty)
        closing = closing_channels(self, self.channels, options, self._expected_config())
        order = self.rng.permutation(len(firms))
        return place(firms.decide(order, self.table, closing), order, self.table, self.authorities)

    def _expected_config(self) -> Config | None:
        """The config in force with the rules announced for later applied; None when none is announced."""
        expected = self._expectations.get(self.month)
        if expected is None:
            return None
        key = (id(self.cfg), id(expected))  # composed once per config in force and expectation
        if key not in self._expected_configs:
            self._expected_configs[key] = with_settings(self.cfg, expected)
        return self._expected_configs[key]

    def _resolve(self, orders: Orders) -> None:
        """Orders pass their checkpoints; detected ones have consequences, the others deliver.

        An order refused by a screening that only refuses delivers nothing and has no other
        consequence; one detected at a penalising checkpoint is fined, listed and (under
        ``penalties.seizure``) seized; the regulator observes every order in a hub.
        """
        table, cfg = self.table, self.cfg
        option = orders.option
        at = first_detections(orders, table, self.firms.trips, self.rng)
        caught = at >= 0
        refused = caught & ~table.checkpoint_penalised[option, np.maximum(at, 0)]
        detected = caught & ~refused
        self.tally.record_attempts(orders, table, detected, refused)
        kept = ~refused
        n_options = len(table.options)
        volume_h100e = np.bincount(option[kept], orders.quantity_h100e[kept], minlength=n_options)
        found = np.bincount(option[detected], minlength=n_options)
        observed = np.bincount(option[kept], minlength=n_options) > 0
        for o in np.flatnonzero(observed & (table.hub >= 0)).tolist():
            opened = table.options[o]
            self.regulator.observe(opened.channel.name, opened.hub, float(volume_h100e[o]), int(found[o]))
        for k in np.flatnonzero(detected).tolist():
            o = int(option[k])
            quantity_h100e, spend_usd = float(orders.quantity_h100e[k]), float(orders.spend_usd[k])
            t = Transaction(int(orders.firm_index[k]), table.options[o], quantity_h100e, spend_usd)
            self.consequences.at_checkpoint(t, table.options[o].checkpoints[at[k]], cfg, self.month, self.tally)
        lost = refused | (detected & cfg.policy.penalties.seizure)
        released_h100e = np.bincount(option[lost], orders.quantity_h100e[lost], n_options)
        for o in np.flatnonzero(released_h100e).tolist():
            if table.operator[o] is not None:  # a lost lease frees its servers
                table.operator[o].release(float(released_h100e[o]))
        go = ~lost
        through = option[go]
        self.firms.ledger.schedule(
            Scheduled(
                orders.firm_index[go],
                table.source[through],
                orders.quantity_h100e[go],
                orders.spend_usd[go],
                self.month + table.lead_months[through],
                table.stock[through],
                table.inference[through],
                table.operator[through],
                table.supply_usd_per_month[through],
            ),
            cfg.world.market.lease_months,
            cfg.months,
        )

    def detected(self, firm_index: int, source: Source, quantity_h100e: float, months_delivered: int) -> None:
        """Consequences of a detection made by a lever (after delivery): fine, listing and news."""
        self.consequences.punish(firm_index, quantity_h100e, months_delivered, None, self.cfg, self.month, self.tally)
        self.tally.public_detections[self.sources.cell(source)] += 1

    def seize_stock(self, firm_index: int, source: Source, quantity_h100e: float) -> float:
        """Remove up to ``quantity_h100e`` of a firm's chips from ``source``; return what was removed."""
        return self.firms.seize(firm_index, self.sources.index(source), quantity_h100e)

    def _deliver_and_use(self) -> None:
        """Chips depreciate and arrive, levers act on them, firms use stock and leases; prices respond."""
        self.arrivals = self.firms.receive(self.month, self.cfg.world.firms.stock_depreciation_per_month)
        self.tally.record_arrivals(self.arrivals)
        for lever in self.cfg.policy.levers():
            lever.after_delivery(self, self.lever_state[lever.key])
        self.tally.record_use(*self.firms.use(self.month))
        adjustment = self.cfg.world.market.price_adjustment
        self.scarcity += adjustment * (1.0 - self.tally.access_ratio() - self.scarcity)
        self.seized_share += adjustment * (self.tally.seized_share() - self.seized_share)
        self.smuggled_delivered_h100e += self.tally.delivered_smuggled_h100e

    def _learn(self) -> None:
        """Beliefs forget, then learn from own outcomes, public detections and reports."""
        behaviour = self.cfg.behaviour
        if behaviour.learning:
            beliefs = self.firms.beliefs
            tally = self.tally
            beliefs.update(
                behaviour.belief_decay,
                tally.own_detected,
                tally.own_passed,
                tally.public_detections,
                behaviour.news_weight,
                behaviour.news_trials,
            )
            if behaviour.climate_weight > 0:
                beliefs.observe_climate(self.table.cell_true_pi(len(self.sources.cells)), behaviour.climate_weight)
