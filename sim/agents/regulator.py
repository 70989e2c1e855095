"""The US regulator and the local authorities of the hubs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from mesa import Agent

from sim.capacity import Pool
from sim.channels import CHANNELS, Audited

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sim.protocols import Party, Registry, Run


class LocalAuthority(Agent):
    """A hub's authority: customs on cargo and passengers, and its import quota.

    Escalation by the US regulator tightens its inspections; the quota is the hub's annual
    import cap (its own, or a tier cap) less what was imported this calendar year.
    """

    model: Run

    def __init__(self, model: Run, hub: str) -> None:
        super().__init__(model)
        self.hub = hub
        self.escalations = 0
        self.imported_this_year_h100e = 0.0
        self.cap_h100e: float | None = None

    def escalate(self) -> None:
        """Tighten inspections one step (``policy.enforcement.escalation``)."""
        self.escalations += 1

    def _escalation(self) -> float:
        return self.model.cfg.policy.enforcement.escalation.multiplier(self.escalations)

    def cargo_inspection_rate(self) -> float:
        """Share of outbound cargo inspected this month."""
        cfg = self.model.cfg
        return cfg.policy.customs.cargo_rate(cfg.world.hubs[self.hub].cargo_inspection_rate, self._escalation())

    def passenger_inspection_rate(self) -> float:
        """Share of travellers searched this month."""
        cfg = self.model.cfg
        return cfg.policy.customs.passenger_rate(cfg.world.hubs[self.hub].passenger_inspection_rate, self._escalation())

    def set_quota(self, importers: int, new_year: bool) -> None:
        """Set this month's annual cap (importers may hold small-order exemptions); reset on a new year."""
        if new_year:
            self.imported_this_year_h100e = 0.0
        cfg = self.model.cfg
        params = cfg.world.hubs[self.hub]
        self.cap_h100e = cfg.policy.country_caps.annual_cap_h100e(
            self.hub, params.tier, params.import_cap_h100e_per_year, importers
        )

    def quota_left_h100e(self) -> float | None:
        """Room left under the cap this year; None without a cap."""
        if self.cap_h100e is None:
            return None
        return max(0.0, self.cap_h100e - self.imported_this_year_h100e)

    def quota_pool(self) -> Pool | None:
        """Room left this year as a pool shared by the month's imports; None without a cap."""
        left = self.quota_left_h100e()
        return None if left is None else Pool(("quota", self.hub), left)

    def import_h100e(self, wanted_h100e: float) -> float:
        """Import up to ``wanted_h100e`` within the quota and return what was granted."""
        left = self.quota_left_h100e()
        granted = wanted_h100e if left is None else min(wanted_h100e, left)
        self.imported_this_year_h100e += granted
        return granted


class Regulator(Agent):
    """The US export authority: remembers trade and detections, escalates, allocates its checks.

    Its cells are (channel, hub) pairs of the channels whose parties it checks (``audited``
    on the channel class): resellers or operators. How checks are spread is the enforcement
    lever's rule (:meth:`sim.levers.enforcement.Enforcement.allocate`); a check detects an
    illicit transaction with ``detection_given_audit`` if the hub's authority cooperates.
    """

    model: Run

    def __init__(
        self,
        model: Run,
        authorities: dict[str, LocalAuthority],
        operators: dict[str, Sequence[Party]],
        intermediaries: Registry,
    ) -> None:
        super().__init__(model)
        self.authorities = authorities
        self.operators = operators
        self.intermediaries = intermediaries
        hubs = list(authorities)
        self.cells = [(name, h) for name, c in CHANNELS.items() if c.audited is not None for h in hubs]
        self._cell_index = {cell: i for i, cell in enumerate(self.cells)}
        self.volume_memory = np.zeros(len(self.cells))
        self.detection_memory = np.zeros(len(self.cells))
        self.month_volume = np.zeros(len(self.cells))
        self.month_detections = np.zeros(len(self.cells))
        self.hub_detections: dict[str, int] = dict.fromkeys(hubs, 0)
        self.months_with_trade = np.zeros(len(self.cells))
        self.months_observed = 0
        self.check_rate = np.zeros(len(self.cells))
        self.audits = 0.0

    def observe(self, channel: str, hub: str, volume_h100e: float, detections: int) -> None:
        """Record the month's trade volume through a (channel, hub) option and the detections among it."""
        self.hub_detections[hub] += detections
        i = self._cell_index.get((channel, hub))
        if i is not None:
            self.month_volume[i] += volume_h100e
            self.month_detections[i] += detections

    def check_probability(self, channel: str, hub: str) -> float:
        """Probability that this month's checks detect one illicit transaction in a cell."""
        enforcement = self.model.cfg.policy.enforcement
        cooperation = self.model.cfg.world.hubs[hub].cooperation
        rate = self.check_rate[self._cell_index[(channel, hub)]]
        return float(rate) * enforcement.detection_given_audit * cooperation

    def step(self) -> None:
        """Fold last month into memory, escalate where detections pile up, allocate checks."""
        enforcement = self.model.cfg.policy.enforcement
        self.volume_memory = enforcement.memory * self.volume_memory + self.month_volume
        self.detection_memory = enforcement.memory * self.detection_memory + self.month_detections
        if self.model.month > 0:
            self.months_with_trade += self.month_volume > 0
            self.months_observed += 1
        self.month_volume[:] = 0.0
        self.month_detections[:] = 0.0
        if enforcement.escalation.enabled:
            for hub, detections in self.hub_detections.items():
                if detections >= enforcement.escalation.threshold_detections:
                    self.authorities[hub].escalate()
        self.hub_detections = dict.fromkeys(self.hub_detections, 0)
        policy = self.model.cfg.policy
        self.check_rate, self.audits = enforcement.allocate(
            active=np.array([CHANNELS[c].audits_on(policy) for c, _ in self.cells]),
            parties=np.array([self._parties(c, h) for c, h in self.cells], dtype=float),
            volume_memory=self.volume_memory,
            detection_memory=self.detection_memory,
            violation_rate=self.months_with_trade / max(self.months_observed, 1),
            cooperation=np.array([self.model.cfg.world.hubs[h].cooperation for _, h in self.cells]),
        )

    def _parties(self, channel: str, hub: str) -> int:
        cls = CHANNELS[channel]
        if cls.audited is Audited.INTERMEDIARIES:
            return len(self.intermediaries.usable(cls.served_by, hub))
        return len(self.operators[hub])
