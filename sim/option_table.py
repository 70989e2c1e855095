"""The month's option table: every open option as arrays, and every firm's utilities.

The table is a pure function of the month's options and the firms' state: it prices each
option for each firm (listing, data-transport trips), computes its true and believed
detection probabilities, and the utility of the decision rule (``sim.decision``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from sim.channels import CHANNEL_NAMES, Delivery
from sim.config import BeliefInit
from sim.decision import utilities

if TYPE_CHECKING:
    from sim.channels import Channel, Offers
    from sim.config import Config
    from sim.sources import Sources


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


def _cat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    """``parts`` end to end, empty when there are none."""
    return np.concatenate([np.zeros(0, dtype), *parts], dtype=dtype)


def _column(offers: list[Offers], field: str) -> np.ndarray:
    """One field of every channel's offers end to end (a scalar field repeated over its options)."""
    columns = [(getattr(o, field), o.size) for o in offers]
    return _cat([c if isinstance(c, np.ndarray) else np.full(size, c) for c, size in columns], float)


class OptionTable:
    """Options open this month, with the arrays the decision rule works on.

    Every attribute has one entry (or row) per option, channel after channel.

    Attributes:
        channel, hub, source: Indices into ``CHANNEL_NAMES``, the run's hubs (-1: at home) and sources.
        intermediary, operator: Rows of the intermediary and the operator involved (-1: none).
        cell: Belief cell of each option (-1 for legal ones).
        inference: Which options deliver an inference chip.
        illicit, smuggles, stock: Whether it evades the rules, brings chips in illicitly, delivers chips.
        uses_import_quota: Whether its volume counts against its hub's import quota.
        lead_months: Months from order to the first delivered compute.
        supply_usd_per_month: The vendor's monthly supply, orders beyond it queued (NaN: no queue).
        offered_cost_usd: Each option's cost per H100e-month before firm terms.
        pool_index: (options x 2) pools each option draws on (``Capacities.left`` is drawn as firms order).
        checkpoint_name, checkpoint_p: (options x checks) each check's name ('' past an option's own)
            and detection probability, in order.
        checkpoint_per_trip, checkpoint_penalised: (options x checks) whether a check repeats
            on every trip, and whether it penalises (else it only refuses).
        true_pi: (firms x options) true detection probability of one transaction.
        u: (firms x options) utility per H100e-month.
        upfront_usd_per_h100e: (firms x options) money committed per H100e ordered.
    """

    def __init__(
        self,
        cfg: Config,
        offers: list[tuple[Channel, Offers]],
        sources: Sources,
        firms: FirmTerms,
        inference_pool: int,
    ) -> None:
        """Build the table.

        Args:
            cfg: The config in force.
            offers: Every open channel with its options, in channel order.
            sources: The run's sources and belief cells.
            firms: The firms' terms.
            inference_pool: The pool of each firm's inference demand, which inference chips also draw.
        """
        blocks = [o for _, o in offers]
        sizes = [o.size for o in blocks]
        n = sum(sizes)
        # what an option shares with its channel, one entry per channel, then per option
        per_channel = np.array(
            [
                (
                    CHANNEL_NAMES.index(c.name),
                    c.offshore,
                    c.illicit,
                    c.delivers is Delivery.STOCK,
                    c.uses_import_quota,
                    o.chip in cfg.world.inference_chips,
                    c.lead_time_months(cfg),
                    np.nan if c.supply_usd_per_month(cfg) is None else c.supply_usd_per_month(cfg),
                    worth_per_h100e(cfg, o.chip),
                )
                for c, o in offers
            ],
            dtype=float,
        ).reshape(len(offers), 9)[np.repeat(np.arange(len(offers)), sizes)]
        self.channel = per_channel[:, 0].astype(np.intp)
        offshore, self.illicit, self.stock, self.uses_import_quota, self.inference = per_channel.T[1:6] > 0
        self.lead_months = per_channel[:, 6].astype(np.intp)
        self.supply_usd_per_month, chip_worth = per_channel.T[7:]
        self.smuggles = self.illicit & self.stock
        self.hub = _cat([o.hub for o in blocks], np.intp)
        self.intermediary = _cat([o.intermediary for o in blocks], np.intp)
        self.operator = _cat([o.operator for o in blocks], np.intp)
        self.source = sources.source_of[self.channel, self.hub]
        self.cell = sources.cell_of[self.channel, self.hub]
        self.offered_cost_usd = _column(blocks, "cost_usd_per_h100e_month")
        trip_cost, risk_factor = _column(blocks, "trip_cost_usd"), _column(blocks, "believed_risk_factor")
        self.pool_index = np.empty((n, 2), dtype=np.intp)
        for column in (0, 1):
            self.pool_index[:, column] = _cat([o.pools[column] for o in blocks], np.intp)
        self.pool_index[self.inference, 1] = inference_pool  # home chips draw one pool of their own

        depth = max([1, *(len(o.checkpoints) for o in blocks)])
        self.checkpoint_name = np.full((n, depth), "", dtype=object)
        self.checkpoint_p = np.zeros((n, depth))
        self.checkpoint_per_trip = np.zeros((n, depth), dtype=bool)
        self.checkpoint_penalised = np.ones((n, depth), dtype=bool)
        ends = np.cumsum(sizes)
        for block, end, size in zip(blocks, ends.tolist(), sizes, strict=True):
            for k, check in enumerate(block.checkpoints):
                rows = slice(end - size, end)
                self.checkpoint_name[rows, k] = check.name
                self.checkpoint_p[rows, k] = check.p
                self.checkpoint_per_trip[rows, k] = check.per_trip
                self.checkpoint_penalised[rows, k] = check.penalised
        real = self.checkpoint_name != ""

        base_cost = self.offered_cost_usd / chip_worth
        upfront = _column(blocks, "upfront_usd_per_h100e") / chip_worth
        p, penalised = self.checkpoint_p, self.checkpoint_penalised
        with np.errstate(divide="ignore"):  # a check that always detects: log(0) = -inf, passing is impossible
            log_pass = np.where(penalised, np.log1p(-p), 0.0)
        log_pass_once = np.where(self.checkpoint_per_trip, 0.0, log_pass).sum(axis=1)
        log_pass_trip = np.where(self.checkpoint_per_trip, log_pass, 0.0).sum(axis=1)
        exposed = self.illicit & (penalised & real).any(axis=1)  # some check can detect it with penalties
        self._accepted = np.where(penalised, 1.0, 1.0 - p).prod(axis=1)  # refusal-only checks accept the order
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
        self.u = self._accepted * utilities(
            value, cost, firms.risk_aversion[:, None], pi_hat, loss, penalties.fine_usd_per_h100e_month
        )

    def __len__(self) -> int:
        return len(self.channel)

    def add_cost(self, usd_per_h100e_month: np.ndarray | float) -> None:
        """Add an expected cost per H100e-month to each (firm, option) (a lever's), on orders not refused."""
        self.u = self.u - self._accepted * usd_per_h100e_month

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
