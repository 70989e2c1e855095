"""The month's option table: every open option as arrays, and every firm's utilities.

The table is a pure function of the month's options and the firms' state: it prices each
option for each firm (listing, data-transport trips), computes its true and believed
detection probabilities, and the utility of the decision rule (``sim.decision``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from numba import njit

from sim.channels import CHANNEL_NAMES, Delivery
from sim.config import BeliefInit
from sim.decision import utility

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


def _channel_terms(cfg: Config, channel: Channel, offers: Offers) -> tuple[float, ...]:
    """What every option of a channel shares: its index, flags, lead time, vendor supply and chip worth."""
    supply_usd = channel.supply_usd_per_month(cfg)
    return (
        CHANNEL_NAMES.index(channel.name),
        channel.offshore,
        channel.illicit,
        channel.delivers is Delivery.STOCK,
        channel.uses_import_quota,
        offers.chip in cfg.world.inference_chips,
        channel.lead_time_months(cfg),
        np.nan if supply_usd is None else supply_usd,
        worth_per_h100e(cfg, offers.chip),
    )


class ChannelTerms:
    """What the options of each open channel share, memoised for a run.

    A channel's shared terms (:func:`_channel_terms`) and its checks' kinds and names follow
    from the config (:meth:`sim.channels.Channel.options`), so a run computes them once for
    each config and set of open channels instead of every month.
    """

    def __init__(self) -> None:
        self._memo: dict[tuple, tuple[Config, np.ndarray, np.ndarray, list[list[str]]]] = {}

    def of(self, cfg: Config, offers: list[tuple[Channel, Offers]]) -> tuple[np.ndarray, np.ndarray, list[list[str]]]:
        """(channels x 9) shared terms, (channels x checks x 3) check kinds, and each channel's check names.

        A check's kind is whether it repeats on every trip, whether it penalises, and whether it
        is real: channels with fewer checks are padded with checks that never detect nor refuse.
        """
        key = (id(cfg), tuple(c.name for c, _ in offers))  # the memo holds ``cfg``: its id names no other
        if key not in self._memo:
            per_channel = np.array([_channel_terms(cfg, c, o) for c, o in offers], dtype=float).reshape(len(offers), 9)
            depth = max([1, *(len(o.checkpoints) for _, o in offers)])
            padding = [(False, True, False)] * depth
            kinds = np.array(
                [
                    [(k.per_trip, k.penalised, True) for k in o.checkpoints] + padding[len(o.checkpoints) :]
                    for _, o in offers
                ],
                dtype=bool,
            ).reshape(len(offers), depth, 3)
            names = [[k.name for k in o.checkpoints] for _, o in offers]
            self._memo[key] = (cfg, per_channel, kinds, names)
        return self._memo[key][1:]


#: How many indices, and how many values before its checks' probabilities, each option has (:func:`_option_columns`).
_INDICES, _VALUES = 5, 4


def _option_columns(offers: Offers) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Each option's indices (hub, intermediary, operator, pools), and its own values then its checks' probabilities."""
    indices = [offers.hub, offers.intermediary, offers.operator, *offers.pools]
    values = [offers.cost_usd_per_h100e_month, offers.upfront_usd_per_h100e, offers.trip_cost_usd]
    values.append(offers.believed_risk_factor)
    return indices, values + [check.p for check in offers.checkpoints]


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
        checkpoint_p: (options x checks) each check's detection probability, in order (0 past an
            option's own checks).
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
        terms: ChannelTerms,
    ) -> None:
        """Build the table.

        Args:
            cfg: The config in force.
            offers: Every open channel with its options, in channel order.
            sources: The run's sources and belief cells.
            firms: The firms' terms.
            inference_pool: The pool of each firm's inference demand, which inference chips also draw.
            terms: The run's memo of what each channel's options share.
        """
        indices, own_values = [np.zeros(0, np.intp)], [np.zeros(0)]
        for _, block in offers:
            block_indices, block_values = _option_columns(block)
            indices += block_indices
            own_values += block_values
        per_channel, kinds, self._checkpoint_names = terms.of(cfg, offers)
        columns, values, flags, self.pool_index, self.checkpoint_p, checks = _lay_out(
            (np.concatenate(indices, dtype=np.intp), np.concatenate(own_values, dtype=float)),
            np.array([block.size for _, block in offers], dtype=np.intp),
            per_channel,
            kinds,
            (sources.source_of, sources.cell_of),
            inference_pool,
        )
        self._block, self.channel, self.hub, self.intermediary, self.operator, self.lead_months = columns[:6]
        self.source, self.cell = columns[6:]
        self.offered_cost_usd, upfront_usd, trip_cost_usd, risk_factor, self.supply_usd_per_month, chip_worth = values
        offshore, self.illicit, self.stock, self.uses_import_quota, self.inference, self.smuggles = flags
        self.checkpoint_per_trip, self.checkpoint_penalised, real = checks
        self._accepted, (self.true_pi, self.u, self.upfront_usd_per_h100e) = _price(
            (
                self.offered_cost_usd,
                upfront_usd,
                chip_worth,
                trip_cost_usd,
                risk_factor,
                self.cell,
                offshore,
                self.illicit,
            ),
            (self.checkpoint_p, self.checkpoint_per_trip, self.checkpoint_penalised, real),
            (firms.value_usd, firms.risk_aversion, firms.trips, firms.listed, firms.need_h100e, firms.believed_pi),
            (
                cfg.policy.entity_list.listed_cost_multiplier,
                float(cfg.world.market.lease_months),
                cfg.behaviour.beliefs is BeliefInit.TRUE,
                float(cfg.policy.penalties.seizure),
                cfg.policy.penalties.fine_usd_per_h100e_month,
            ),
        )

    def __len__(self) -> int:
        return len(self.channel)

    def checkpoint_name(self, option: int, k: int) -> str:
        """The name of an option's ``k``-th check."""
        return self._checkpoint_names[self._block[option]][k]

    def add_cost(self, usd_per_h100e_month: np.ndarray | float) -> None:
        """Add an expected cost per H100e-month to each (firm, option) (a lever's), on orders not refused."""
        if np.isscalar(usd_per_h100e_month) and usd_per_h100e_month == 0:
            return  # no lever adds a cost this month
        self.u = self.u - self._accepted * usd_per_h100e_month

    def mean_cost_usd_per_h100e_month(self) -> np.ndarray:
        """Mean offered cost of each channel's options (before firm terms), in ``CHANNEL_NAMES`` order; NaN: closed."""
        return _cell_means(self.offered_cost_usd[np.newaxis], self.channel, len(CHANNEL_NAMES))[0]

    def cell_true_pi(self, n_cells: int) -> np.ndarray:
        """Each firm's mean true detection probability of its options per cell (NaN: no option there)."""
        return self._cell_means(self.true_pi, n_cells)

    def firms_cell_true_pi(self, n_cells: int) -> np.ndarray:
        """The firms' mean of :meth:`cell_true_pi`, per cell (NaN: no option there)."""
        firms_mean = self.true_pi.sum(axis=0, keepdims=True) / len(self.true_pi)  # ``mean``, without its checks
        return self._cell_means(firms_mean, n_cells)[0]

    def _cell_means(self, per_option: np.ndarray, n_cells: int) -> np.ndarray:
        """(rows x cells) means of (rows x options) values over each cell's options (NaN: no option there)."""
        return _cell_means(per_option, self.cell, n_cells)


