"""The month's option table: every open option as arrays, and every firm's utilities.

The table is a pure function of the month's options and the firms' state: it prices each
option for each firm (listing, data-transport trips), computes its true and believed
detection probabilities, and the utility of the decision rule (``sim.decision``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from sim.capacity import Pool, Pools
from sim.channels import CHANNEL_NAMES, Delivery, Option
from sim.config import BeliefInit
from sim.decision import utilities

if TYPE_CHECKING:
    from sim.config import Config
    from sim.sources import Sources


def _log_pass(option: Option, per_trip: bool) -> float:
    """Log of the probability to pass an option's penalised once-only (or per-trip) checkpoints."""
    total = 0.0
    for c in option.checkpoints:
        if c.per_trip is per_trip and c.penalised:
            total += math.log1p(-c.p) if c.p < 1.0 else -math.inf
    return total


def _acceptance(option: Option) -> float:
    """Probability that the option's refusal-only checks (screenings) accept an order."""
    accepted = 1.0
    for c in option.checkpoints:
        if not c.penalised:
            accepted *= 1.0 - c.p
    return accepted


def _exposed(option: Option) -> bool:
    """Whether a transaction can be detected with penalties (it passes some penalised check)."""
    return any(c.penalised for c in option.checkpoints)


#: The pool of a firm's inference demand, refilled with each firm's before it decides.
INFERENCE_NEED = ("inference_need",)


def _with_inference_pool(cfg: Config, option: Option) -> tuple[Pool, ...]:
    """An option's pools, plus the firm's inference demand when it delivers an inference chip."""
    if option.chip in cfg.world.inference_chips:
        return (*option.pools, Pool(INFERENCE_NEED, 0.0))
    return option.pools


def worth_per_h100e(cfg: Config, chip: str | None) -> float:
    """What one H100e (by training performance) of a chip does of the firms' work, in H100e.

    An inference chip (``world.inference_chips``) serves inference demand at its inference
    performance; any other chip, and leased servers (``chip`` None), at its training H100e.
    """
    if chip not in cfg.world.inference_chips:
        return 1.0
    return cfg.world.inference_chips[chip] / cfg.world.chips[chip]


class FirmTerms(NamedTuple):
    """What the table needs of the firms: one entry (or row) per firm."""

    value_usd: np.ndarray
    risk_aversion: np.ndarray
    trips: np.ndarray
    listed: np.ndarray
    need_h100e: np.ndarray
    believed_pi: np.ndarray  # (firms x belief cells)


