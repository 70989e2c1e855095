"""The Mesa model: one step is one month, phase by phase (docs/ODD.md, section 3)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from mesa import Model

from sim.agents import Authorities, Firms, Intermediaries, Operators, PartyTerms, Regulator, entry_risk
from sim.anticipation import closing_channels
from sim.capacity import Capacities
from sim.channels import CHANNEL_NAMES, CHANNELS, ILLICIT_CHANNELS, NOBODY
from sim.config import Config
from sim.consequences import Consequences
from sim.ledger import Scheduled, Shipments
from sim.levers import LEVERS
from sim.levers.base import overriding
from sim.metrics import MonthState, MonthTally, month_row, row_layout, summarise
from sim.option_table import ChannelTerms, OptionTable
from sim.sources import Source, sources_of
from sim.timeline import compile_rules, month_of_year
from sim.transactions import Orders, Transaction, first_detections, place
from sim.world import HubColumns, domestic_supply_h100e, gray_price_usd_per_h100e, list_price_usd_per_h100e


class ExportControlModel(Model):
    """Export-control enforcement on AI chips, monthly, for one validated config.

    Attributes:
        cfg: The config in force this month (timeline events replace it).
        levers: Its levers' sections, in registry order.
        penalising, acting: Those of ``levers`` whose class prices options, and acts after delivery.
        month: Months since ``cfg.start`` (0 in the first step).
        rows: One metrics row per month simulated.
    """

    def __init__(self, cfg: Config) -> None:
        super().__init__(rng=cfg.seed)
        self.cfg = cfg
        self.month = 0
        self._rules = compile_rules(cfg)
        self.sources = sources_of(tuple(cfg.world.hubs))
        self.hub_columns = HubColumns(cfg.world.hubs)
        self.channels = [cls() for cls in CHANNELS.values()]
        self.channel_terms = ChannelTerms()
        self._lost_on_close = {name for name, cls in CHANNELS.items() if cls.undelivered_lost_on_close}
        self._open_before: frozenset[str] = frozenset()  # the channels with options last month
        hubs = self.sources.hubs
        self.authorities = Authorities(self, hubs)
        self.operators = Operators(self, hubs)
        self.intermediaries = Intermediaries(self, hubs, self.operators)
        self.regulator = Regulator(self, self.authorities, self.operators, self.intermediaries)
        self.firms = Firms(self, self.sources)
        self.consequences = Consequences(self.firms, self.intermediaries, self.operators)
        self._set_levers()
        self.lever_state = {key: lever.new_state() for key, lever in zip(LEVERS, self.levers, strict=True)}
        self.scarcity = self.firms.unmet_share(0)  # the scarcity the stockpiles leave at the start
        self.seized_share = 0.0
        self.smuggled_delivered_h100e = 0.0  # since the start: what the gray market has sold
        self.gray_price_usd_per_h100e = 0.0
        self.list_price_usd_per_h100e = 0.0
        self.domestic_supply_h100e = 0.0
        self.capacities: Capacities | None = None  # the month's pools, drawn as firms order
        self.parties: PartyTerms | None = None  # the month's usable intermediaries and their terms
        self.table: OptionTable | None = None  # the month's options, priced for every firm
        self.arrivals = Shipments.empty()
        self.layout = row_layout(hubs, tuple(type(lever) for lever in self.levers))
        self.rows: list[np.ndarray] = []  # one a month, in ``layout`` order

    # ------------------------------------------------------ what channels and levers read

    @property
    def firm_value_usd(self) -> np.ndarray:
        """What an H100e-month is worth to each firm."""
        return self.firms.value_usd

    @property
    def firm_risk_aversion(self) -> np.ndarray:
        """Each firm's risk aversion."""
        return self.firms.risk_aversion

    # ------------------------------------------------------------------- the month

    def step(self) -> None:
        """One month: rules, supply, trade, checkpoints, deliveries and use, learning, metrics."""
        self.month = self.steps - 1
        self.tally = MonthTally(self.sources, len(self.firms))
        before, self.cfg = self.cfg, self._rules.in_force.get(self.month, self.cfg)
        if self.cfg is not before:
            self._set_levers()
            if self.cfg.world.hubs != before.world.hubs:  # an event changed a hub
                self.hub_columns = HubColumns(self.cfg.world.hubs)
                self.intermediaries.relocate(before.world.hubs, self.cfg.world.hubs)
        self.regulator.step()
        self._refresh_supply()
        self._resolve(self._trade())
        self._deliver_and_use()
        self._learn()
        lever_values: list[float] = []
        for lever in self.levers:
            if lever.columns:
                values = lever.month_columns(self.lever_state[lever.key])
                lever_values += [values[column] for column in lever.columns]  # in the layout's order
        state = MonthState(
            self.consequences.listed_entities,
            self.intermediaries.active_count(),
            float(self.operators.legit_denied_h100e_months.sum()),
            self.domestic_supply_h100e,
            self.gray_price_usd_per_h100e,
            self.list_price_usd_per_h100e,
            self.regulator.audits,
            lever_values,
        )
        self.rows.append(month_row(self.tally, self.table, state))

    def _set_levers(self) -> None:
        """The levers of the config in force, and those whose hooks the month calls."""
        self.levers = self.cfg.policy.levers()
        self.penalising = overriding(self.levers, "option_penalty_usd_per_h100e_month")
        self.acting = overriding(self.levers, "after_delivery")

    def values(self) -> np.ndarray:
        """(months x ``layout.columns``) the months simulated so far."""
        return np.array(self.rows, dtype=float).reshape(len(self.rows), len(self.layout.columns))

    def timeseries(self) -> pd.DataFrame:
        """The months simulated so far, one row each (docs/ODD.md, section 4), ``month`` (YYYY-MM) first."""
        return self.layout.frame(self.cfg.start, self.values())

    def summary(self) -> dict[str, float | int]:
        """Per-run metrics of the months simulated so far (``sim.metrics.summarise``)."""
        return summarise(self.layout.columns, self.values(), self.cfg.seed, self.consequences.first_detection_month)

    def _refresh_supply(self) -> None:
        """Leases end, intermediaries close and enter, quotas, supply and prices refresh, operators import and serve."""
        cfg = self.cfg
        ended = self.firms.ledger.end_leases(self.month)
        self.operators.release(ended.operator, ended.quantity_h100e)
        self.intermediaries.close_idle()
        shape = (len(ILLICIT_CHANNELS), len(self.sources.hubs))
        last = None if self.table is None else self.table.firms_cell_true_pi(len(self.sources.cells))
        self.intermediaries.enter(entry_risk(last, shape))
        new_year = self.month > 0 and month_of_year(cfg.start, self.month) == 1
        importers = sum(
            (self.intermediaries.usable_count(c.served_by) for c in CHANNELS.values() if c.uses_import_quota),
            np.zeros(len(self.sources.hubs), dtype=np.intp),
        )
        self.authorities.set_quota(importers, new_year)
        cap_announced = self.authorities.caps_tightened(self._expected_config(), importers)
        self.domestic_supply_h100e = domestic_supply_h100e(cfg, self.month)
        self.list_price_usd_per_h100e = list_price_usd_per_h100e(cfg, self.month)
        self.gray_price_usd_per_h100e = gray_price_usd_per_h100e(
            cfg, self.month, self.smuggled_delivered_h100e, self.scarcity, self.seized_share
        )
        self._import(self.operators.refresh(self.authorities.quota_left_h100e(), cap_announced))

    def _import(self, imported_h100e: np.ndarray) -> None:
        """Chips imported into each hub draw its quota and count in the month's imports."""
        self.authorities.record_imports(imported_h100e)
        self.tally.imports_hub_h100e += imported_h100e

    def _trade(self) -> Orders:
        """Options are listed, orders a closed vendor cannot ship cancelled, and firms plan and order.

        Firms order in random order, through the options priced for each of them.
        """
        cfg, firms = self.cfg, self.firms
        self.capacities = Capacities(
            np.full(len(self.intermediaries), cfg.world.intermediaries.capacity_h100e_per_month),
            self.operators.free_h100e,
            self.authorities.quota_left_h100e(),
        )
        self.parties = self.intermediaries.terms()
        offers = [(channel, channel.options(self)) for channel in self.channels if channel.is_open(self)]
        open_now = frozenset(channel.name for channel, o in offers if o.size)
        lost = self._lost_on_close & (self._open_before - open_now)  # closed since: nothing was ordered since
        self._open_before = open_now
        if lost:
            self.tally.record_cancellations(firms.ledger.cancel(self.sources.of_channels(lost)))
        firms.plan(self.month, self.domestic_supply_h100e)
        inference_pool = self.capacities.ration("inference_need")
        table = OptionTable(cfg, offers, self.sources, firms.terms(self.month), inference_pool, self.channel_terms)
        state, levers = self.lever_state, self.penalising
        table.add_cost(
            sum((lever.option_penalty_usd_per_h100e_month(self, state[lever.key], table) for lever in levers), 0.0)
        )
        self.table = table
        closing = closing_channels(self, self.channels, open_now, self._expected_config())
        order = self.rng.permutation(len(firms))
        orders = place(firms.decide(order, table, self.capacities, closing), table)
        self._commit(orders)
        return orders

    def _commit(self, orders: Orders) -> None:
        """Orders commit their intermediaries', their operators' and their hubs' import capacity."""
        table = self.table
        totals_h100e = np.bincount(orders.option, orders.quantity_h100e, minlength=len(table))
        ordered = totals_h100e > 0
        via = ordered & (table.intermediary >= 0)
        self.intermediaries.record_orders(table.intermediary[via], totals_h100e[via])
        self.operators.lease(table.operator[ordered], totals_h100e[ordered])
        imported = ordered & table.uses_import_quota
        hubs = len(self.sources.hubs)
        self._import(np.bincount(table.hub[imported], totals_h100e[imported], minlength=hubs))

    def _expected_config(self) -> Config | None:
        """The config in force with the rules announced for later applied; None when none is announced."""
        return self._rules.expected.get(self.month)

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
        self.regulator.observe(table.channel[option], table.hub[option], orders.quantity_h100e, detected, refused)
        for k in detected.nonzero()[0].tolist():
            o = int(option[k])
            t = Transaction(
                int(orders.firm_index[k]),
                CHANNELS[CHANNEL_NAMES[table.channel[o]]],
                int(table.intermediary[o]),
                int(table.operator[o]),
                float(orders.quantity_h100e[k]),
                float(orders.spend_usd[k]),
            )
            self.consequences.at_checkpoint(t, table.checkpoint_name(o, int(at[k])), cfg, self.month, self.tally)
        lost = refused | (detected & cfg.policy.penalties.seizure)
        self.operators.release(table.operator[option[lost]], orders.quantity_h100e[lost])  # lost leases free servers
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
        """Consequences of a detection made by a lever (after delivery): fine, listing, own lesson and news."""
        self.consequences.punish(firm_index, quantity_h100e, months_delivered, NOBODY, self.cfg, self.month, self.tally)
        cell = self.sources.cell(source)
        self.tally.own_detected[firm_index, cell] += 1
        self.tally.public_detections[cell] += 1

    def seize_stock(self, firm_index: int, source: Source, quantity_h100e: float) -> float:
        """Remove up to ``quantity_h100e`` of a firm's chips from ``source``; return what was removed."""
        return self.firms.seize(firm_index, self.sources.index(source), quantity_h100e)

    def _deliver_and_use(self) -> None:
        """Chips depreciate and arrive, levers act on them, firms use stock and leases; prices respond."""
        self.arrivals = self.firms.receive(self.month, self.cfg.world.firms.stock_depreciation_per_month)
        self.tally.record_arrivals(self.arrivals)
        for lever in self.acting:
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
