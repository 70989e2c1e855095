"""Intermediaries: resellers, front companies and logistics brokers registered in a hub."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from mesa import Agent

from sim.capacity import Pool
from sim.channels import CHANNEL_OF_KIND, ILLICIT_CHANNELS, IntermediaryKind
from sim.config import Hub, Ownership
from sim.world import route_km

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sim.protocols import Party, Run


class Intermediary(Agent):
    """A reseller, front company or logistics broker in one hub.

    A front company or broker leases from one operator of its hub, drawn at registration.
    An intermediary with no business for ``idle_exit_months`` closes.

    Its detection probability at the checkpoints that involve it is scaled by its red flags:
    a local front shows fewer (``local_front_discount``), and every intermediary shows more
    as the volume it has handled grows (``exposure_per_kh100e``). When detected it is
    entity-listed and leaves the market.
    """

    model: Run

    def __init__(
        self,
        model: Run,
        kind: IntermediaryKind,
        hub: str,
        ownership: Ownership,
        owner: tuple,
        usable_from_month: int,
        operator: Party | None,
    ) -> None:
        super().__init__(model)
        self.kind = kind
        self.hub = hub
        self.ownership = ownership
        self.owner = owner
        self.usable_from_month = usable_from_month
        self.operator = operator
        self.last_active_month = usable_from_month
        self.handled_h100e = 0.0
        self.handled_month_h100e = 0.0
        self.listed = False

    def is_usable(self) -> bool:
        """Registered long enough to trade."""
        return self.model.month >= self.usable_from_month

    def fee_share(self) -> float:
        """Fee as a share of the price of the goods or lease."""
        rules = self.model.cfg.world.intermediaries
        premium = rules.local_front_fee_premium if self.ownership is Ownership.LOCAL_FRONT else 0.0
        return rules.fee_share + premium

    def believed_risk_factor(self) -> float:
        """What firms know of its red flags: local fronts draw less attention."""
        return self.model.cfg.policy.end_user_audits.red_flag_factor(self.ownership is Ownership.LOCAL_FRONT)

    def is_idle_too_long(self) -> bool:
        """No business for ``idle_exit_months`` months."""
        return self.model.month - self.last_active_month >= self.model.cfg.world.intermediaries.idle_exit_months

    def red_flags(self) -> float:
        """Multiplier on the detection probability of audits that involve it."""
        exposure = self.model.cfg.world.intermediaries.exposure_per_kh100e * self.handled_h100e / 1000.0
        return self.believed_risk_factor() * (1.0 + exposure)

    def red_flag_probability(self) -> float:
        """Probability that it shows red flags to an operator's KYC screening."""
        return min(1.0, self.model.cfg.world.intermediaries.red_flag_rate * self.red_flags())

    def pool(self) -> Pool:
        """Its handling capacity this month."""
        return Pool(("intermediary", self.unique_id), self.model.cfg.world.intermediaries.capacity_h100e_per_month)

    def record_order(self, quantity_h100e: float) -> None:
        """Handle an order: more exposure, and active this month."""
        self.handled_h100e += quantity_h100e
        self.handled_month_h100e += quantity_h100e
        self.last_active_month = self.model.month


