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
from sim.channels import Option
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
        options: The options, in channel order.
        pools: Their capacity pools (drawn in place as firms order).
        pool_index: (options x 2) pool indices each option draws on.
        cell: Belief cell of each option (-1 for legal ones).
        inference: Which options deliver an inference chip.
        true_pi: (firms x options) true detection probability of one transaction.
        u: (firms x options) utility per H100e-month.
        upfront_usd_per_h100e: (firms x options) money committed per H100e ordered.
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
        self.inference = np.array([o.chip in cfg.world.inference_chips for o in options], dtype=bool)
        self.pools = Pools([_with_inference_pool(cfg, o) for o in options])
        self.pool_index = self.pools.index
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
                )
                for o in options
            ],
            dtype=float,
        ).reshape(len(options), 9)
        base_cost, upfront, trip_cost, risk_factor, offshore, exposed, cell, log_pass_once, log_pass_trip = columns.T
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
        one_hot = np.zeros((illicit.sum(), n_cells))
        one_hot[np.arange(illicit.sum()), self.cell[illicit]] = 1.0
        counts = one_hot.sum(axis=0)
        sums = self.true_pi[:, illicit] @ one_hot
        return np.divide(sums, counts, out=np.full_like(sums, np.nan), where=counts > 0)