@njit(cache=True)
def _lay_out(flat, sizes, per_channel, kinds, lookups, inference_pool):
    """The option table's arrays, one entry (or row) per option, channel after channel (compiled).

    Args:
        flat: Every open channel's indices and values (:func:`_option_columns`), one channel
            after the other, end to end.
        sizes: How many options each channel has.
        per_channel: What each channel's options share (:meth:`ChannelTerms.of`).
        kinds: Each channel's check kinds, padded (:meth:`ChannelTerms.of`).
        lookups: ``Sources.source_of`` and ``Sources.cell_of`` (hub -1, at home: the last column).
        inference_pool: The pool inference chips draw as their second.

    Returns:
        (8 x options) integers: the channel each option is one of (its block), channel index,
        hub, intermediary, operator, lead months, source and cell; (6 x options) values: offered
        cost, upfront, trip cost, believed risk factor, vendor supply and chip worth; (6 x
        options) flags: offshore, illicit, stock, import quota, inference chip, smuggled;
        (options x 2) pools; (options x checks) detection probabilities; (3 x options x checks)
        check kinds: per trip, penalised, real.
    """
    source_of, cell_of = lookups
    indices, own_values = flat
    n, depth = sizes.sum(), kinds.shape[1]
    columns, values, flags = np.empty((8, n), np.int64), np.empty((6, n)), np.empty((6, n), np.bool_)
    pool_index, p, checks = np.empty((n, 2), np.int64), np.zeros((n, depth)), np.empty((3, n, depth), np.bool_)
    at_index, at_value, o = 0, 0, 0
    for b in range(sizes.size):
        size, real = sizes[b], kinds[b, :, 2].sum()
        channel = int(per_channel[b, 0])
        for j in range(size):
            hub = indices[at_index + j]
            columns[0, o], columns[1, o], columns[2, o] = b, channel, hub
            columns[3, o], columns[4, o] = indices[at_index + size + j], indices[at_index + 2 * size + j]
            columns[5, o] = int(per_channel[b, 6])
            columns[6, o], columns[7, o] = source_of[channel, hub], cell_of[channel, hub]
            for k in range(5):
                flags[k, o] = per_channel[b, 1 + k] > 0
            flags[5, o] = flags[1, o] and flags[2, o]
            pool_index[o, 0] = indices[at_index + 3 * size + j]
            pool_index[o, 1] = inference_pool if flags[4, o] else indices[at_index + 4 * size + j]
            for k in range(_VALUES):
                values[k, o] = own_values[at_value + k * size + j]
            values[4, o], values[5, o] = per_channel[b, 7], per_channel[b, 8]
            for k in range(depth):
                if k < real:
                    p[o, k] = own_values[at_value + (_VALUES + k) * size + j]
                for kind in range(3):
                    checks[kind, o, k] = kinds[b, k, kind]
            o += 1
        at_index += _INDICES * size
        at_value += (_VALUES + real) * size
    return columns, values, flags, pool_index, p, checks


