"""Intermediaries: resellers, front companies and logistics brokers registered in a hub."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from numba import njit

from sim.agents.rows import Column, RowAgent
from sim.channels import CHANNEL_OF_KIND, ILLICIT_CHANNELS, IntermediaryKind
from sim.config import Hub, Ownership
from sim.world import route_km

if TYPE_CHECKING:
    from sim.agents.operator import Operator, Operators
    from sim.protocols import Run

#: Intermediary kinds in the order of the ``kind`` column.
KINDS: tuple[IntermediaryKind, ...] = tuple(IntermediaryKind)
#: Every column of the :class:`Intermediaries` population, with its dtype.
_COLUMNS: dict[str, type] = (
    dict.fromkeys(("kind", "hub", "owner", "operator", "usable_from_month", "last_active_month"), np.intp)
    | dict.fromkeys(("handled_h100e", "handled_month_h100e"), float)
    | dict.fromkeys(("local_front", "open", "listed"), bool)
)
#: The illicit channel each kind serves, as its row in (illicit channels x hubs) arrays.
_CHANNEL_ROW = np.array([ILLICIT_CHANNELS.index(CHANNEL_OF_KIND[kind]) for kind in KINDS])


class Intermediary(RowAgent):
    """A reseller, front company or logistics broker in one hub.

    A front company or broker leases from one operator of its hub, drawn at registration.
    An intermediary with no business for ``idle_exit_months`` closes.

    Its detection probability at the checkpoints that involve it is scaled by its red flags:
    a local front shows fewer (``local_front_discount``), and every intermediary shows more
    as the volume it has handled grows (``exposure_per_kh100e``). When detected it is
    entity-listed and leaves the market. Its state is its row in :class:`Intermediaries`.

    Attributes:
        kind: Reseller, front company or logistics broker.
        hub: The hub it is registered in (the one it was listed or closed in, once out).
        ownership: A subsidiary of a Chinese parent, or a local front.
        usable_from_month: First month it may trade.
        operator: The operator it leases from (None for a reseller).
        handled_h100e: Volume it has handled since it registered.
        listed: Whether it has been entity-listed.
        in_market: Registered and neither closed nor listed.
    """

    model: Run
    kind: IntermediaryKind = Column("kind", lambda population, value: KINDS[value])
    hub: str = Column("hub", lambda population, value: population.hubs[value])
    ownership: Ownership = Column(
        "local_front", lambda population, value: Ownership.LOCAL_FRONT if value else Ownership.SUBSIDIARY
    )
    usable_from_month: int = Column("usable_from_month")
    operator: Operator | None = Column(
        "operator", lambda population, value: None if value < 0 else population.operators.agents[value]
    )
    handled_h100e: float = Column("handled_h100e")
    listed: bool = Column("listed")
    in_market: bool = Column("open")


class PartyTerms(NamedTuple):
    """The month's usable intermediaries, and what options read of them: one entry per row.

    Attributes:
        usable: Rows of the usable intermediaries of each kind.
        hub: Hub index of each.
        operator: Row of the operator each leases from (-1: a reseller).
        fee_share: Fee as a share of the price of the goods or lease.
        believed_risk_factor: What firms know of its red flags.
        red_flags: Multiplier on the detection probability of audits that involve it.
        red_flag_probability: Probability that it shows red flags to an operator's KYC screening.
    """

    usable: dict[IntermediaryKind, np.ndarray]
    hub: np.ndarray
    operator: np.ndarray
    fee_share: np.ndarray
    believed_risk_factor: np.ndarray
    red_flags: np.ndarray
    red_flag_probability: np.ndarray


class Intermediaries:
    """Every intermediary ever registered: the agents and their state, one row each.

    Rows are never reused: one that closes or is listed stays, no longer ``open``.

    Attributes:
        agents: The intermediaries, in row order.
        hubs: Hub names, in hub order.
        kind: Index into ``KINDS`` of each.
        hub: Hub index of each.
        local_front: Whether each is a local front (else a subsidiary of a Chinese parent).
        owner: Each one's owner; affiliates share it (a parent group, or a local group of a hub).
        usable_from_month: First month each may trade.
        operator: Row of the operator each leases from (-1: a reseller).
        last_active_month: Last month each handled an order (its registration month before any).
        handled_h100e: Volume each has handled since it registered.
        handled_month_h100e: Volume each handled last month (reset when entrants come).
        open: Registered and neither closed nor listed.
        listed: Entity-listed.
    """

    def __init__(self, model: Run, hubs: tuple[str, ...], operators: Operators) -> None:
        self.model = model
        self.hubs = hubs
        self.operators = operators
        self.agents: list[Intermediary] = []
        self._store = {name: np.zeros(0, dtype) for name, dtype in _COLUMNS.items()}  # each column's rows, and room
        self._rows(0)
        counts = np.array([[getattr(model.cfg.world.hubs[h], k.hub_count_field) for h in hubs] for k in KINDS])
        kinds, hub_index = np.indices(counts.shape).reshape(2, -1)  # (kinds x hubs), kind-major
        self.register(np.repeat(kinds, counts.ravel()), np.repeat(hub_index, counts.ravel()), usable_from_month=0)

    def __len__(self) -> int:
        return len(self.agents)

    def usable(self) -> np.ndarray:
        """Which are open and registered long enough to trade."""
        return self.open & (self.usable_from_month <= self.model.month)

    def usable_count(self, kind: IntermediaryKind) -> np.ndarray:
        """Per hub, the usable intermediaries of a kind."""
        return _count_by_hub(self.kind, self.hub, self.usable(), KINDS.index(kind), len(self.hubs))

    def active_count(self) -> int:
        """Intermediaries registered, unlisted and usable."""
        return np.count_nonzero(self.usable())

    def terms(self) -> PartyTerms:
        """This month's usable intermediaries by kind, and what their options read of each row.

        A local front draws less attention (``local_front_discount``) and charges a premium
        (``local_front_fee_premium``); every intermediary shows more red flags as the volume
        it has handled grows (``exposure_per_kh100e``).
        """
        cfg = self.model.cfg
        rules = cfg.world.intermediaries
        believed = cfg.policy.end_user_audits.red_flag_factor(self.local_front)
        by_kind, bounds, (fee_share, red_flags, red_flag_probability) = _terms(
            self.kind,
            self.usable(),
            len(KINDS),
            (self.local_front, self.handled_h100e, believed),
            (rules.fee_share, rules.local_front_fee_premium, rules.exposure_per_kh100e, rules.red_flag_rate),
        )
        return PartyTerms(
            {kind: by_kind[bounds[k] : bounds[k + 1]] for k, kind in enumerate(KINDS)},
            self.hub,
            self.operator,
            fee_share,
            believed,
            red_flags,
            red_flag_probability,
        )

    def register(self, kinds: np.ndarray, hubs: np.ndarray, usable_from_month: int) -> None:
        """Register new intermediaries of ``kinds`` in ``hubs``: owners and ownership drawn; lessees draw operators."""
        n = len(kinds)
        if n == 0:
            return
        model = self.model
        rules = model.cfg.world.intermediaries
        lessee = _lessees(kinds)
        uniform = model.rng.random(2 * n + np.count_nonzero(lessee))  # owner groups, local fronts, then operators
        start, end = len(self.agents), len(self.agents) + n
        self._rows(end)
        new = slice(start, end)  # its handled volumes and listing start at 0: the room is zeros
        self.kind[new], self.hub[new] = kinds, hubs
        self.owner[new], self.local_front[new], self.operator[new] = _registered(
            lessee,
            hubs,
            uniform,
            (rules.owner_groups, rules.local_front_share),
            self.operators.first,
            self.operators.per_hub,
        )
        self.usable_from_month[new] = self.last_active_month[new] = usable_from_month
        self.open[new] = True
        self.agents.extend(Intermediary(model, self, row) for row in range(start, end))

    def _rows(self, end: int) -> None:
        """Make every column ``end`` rows long, its new rows zero (room for as many again: rows are never reused)."""
        if end > len(self._store["open"]):
            for name, column in self._store.items():
                self._store[name] = np.concatenate([column[: len(self.agents)], np.zeros(end, column.dtype)])
        for name, column in self._store.items():
            setattr(self, name, column[:end])

    def _draw_operators(self, kinds: np.ndarray, hubs: np.ndarray) -> np.ndarray:
        """The operator row each lessee leases from, drawn in its hub; -1 for resellers."""
        lessee = _lessees(kinds)
        uniform = self.model.rng.random(np.count_nonzero(lessee))
        return _operators_drawn(lessee, hubs, self.operators.first, self.operators.per_hub, uniform)

    def record_orders(self, rows: np.ndarray, quantity_h100e: np.ndarray) -> None:
        """Intermediaries handle orders: more exposure, and active this month."""
        handled = (self.handled_h100e, self.handled_month_h100e)
        _handle(rows, quantity_h100e, self.model.month, handled, self.last_active_month)

    def relocate(self, before: dict[str, Hub], now: dict[str, Hub]) -> None:
        """Subsidiaries leave a hub whose enforcement was tightened, for the nearest hub that is not stricter.

        Decision rule (docs/ODD.md, section 7.7): when an event raises any enforcement setting of
        a hub (``sim.config.ENFORCEMENT_FIELDS``), each subsidiary of a Chinese parent there moves
        to the nearest hub (great-circle distance between data-centre clusters) none of whose
        settings exceeds the tightened hub's before the event, and registers there anew
        (usable after ``relocation_delay_months``; a lessee draws an operator there). A local
        front's director network is local: it stays. With no such hub, nobody moves.
        """
        usable_from = self.model.month + self.model.cfg.world.intermediaries.relocation_delay_months
        for h, hub in enumerate(self.hubs):
            if not now[hub].is_stricter_than(before[hub]):
                continue
            havens = [g for g, other in enumerate(self.hubs) if g != h and not now[other].is_stricter_than(before[hub])]
            if not havens:
                continue
            haven = min(havens, key=lambda g: route_km(now[hub], now[self.hubs[g]]))
            movers = np.flatnonzero(self.open & (self.hub == h) & ~self.local_front)
            self.hub[movers] = haven
            self.operator[movers] = self._draw_operators(self.kind[movers], self.hub[movers])
            self.usable_from_month[movers] = usable_from
            self.last_active_month[movers] = usable_from

    def close_idle(self) -> None:
        """Intermediaries with no business for ``idle_exit_months`` close."""
        idle_exit = self.model.cfg.world.intermediaries.idle_exit_months
        self._leave(self.open & (self.model.month - self.last_active_month >= idle_exit))

    def _leave(self, leaving: np.ndarray) -> int:
        """Those in ``leaving`` leave the market (and the model's agents); return how many."""
        rows = leaving.nonzero()[0]
        self.open[rows] = False
        for row in rows.tolist():
            self.agents[row].remove()
        return len(rows)

    def utilisation(self) -> np.ndarray:
        """(kinds x hubs) last month's volume handled over the capacity of the usable intermediaries.

        A kind and hub with no usable intermediary counts as fully used if anything was handled
        there, else as unused.
        """
        capacity = self.model.cfg.world.intermediaries.capacity_h100e_per_month
        shape = (len(KINDS), len(self.hubs))
        use = _utilisation(self.kind, self.hub, self.open, self.usable(), self.handled_month_h100e, capacity, *shape)
        return use.reshape(shape)

    def enter(self, entry_risk: np.ndarray) -> None:
        """Entrants go where business is good and enforcement mild (docs/ODD.md, section 7.7).

        Each (kind, hub) has the entry weight ``(u + base) * (1 - risk) ** k``: u its
        intermediaries' utilisation last month (the profit an entrant expects), ``base`` =
        ``entry_base_weight`` (a market with no business yet), risk last month's mean detection
        probability of the kind's options there and k ``entry_risk_sensitivity``. Entrants arrive
        at ``registration_rate_per_month`` per hub times the mean weight (Poisson), so entry
        answers to profit, and each picks a (kind, hub) with probability proportional to its
        weight. Last month's volumes are then reset.

        Args:
            entry_risk: (illicit channels x hubs) last month's mean detection probabilities.
        """
        model = self.model
        rules = model.cfg.world.intermediaries
        cumulative = _entry_weights(
            self.utilisation(), entry_risk[_CHANNEL_ROW], rules.entry_base_weight, rules.entry_risk_sensitivity
        )
        self.handled_month_h100e[:] = 0.0
        mean_weight = cumulative[-1] / len(cumulative)
        entrants = model.rng.poisson(rules.registration_rate_per_month * len(self.hubs) * mean_weight)
        cells = np.searchsorted(cumulative, model.rng.random(entrants) * cumulative[-1], side="right")
        usable_from = model.month + rules.registration_delay_months
        self.register(cells // len(self.hubs), cells % len(self.hubs), usable_from_month=usable_from)

    def list_party(self, row: int, include_affiliates: bool) -> int:
        """Entity-list an intermediary (and its open affiliates): they leave the market.

        Returns:
            How many were newly listed (none if it was listed earlier this month).
        """
        targets = self.open & (self.owner == self.owner[row]) if include_affiliates else np.zeros(len(self), bool)
        targets[row] = self.open[row]
        self.listed |= targets
        return self._leave(targets)


@njit(cache=True)
def _terms(kind, usable, n_kinds, rows, rules):
    """The loop of :meth:`Intermediaries.terms`, compiled.

    Returns:
        The usable rows grouped by kind (in row order within a kind) and where each kind's
        group starts (and the last ends); (3 x rows) every row's fee share, red flags and
        probability of showing them to a KYC screening.
    """
    local_front, handled_h100e, believed = rows
    fee_share, local_front_fee_premium, exposure_per_kh100e, red_flag_rate = rules
    bounds = np.zeros(n_kinds + 1, np.int64)
    for row in range(kind.size):
        if usable[row]:
            bounds[kind[row] + 1] += 1
    bounds = np.cumsum(bounds)
    by_kind, filled = np.empty(bounds[-1], np.int64), bounds[:-1].copy()
    for row in range(kind.size):
        if usable[row]:
            by_kind[filled[kind[row]]] = row
            filled[kind[row]] += 1
    terms = np.empty((3, kind.size))
    terms[0] = fee_share + local_front_fee_premium * local_front
    terms[1] = believed * (1.0 + exposure_per_kh100e * handled_h100e / 1000.0)
    terms[2] = np.minimum(1.0, red_flag_rate * terms[1])
    return by_kind, bounds, terms


@njit(cache=True)
def _handle(rows, quantity_h100e, month, handled_h100e, last_active_month):
    """The loop of :meth:`Intermediaries.record_orders`, compiled: each volume adds to both ``handled_h100e``."""
    for k in range(rows.size):
        for column in handled_h100e:
            column[rows[k]] += quantity_h100e[k]
        last_active_month[rows[k]] = month


@njit(cache=True)
def _count_by_hub(kind, hub, usable, of_kind, n_hubs):
    """Per hub, the usable rows of kind ``of_kind`` (compiled)."""
    counts = np.zeros(n_hubs, np.int64)
    for row in range(kind.size):
        if usable[row] and kind[row] == of_kind:
            counts[hub[row]] += 1
    return counts


@njit(cache=True)
def _utilisation(kind, hub, open_, usable, handled_month_h100e, capacity_h100e, n_kinds, n_hubs):
    """Per (kind, hub) cell, kind-major: what the open ones handled over the usable ones' capacity (compiled)."""
    handled_h100e, usable_count = np.zeros(n_kinds * n_hubs), np.zeros(n_kinds * n_hubs)
    for row in range(kind.size):
        cell = kind[row] * n_hubs + hub[row]
        if open_[row]:
            handled_h100e[cell] += handled_month_h100e[row]
        if usable[row]:
            usable_count[cell] += 1.0
    use = np.empty(len(handled_h100e))
    for cell in range(len(use)):
        room_h100e = capacity_h100e * usable_count[cell]
        if room_h100e > 0:
            use[cell] = min(1.0, handled_h100e[cell] / room_h100e)
        else:  # none usable: fully used if anything was handled there
            use[cell] = 1.0 if handled_h100e[cell] > 0 else 0.0
    return use


@njit(cache=True)
def _operators_drawn(lessee, hubs, first, per_hub, uniform):
    """Each lessee's operator, row ``first + int(u * operators)`` of its hub (one uniform ``u`` each); -1 for others."""
    operator = np.full(lessee.size, -1, np.int64)
    drawn = 0
    for k in range(lessee.size):
        if lessee[k]:
            operator[k] = first[hubs[k]] + int(uniform[drawn] * per_hub[hubs[k]])
            drawn += 1
    return operator


def _lessees(kinds: np.ndarray) -> np.ndarray:
    """Which of these kinds lease servers from an operator (all but resellers)."""
    return kinds != KINDS.index(IntermediaryKind.RESELLER)


@njit(cache=True)
def _registered(lessee, hubs, uniform, rules, first, per_hub):
    """Owners, local fronts and operators of new intermediaries, from their uniform draws (compiled).

    The first ``n`` draws pick each one's owner group of ``owner_groups``, the next ``n`` make it
    a local front with probability ``local_front_share`` (owned by a local group of its hub), the
    rest draw the lessees' operators (:func:`_operators_drawn`).
    """
    owner_groups, local_front_share = rules
    n = lessee.size
    owner, local_front = np.empty(n, np.int64), uniform[n : 2 * n] < local_front_share
    for k in range(n):
        group = int(uniform[k] * owner_groups)
        owner[k] = (1 + hubs[k]) * owner_groups + group if local_front[k] else group
    return owner, local_front, _operators_drawn(lessee, hubs, first, per_hub, uniform[2 * n :])


def entry_risk(cell_true_pi: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray:
    """What entrants see of each hub: last month's mean detection probability per channel and hub.

    Args:
        cell_true_pi: Per cell, the firms' mean true detection probability of last month's
            options there (NaN where a cell had none), or None before the first month.
        shape: (illicit channels, hubs); cells are in that order.

    Returns:
        (illicit channels x hubs) risks; a hub with no option of a channel takes the channel's
        mean over the other hubs (0 before any option existed).
    """
    if cell_true_pi is None:
        return np.zeros(shape)
    return _filled_by_channel(cell_true_pi.reshape(shape))


@njit(cache=True)
def _filled_by_channel(risk):
    """``risk`` with each NaN replaced by the mean of its row's other entries (0 if none), compiled."""
    filled = risk.copy()
    for row in range(len(risk)):
        total, known = 0.0, 0
        for value in risk[row]:
            if not np.isnan(value):
                total += value
                known += 1
        for h in range(risk.shape[1]):
            if np.isnan(risk[row, h]):
                filled[row, h] = total / known if known else 0.0
    return filled


@njit(cache=True)
def _entry_weights(use, risk, base_weight, risk_sensitivity):
    """Cumulative entry weights of the (kind, hub) cells, kind-major: ``(use + base) * (1 - risk) ** k``."""
    weight = (use + base_weight) * (1.0 - risk) ** risk_sensitivity
    return np.cumsum(weight.ravel())
