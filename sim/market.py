"""The month's option table: every open option as arrays, and every firm's utilities."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.channels import Option
from sim.config import BeliefInit
from sim.decision import utilities

if TYPE_CHECKING:
    from sim.model import ExportControlModel


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
        base_cost = np.array([o.cost_usd_per_h100e_month for o in opts])
        upfront = np.array([o.upfront_usd_per_h100e for o in opts])
        offshore = np.array([o.channel.offshore for o in opts])
        illicit = np.array([o.channel.illicit for o in opts])
        trip_cost = np.array([o.trip_cost_usd for o in opts])
        self.cell = np.array([model.cell_index(o.channel.name, o.hub) if o.channel.illicit else -1 for o in opts])

        with np.errstate(divide="ignore"):
            log_pass_once = np.array([sum(np.log1p(-c.p) for c in o.checkpoints if not c.per_trip) for o in opts])
            log_pass_trip = np.array([sum(np.log1p(-c.p) for c in o.checkpoints if c.per_trip) for o in opts])
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
            risk_factor = np.array([o.believed_risk_factor for o in opts])
            believed = model.beliefs.mean()[:, np.maximum(self.cell, 0)] * risk_factor
            pi_hat = np.where(illicit, np.minimum(believed, 1.0), 0.0)
        value = model.firm_value_usd[:, None]
        loss = value * cfg.policy.penalties.seizure
        self.u = utilities(
            value, cost, model.firm_risk_aversion[:, None], pi_hat, loss, cfg.policy.penalties.fine_usd_per_h100e_month
        )

    def mean_cost_usd_per_h100e_month(self, channel: str) -> float:
        """Mean offered cost of a channel's options (before firm terms); NaN when none is open."""
        costs = [o.cost_usd_per_h100e_month for o in self.options if o.channel.name == channel]
        return float(np.mean(costs)) if costs else float("nan")