@njit(cache=True)
def _cell_means(per_option, cell, n_cells):
    """(rows x cells) means over each cell's options, compiled: options of no cell (-1) are left out.

    ``cell`` may be any grouping of the options, their channel for one.
    """
    rows = per_option.shape[0]
    sums, counts = np.zeros((rows, n_cells)), np.zeros(n_cells)
    for o in range(cell.size):
        if cell[o] >= 0:
            counts[cell[o]] += 1.0
            for r in range(rows):
                sums[r, cell[o]] += per_option[r, o]
    means = np.full((rows, n_cells), np.nan)
    for c in range(n_cells):
        if counts[c] > 0:
            means[:, c] = sums[:, c] / counts[c]
    return means


@njit(cache=True)
def _price(options, checkpoints, firms, terms):
    """Every firm's price, risk and utility of every option (compiled).

    Prices are per H100e of the work each option's chip does (``chip_worth``).

    Per option: the probability that its penalising checks let one transaction through,
    once and per trip (refusal-only checks do not detect, they accept with ``1 - p``), and
    whether any can detect it. Per (firm, option): a listed firm pays ``listed_multiplier``
    offshore; data-transport trips add their cost per H100e of its need, amortised over a
    lease; the firm weighs the true detection probability (``beliefs: true``) or its belief
    about the cell times the option's risk factor; U is :func:`sim.decision.utility` per
    H100e-month ordered, times the probability that the order is accepted.

    Returns:
        Each option's probability of acceptance, and (3 x firms x options) the true detection
        probability, the utility and the money committed per H100e.
    """
    offered_cost, offered_upfront, chip_worth, trip_cost, risk_factor, cell, offshore, illicit = options
    p, per_trip, penalised, real = checkpoints
    value, risk_aversion, trips, listed, need, believed = firms
    listed_multiplier, lease_months, beliefs_true, seizure, fine = terms
    n = offered_cost.size
    base_cost, upfront = offered_cost / chip_worth, offered_upfront / chip_worth
    accepted = np.empty(n)
    priced = np.empty((3, value.size, n))
    true_pi, u, upfront_usd = priced[0], priced[1], priced[2]
    log_once, log_trip = np.zeros(n), np.zeros(n)
    exposed = np.zeros(n, np.bool_)
    for o in range(n):
        accepted[o] = 1.0
        for k in range(p.shape[1]):
            if not penalised[o, k]:
                accepted[o] *= 1.0 - p[o, k]
            elif per_trip[o, k]:
                log_trip[o] += np.log1p(-p[o, k])  # -inf for a check that always detects
            else:
                log_once[o] += np.log1p(-p[o, k])
            exposed[o] |= illicit[o] and penalised[o, k] and real[o, k]
    for f in range(value.size):
        trips_per_h100e = trips[f] / max(need[f], 1.0)
        loss = value[f] * seizure
        for o in range(n):
            multiplier = listed_multiplier if listed[f] and offshore[o] else 1.0
            cost = base_cost[o] * multiplier + trip_cost[o] * trips_per_h100e / lease_months
            upfront_usd[f, o] = upfront[o] * multiplier + trip_cost[o] * trips_per_h100e
            true_pi[f, o] = 1.0 - np.exp(log_once[o] + trips[f] * log_trip[o])
            if beliefs_true:
                pi_hat = true_pi[f, o]
            elif exposed[o]:
                pi_hat = min(believed[f, max(cell[o], 0)] * risk_factor[o], 1.0)
            else:
                pi_hat = 0.0
            u[f, o] = accepted[o] * utility(value[f], cost, risk_aversion[f], pi_hat, loss, fine)
    return accepted, priced
