"""The month's option table: every open option as arrays, and every firm's utilities."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from sim.channels import Option
from sim.config import BeliefInit
from sim.decision import utilities

if TYPE_CHECKING:
    from sim.model import ExportControlModel


def _log_pass(option: Option, per_trip: bool) -> float:
    """Log of the probability to pass an option's once-only (or per-trip) checkpoints."""
    total = 0.0
    for c in option.checkpoints:
        if c.per_trip is per_trip:
            total += math.log1p(-c.p) if c.p < 1.0 else -math.inf
    return total


class OptionTable:
    """Options open this month, with the arrays the decision rule works on.

    Attributes:
        options: The options, in channel order.
        pool_index: (options x 2) pool indices each option draws on.
        true_pi: (firms x options) true detection probability of one transaction.
        u: (firms x options) utility per H100e-month.
        upfront_usd_per_h100e: (firms x options) money committed per H100e ordered.
    """

    def __init__(self, model: ExportControlModel, need_h100e: np.ndarray) -> None:
        cfg = model.cfg
        self.options: list[Option] = [o for channel in model.channels for o in channel.options(model)]
        model.pools.freeze()
        opts = self.options
        self.pool_index = model.pools.index_matrix([o.pools for o in opts])
        columns = np.array(
            [
                (
                    o.cost_usd_per_h100e_month,
                    o.upfront_usd_per_h100e,
                    o.channel.offshore,
                    o.channel.illicit,
                    o.trip_cost_usd,
                    o.believed_risk_factor,
                    model.cell_index(o.channel.name, o.hub) if o.channel.illicit else -1,
                    _log_pass(o, per_trip=False),
                    _log_pass(o, per_trip=True),
                )
                for o in opts
            ]
        ).reshape(len(opts), 9)
        base_cost, upfront, trip_cost, risk_factor = (
            columns[:, 0],
            columns[:, 1],
            columns[:, 4],
            columns[:, 5],
        )
        offshore, illicit = columns[:, 2].astype(bool), columns[:, 3].astype(bool)
        self.cell = columns[:, 6].astype(int)
        log_pass_once, log_pass_trip = columns[:, 7], columns[:, 8]
        trips = model.firm_trips[:, None]
        self.true_pi = 1.0 - np.exp(log_pass_once[None, :] + trips * log_pass_trip[None, :])

        listed = model.firm_listed()[:, None] & offshore[None, :]
        multiplier = np.where(listed, cfg.policy.entity_list.listed_cost_multiplier, 1.0)
        lease_months = cfg.world.market.lease_months
        trips_per_h100e = trips / np.maximum(need_h100e, 1.0)[:, None]
        cost = base_cost * multiplier + trip_cost * trips_per_h100e / lease_months
        self.upfront_usd_per_h100e = upfront * multiplier + trip_cost * trips_per_h100e

        if cfg.behaviour.beliefs is BeliefInit.TRUE:
            pi_hat = self.true_pi
        else:
            believed = model.beliefs.mean()[:, np.maximum(self.cell, 0)] * risk_factor
            pi_hat = np.where(illicit, np.minimum(believed, 1.0), 0.0)
        value = model.firm_value_usd[:, None]
        loss = value * cfg.policy.penalties.seizure
        self.u = utilities(
            value,
            cost,
            model.firm_risk_aversion[:, None],
            pi_hat,
            loss,
            cfg.policy.penalties.fine_usd_per_h100e_month,
        )

    def mean_cost_usd_per_h100e_month(self, channel: str) -> float:
        """Mean offered cost of a channel's options (before firm terms); NaN when none is open."""
        costs = [o.cost_usd_per_h100e_month for o in self.options if o.channel.name == channel]
        return float(np.mean(costs)) if costs else float("nan")
