"""The month's option table: every open option as arrays, and every firm's utilities.

The table is a pure function of the month's options and the firms' state: it prices each
option for each firm (listing, data-transport trips), computes its true and believed
detection probabilities, and the utility of the decision rule (``sim.decision``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from sim.capacity import Pool, Pools
from sim.channels import CHANNEL_NAMES, Delivery, Option
from sim.config import BeliefInit
from sim.decision import utilities

if TYPE_CHECKING:
    from sim.config import Config
    from sim.sources import Sources


#: The pool of a firm's inference demand, refilled with each firm's before it decides.
INFERENCE_NEED = ("inference_need",)


def _with_inference_pool(option: Option, inference_chip: bool) -> tuple[Pool, ...]:
    """An option's pools, plus the firm's inference demand when it delivers an inference chip."""
    return (*option.pools, Pool(INFERENCE_NEED, 0.0)) if inference_chip else option.pools


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
        offered_cost_usd: Each option's cost per H100e-month before firm terms.
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
        chips = {o.chip for o in options}
        worth = {chip: worth_per_h100e(cfg, chip) for chip in chips}
        inference = {chip: chip in cfg.world.inference_chips for chip in chips}
        channels = {o.channel.name: o.channel for o in options}
        # per channel: index, lead time, vendor supply (NaN: none), delivers chips, illicit, offshore
        per_channel = {
            name: (
                CHANNEL_NAMES.index(name),
                c.lead_time_months(cfg),
                np.nan if c.supply_usd_per_month(cfg) is None else c.supply_usd_per_month(cfg),
                c.delivers is Delivery.STOCK,
                c.illicit,
                c.offshore,
            )
            for name, c in channels.items()
        }
        hub_index = {hub: h for h, hub in enumerate(sources.hubs)} | {None: -1}
        depth = max([1, *(len(o.checkpoints) for o in options)])
        padding = [(0.0, False, True, False)] * depth  # checks that never detect, after an option's own
        checks = np.array(
            [
                [(c.p, c.per_trip, c.penalised, True) for c in o.checkpoints] + padding[len(o.checkpoints) :]
                for o in options
            ],
            dtype=float,
        ).reshape(n, depth, 4)
        self.checkpoint_p = checks[:, :, 0]
        self.checkpoint_per_trip, self.checkpoint_penalised, real = (checks[:, :, 1:] > 0).transpose(2, 0, 1)
        columns = np.array(
            [
                (
                    o.cost_usd_per_h100e_month,
                    worth[o.chip],
                    o.upfront_usd_per_h100e,
                    o.trip_cost_usd,
                    o.believed_risk_factor,
                    sources.cell(o.source) if o.channel.illicit else -1,
                    sources.index(o.source),
                    hub_index[o.hub],
                    inference[o.chip],
                    *per_channel[o.channel.name],
                )
                for o in options
            ],
            dtype=float,
        ).reshape(n, 15)
        self.offered_cost_usd, chip_worth, upfront, trip_cost, risk_factor = columns.T[:5]
        base_cost, upfront = self.offered_cost_usd / chip_worth, upfront / chip_worth
        self.cell, self.source, self.hub = columns.T[5:8].astype(np.intp)
        self.inference = columns[:, 8] > 0
        self.channel, self.lead_months = columns.T[9:11].astype(np.intp)
        self.supply_usd_per_month = columns[:, 11]
        self.stock, self.illicit, offshore = columns.T[12:] > 0
        self.smuggles = self.illicit & self.stock
        self.pools = Pools([_with_inference_pool(o, inference[o.chip]) for o in options])
        self.pool_index = self.pools.index
        self.operator = np.array([o.operator for o in options], dtype=object)
        p, penalised = self.checkpoint_p, self.checkpoint_penalised
        with np.errstate(divide="ignore"):  # a check that always detects: log(0) = -inf, passing is impossible
            log_pass = np.where(penalised, np.log1p(-p), 0.0)
        log_pass_once = np.where(self.checkpoint_per_trip, 0.0, log_pass).sum(axis=1)
        log_pass_trip = np.where(self.checkpoint_per_trip, log_pass, 0.0).sum(axis=1)
        exposed = self.illicit & (penalised & real).any(axis=1)  # some check can detect it with penalties
        accepted = np.where(penalised, 1.0, 1.0 - p).prod(axis=1)  # refusal-only checks accept the order
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
        self.u = accepted * (
            utilities(value, cost, firms.risk_aversion[:, None], pi_hat, loss, penalties.fine_usd_per_h100e_month)
            - penalty_usd
        )

    def mean_cost_usd_per_h100e_month(self) -> np.ndarray:
        """Mean offered cost of each channel's options (before firm terms), in ``CHANNEL_NAMES`` order; NaN: closed."""
        channels = len(CHANNEL_NAMES)
        counts = np.bincount(self.channel, minlength=channels)
        sums = np.bincount(self.channel, self.offered_cost_usd, minlength=channels)
        return np.divide(sums, counts, out=np.full(channels, np.nan), where=counts > 0)

    def cell_true_pi(self, n_cells: int) -> np.ndarray:
        """Each firm's mean true detection probability of its options per cell (NaN: no option there)."""
        illicit = self.cell >= 0
        cells = self.cell[illicit]
        counts = np.bincount(cells, minlength=n_cells)
        sums = np.zeros((n_cells, len(self.true_pi)))
        np.add.at(sums, cells, self.true_pi[:, illicit].T)  # segment sums over each cell's options
        sums = sums.T
        return np.divide(sums, counts, out=np.full_like(sums, np.nan), where=counts > 0)