class Intermediaries:
    """Every registered intermediary by (kind, hub): registration, entry, closure and listing."""

    def __init__(self, model: Run, hubs: tuple[str, ...], operators: dict[str, Sequence[Party]]) -> None:
        self.model = model
        self.hubs = hubs
        self.operators = operators
        self._groups: dict[tuple[IntermediaryKind, str], list[Intermediary]] = {
            (kind, hub): [] for kind in IntermediaryKind for hub in hubs
        }
        for hub, params in model.cfg.world.hubs.items():
            for kind in IntermediaryKind:
                for _ in range(getattr(params, kind.hub_count_field)):
                    self.register(kind, hub, usable_from_month=0)

    def usable(self, kind: IntermediaryKind | None, hub: str) -> list[Intermediary]:
        """Unlisted intermediaries of a kind in a hub, registered long enough to trade."""
        return [i for i in self._groups[(kind, hub)] if i.is_usable()]

    def active_count(self) -> int:
        """Intermediaries registered, unlisted and usable."""
        return sum(i.is_usable() for group in self._groups.values() for i in group)

    def register(self, kind: IntermediaryKind, hub: str, usable_from_month: int) -> None:
        """Register a new intermediary: owner and ownership drawn; a lessee draws its operator."""
        model = self.model
        rules = model.cfg.world.intermediaries
        group = int(model.rng.integers(rules.owner_groups))
        if model.rng.random() < rules.local_front_share:
            ownership, owner = Ownership.LOCAL_FRONT, ("local", hub, group)
        else:
            ownership, owner = Ownership.SUBSIDIARY, ("parent", group)
        operator = self._draw_operator(kind, hub)
        self._groups[(kind, hub)].append(Intermediary(model, kind, hub, ownership, owner, usable_from_month, operator))

    def _draw_operator(self, kind: IntermediaryKind, hub: str) -> Party | None:
        """The operator a lessee leases from, drawn in its hub; None for a reseller."""
        if kind is IntermediaryKind.RESELLER:
            return None
        operators = self.operators[hub]
        return operators[int(self.model.rng.integers(len(operators)))]

    def relocate(self, before: dict[str, Hub], now: dict[str, Hub]) -> None:
        """Subsidiaries leave a hub whose enforcement was tightened, for the nearest hub that is not stricter.

        Decision rule (docs/ODD.md, section 7.7): when an event raises any enforcement setting of
        a hub (``sim.config.ENFORCEMENT_FIELDS``), each subsidiary of a Chinese parent there moves
        to the nearest hub (great-circle distance between data-centre clusters) none of whose
        settings exceeds the tightened hub's before the event, and registers there anew
        (usable after ``relocation_delay_months``; a lessee draws an operator there). A local
        front's director network is local: it stays. With no such hub, nobody moves.
        """
        delay = self.model.cfg.world.intermediaries.relocation_delay_months
        for hub in [h for h in self.hubs if now[h].is_stricter_than(before[h])]:
            havens = [h for h in self.hubs if h != hub and not now[h].is_stricter_than(before[hub])]
            if not havens:
                continue
            haven = min(havens, key=lambda h: route_km(now[hub], now[h]))
            for kind in IntermediaryKind:
                group = self._groups[(kind, hub)]
                for intermediary in [i for i in group if i.ownership is Ownership.SUBSIDIARY]:
                    group.remove(intermediary)
                    intermediary.hub = haven
                    intermediary.operator = self._draw_operator(kind, haven)
                    intermediary.usable_from_month = self.model.month + delay
                    intermediary.last_active_month = intermediary.usable_from_month
                    self._groups[(kind, haven)].append(intermediary)

    def close_idle(self) -> None:
        """Intermediaries idle for too long close."""
        for group in self._groups.values():
            for intermediary in [i for i in group if i.is_idle_too_long()]:
                group.remove(intermediary)
                intermediary.remove()

    def utilisation(self) -> np.ndarray:
        """(kinds x hubs) last month's volume handled over the capacity of the usable intermediaries.

        A kind and hub with no usable intermediary counts as fully used if anything was handled
        there, else as unused.
        """
        capacity = self.model.cfg.world.intermediaries.capacity_h100e_per_month
        handled = np.array([sum(i.handled_month_h100e for i in group) for group in self._groups.values()])
        usable = capacity * np.array([sum(i.is_usable() for i in group) for group in self._groups.values()])
        use = np.where(usable > 0, np.minimum(1.0, handled / np.maximum(usable, 1e-300)), handled > 0)
        return use.reshape(len(IntermediaryKind), len(self.hubs))  # groups are keyed kind-major

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
        kinds = list(IntermediaryKind)
        risk = entry_risk[[ILLICIT_CHANNELS.index(CHANNEL_OF_KIND[kind]) for kind in kinds]]
        weight = (self.utilisation() + rules.entry_base_weight) * (1.0 - risk) ** rules.entry_risk_sensitivity
        for group in self._groups.values():
            for intermediary in group:
                intermediary.handled_month_h100e = 0.0
        entrants = model.rng.poisson(rules.registration_rate_per_month * len(self.hubs) * weight.mean())
        cumulative = weight.ravel().cumsum()
        for _ in range(entrants):
            cell = int(np.searchsorted(cumulative, model.rng.random() * cumulative[-1], side="right"))
            kind, hub = kinds[cell // len(self.hubs)], self.hubs[cell % len(self.hubs)]
            self.register(kind, hub, usable_from_month=model.month + rules.registration_delay_months)

    def list_party(self, intermediary: Intermediary, include_affiliates: bool) -> int:
        """Entity-list an intermediary (and its affiliates): they leave the market.

        Returns:
            How many were newly listed.
        """
        if include_affiliates:
            targets = [i for group in self._groups.values() for i in group if i.owner == intermediary.owner]
        else:
            targets = [intermediary]
        listed = 0
        for target in targets:
            if target.listed:  # already listed by an earlier detection this month
                continue
            target.listed = True
            self._groups[(target.kind, target.hub)].remove(target)
            target.remove()
            listed += 1
        return listed


def entry_risk(cell_true_pi: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray:
    """What entrants see of each hub: last month's mean detection probability per channel and hub.

    Args:
        cell_true_pi: (firms x cells) mean true detection probability of last month's options
            per cell (NaN where a cell had none), or None before the first month.
        shape: (illicit channels, hubs); cells are in that order.

    Returns:
        (illicit channels x hubs) risks; a hub with no option of a channel takes the channel's
        mean over the other hubs (0 before any option existed).
    """
    risk = np.full(shape, np.nan) if cell_true_pi is None else cell_true_pi.mean(axis=0).reshape(shape)
    known = ~np.isnan(risk)
    row_mean = np.divide(
        np.where(known, risk, 0.0).sum(axis=1), known.sum(axis=1), out=np.zeros(len(risk)), where=known.any(axis=1)
    )
    return np.where(known, risk, row_mean[:, None])