class OptionTable:
    """Options open this month, with the arrays the decision rule works on.

    Attributes:
        options: The options, in channel order; the arrays below have one entry (or row) per option.
        pools: Their capacity pools (drawn in place as firms order).
        pool_index: (options x 2) pool indices each option draws on.
        cell: Belief cell of each option (-1 for legal ones).
        inference: Which options deliver an inference chip.
        true_pi: (firms x options) true detection probability of one transaction.
        u: (firms x options) utility per H100e-month.
        upfront_usd_per_h100e: (firms x options) money committed per H100e ordered.
        operator: The operator leasing the servers (None for chips).
        source, hub, channel: Indices into the run's sources, hubs (-1: at home) and ``CHANNEL_NAMES``.
        illicit, smuggles, stock: Whether it evades the rules, brings chips in illicitly, delivers chips.
        lead_months: Months from order to the first delivered compute.
        supply_usd_per_month: The vendor's monthly supply, orders beyond it queued (NaN: no queue).
        checkpoint_p: (options x checks) detection probability of each check, in order (0: none).
        checkpoint_per_trip, checkpoint_penalised: (options x checks) whether a check repeats
            on every trip, and whether it penalises (else it only refuses).
    """

    def __init__(
        self, cfg: Config, options: list[Option], sources: Sources, firms: FirmTerms, penalty_usd: np.ndarray | float
    ) -> None:
        """Build the table.

        Args:
            cfg: The config in force.
            options: Every open option, in channel order.
            sources: The run's sources and belief cells.
            firms: The firms' terms.
            penalty_usd: Extra expected cost per H100e-month of each (firm, option) from levers.
        """
        self.options = options
        n = len(options)
        self.inference = np.array([o.chip in cfg.world.inference_chips for o in options], dtype=bool)
        self.pools = Pools([_with_inference_pool(cfg, o) for o in options])
        self.pool_index = self.pools.index
        self.operator = np.array([o.operator for o in options], dtype=object)
        channels = {o.channel.name: o.channel for o in options}
        timing = {
            name: (c.lead_time_months(cfg), c.supply_usd_per_month(cfg), CHANNEL_NAMES.index(name))
            for name, c in channels.items()
        }
        columns = np.array(
            [
                (
                    o.cost_usd_per_h100e_month / worth_per_h100e(cfg, o.chip),
                    o.upfront_usd_per_h100e / worth_per_h100e(cfg, o.chip),
                    o.trip_cost_usd,
                    o.believed_risk_factor,
                    o.channel.offshore,
                    o.channel.illicit and _exposed(o),
                    sources.cell(o.source) if o.channel.illicit else -1,
                    _log_pass(o, per_trip=False),
                    _log_pass(o, per_trip=True),
                    sources.index(o.source),
                    sources.hubs.index(o.hub) if o.hub is not None else -1,
                    timing[o.channel.name][2],
                    timing[o.channel.name][0],
                    np.nan if timing[o.channel.name][1] is None else timing[o.channel.name][1],
                    o.channel.delivers is Delivery.STOCK,
                )
                for o in options
            ],
            dtype=float,
        ).reshape(n, 15)
        base_cost, upfront, trip_cost, risk_factor, offshore, exposed, cell, log_pass_once, log_pass_trip = columns.T[
            :9
        ]
        self.source, self.hub, self.channel, self.lead_months = columns.T[9:13].astype(np.intp)
        self.supply_usd_per_month, stock = columns.T[13:]
        self.stock = stock.astype(bool)
        self.illicit = np.array([o.channel.illicit for o in options], dtype=bool)
        self.smuggles = self.illicit & self.stock
        depth = max([1, *(len(o.checkpoints) for o in options)])  # padded with checks that never detect
        self.checkpoint_p = np.zeros((n, depth))
        self.checkpoint_per_trip = np.zeros((n, depth), dtype=bool)
        self.checkpoint_penalised = np.ones((n, depth), dtype=bool)
        for row, o in enumerate(options):
            for k, c in enumerate(o.checkpoints):
                self.checkpoint_p[row, k] = c.p
                self.checkpoint_per_trip[row, k] = c.per_trip
                self.checkpoint_penalised[row, k] = c.penalised
        offshore, exposed, self.cell = offshore.astype(bool), exposed.astype(bool), cell.astype(int)
        trips = firms.trips[:, None]
        self.true_pi = 1.0 - np.exp(log_pass_once[None, :] + trips * log_pass_trip[None, :])

        listed = firms.listed[:, None] & offshore[None, :]
        multiplier = np.where(listed, cfg.policy.entity_list.listed_cost_multiplier, 1.0)
        trips_per_h100e = trips / np.maximum(firms.need_h100e, 1.0)[:, None]
        cost = base_cost * multiplier + trip_cost * trips_per_h100e / cfg.world.market.lease_months
        self.upfront_usd_per_h100e = upfront * multiplier + trip_cost * trips_per_h100e

        if cfg.behaviour.beliefs is BeliefInit.TRUE:
            pi_hat = self.true_pi
        else:
            believed = firms.believed_pi[:, np.maximum(self.cell, 0)] * risk_factor
            pi_hat = np.where(exposed, np.minimum(believed, 1.0), 0.0)
        value = firms.value_usd[:, None]
        penalties = cfg.policy.penalties
        loss = value * penalties.seizure
        # An order that is refused delivers nothing and costs nothing: U is per H100e-month ordered.
        accepted = np.array([_acceptance(o) for o in options], dtype=float)
        self.u = accepted * (
            utilities(value, cost, firms.risk_aversion[:, None], pi_hat, loss, penalties.fine_usd_per_h100e_month)
            - penalty_usd
        )

    def mean_cost_usd_per_h100e_month(self, channel: str) -> float:
        """Mean offered cost of a channel's options (before firm terms); NaN when none is open."""
        costs = [o.cost_usd_per_h100e_month for o in self.options if o.channel.name == channel]
        return float(np.mean(costs)) if costs else float("nan")

    def cell_true_pi(self, n_cells: int) -> np.ndarray:
        """Each firm's mean true detection probability of its options per cell (NaN: no option there)."""
        illicit = self.cell >= 0
        cells = self.cell[illicit]
        counts = np.bincount(cells, minlength=n_cells)
        sums = np.zeros((n_cells, len(self.true_pi)))
        np.add.at(sums, cells, self.true_pi[:, illicit].T)  # segment sums over each cell's options
        sums = sums.T
        return np.divide(sums, counts, out=np.full_like(sums, np.nan), where=counts > 0)
