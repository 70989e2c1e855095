"""The US regulator and the local authorities of the hubs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from mesa import Agent
from numba import njit

from sim.agents.rows import Column, RowAgent
from sim.channels import CHANNEL_NAMES, CHANNELS, Audited

if TYPE_CHECKING:
    from sim.agents.operator import Operators
    from sim.config import Config
    from sim.protocols import Parties, Run


class LocalAuthority(RowAgent):
    """A hub's authority: customs on cargo and passengers, and its import quota.

    Escalation by the US regulator tightens its inspections; the quota is the hub's annual
    import cap (its own, or a tier cap) less what was imported this calendar year. Its state
    is its row in the :class:`Authorities` population.

    Attributes:
        hub: Its hub.
        escalations: Times the regulator has tightened its inspections.
        imported_this_year_h100e: What the hub imported this calendar year.
    """

    model: Run
    hub: str = Column("hubs", lambda population, value: value)
    escalations: int = Column("escalations")
    imported_this_year_h100e: float = Column("imported_this_year_h100e")


class Authorities:
    """Every hub's local authority, one row per hub in hub order.

    Attributes:
        hubs: Hub names.
        escalations: Times each hub's inspections were tightened.
        imported_this_year_h100e: What each hub imported this calendar year.
        cap_h100e: Each hub's annual import cap this month (inf: none).
    """

    def __init__(self, model: Run, hubs: tuple[str, ...]) -> None:
        self.model = model
        self.hubs = hubs
        self.escalations = np.zeros(len(hubs), dtype=np.intp)
        self.imported_this_year_h100e = np.zeros(len(hubs))
        self.cap_h100e = np.full(len(hubs), np.inf)
        self.agents = [LocalAuthority(model, self, row) for row in range(len(hubs))]

    def cargo_inspection_rate(self) -> np.ndarray:
        """Share of each hub's outbound cargo inspected this month."""
        customs = self.model.cfg.policy.customs
        return customs.cargo_rate(self.model.hub_columns.cargo_inspection_rate, self._escalation())

    def passenger_inspection_rate(self) -> np.ndarray:
        """Share of travellers searched in each hub this month."""
        customs = self.model.cfg.policy.customs
        return customs.passenger_rate(self.model.hub_columns.passenger_inspection_rate, self._escalation())

    def _escalation(self) -> np.ndarray:
        return self.model.cfg.policy.enforcement.escalation.multiplier(self.escalations)

    def set_quota(self, importers: np.ndarray, new_year: bool) -> None:
        """Set this month's annual caps (importers may hold small-order exemptions); reset on a new year."""
        if new_year:
            self.imported_this_year_h100e[:] = 0.0
        self.cap_h100e = self._caps(self.model.cfg, importers)

    def caps_tightened(self, expected: Config | None, importers: np.ndarray) -> np.ndarray:
        """Which hubs the ``expected`` config (announced rules applied; None: none) caps below this month's cap."""
        if expected is None:
            return np.zeros(len(self.hubs), dtype=bool)
        return self._caps(expected, importers) < self.cap_h100e

    def _caps(self, cfg: Config, importers: np.ndarray) -> np.ndarray:
        """Each hub's annual import cap under ``cfg`` (inf: none)."""
        caps = cfg.policy.country_caps
        annual_h100e = np.full(len(self.hubs), np.inf)
        for h, hub in enumerate(self.hubs):
            params = cfg.world.hubs[hub]
            cap = caps.annual_cap_h100e(hub, params.tier, params.import_cap_h100e_per_year, int(importers[h]))
            annual_h100e[h] = np.inf if cap is None else cap
        return annual_h100e

    def quota_left_h100e(self) -> np.ndarray:
        """Room left under each hub's cap this year (inf: no cap)."""
        return np.maximum(0.0, self.cap_h100e - self.imported_this_year_h100e)

    def record_imports(self, imported_h100e: np.ndarray) -> None:
        """Count each hub's imports against its quota."""
        self.imported_this_year_h100e += imported_h100e


class Regulator(Agent):
    """The US export authority: remembers trade and detections, escalates, allocates its checks.

    Its cells are (channel, hub) pairs of the channels whose parties it checks (``audited``
    on the channel class): resellers or operators. How checks are spread is the enforcement
    lever's rule (:meth:`sim.levers.enforcement.Enforcement.allocate`); a check detects an
    illicit transaction with ``detection_given_audit`` if the hub's authority cooperates.
    """

    model: Run

    def __init__(self, model: Run, authorities: Authorities, operators: Operators, intermediaries: Parties) -> None:
        super().__init__(model)
        self.authorities = authorities
        self.operators = operators
        self.intermediaries = intermediaries
        hubs = authorities.hubs
        self.audited = tuple(name for name, c in CHANNELS.items() if c.audited is not None)
        self.cells = [(name, h) for name in self.audited for h in hubs]
        self._cell_channel, self._cell_hub = np.divmod(np.arange(len(self.cells)), len(hubs))
        self._audited_index = np.array([self.audited.index(n) if n in self.audited else -1 for n in CHANNEL_NAMES])
        self.volume_memory = np.zeros(len(self.cells))
        self.detection_memory = np.zeros(len(self.cells))
        self.month_volume = np.zeros(len(self.cells))
        self.month_detections = np.zeros(len(self.cells))
        self.hub_detections = np.zeros(len(hubs))
        self.months_with_trade = np.zeros(len(self.cells))
        self.months_observed = 0
        self.check_rate = np.zeros(len(self.cells))
        self.audits = 0.0
        self._policy: Any = None  # the rules ``_active`` was found under
        self._active = np.zeros(len(self.cells), dtype=bool)

    def observe(
        self,
        channel: np.ndarray,
        hub: np.ndarray,
        quantity_h100e: np.ndarray,
        detected: np.ndarray,
        refused: np.ndarray,
    ) -> None:
        """Record the month's orders: their volume (those not refused) and the detections among them.

        Args:
            channel: Each order's channel (index into ``CHANNEL_NAMES``).
            hub: Each order's hub (-1: at home, unobserved).
            quantity_h100e: Each order's volume.
            detected: Which were detected at a penalising checkpoint.
            refused: Which a refusal-only screening refused.
        """
        _observe(
            (channel, hub, quantity_h100e, detected, refused),
            self._audited_index,
            (self.hub_detections, self.month_volume, self.month_detections),
        )

    def check_probability(self, channel: str) -> np.ndarray:
        """Per hub, the probability that this month's checks detect one illicit transaction of a channel."""
        rate = self.check_rate.reshape(len(self.audited), -1)[self.audited.index(channel)]
        detection = self.model.cfg.policy.enforcement.detection_given_audit
        return rate * detection * self.model.hub_columns.cooperation

    def step(self) -> None:
        """Fold last month into memory, escalate where detections pile up, allocate checks."""
        cfg = self.model.cfg
        enforcement = cfg.policy.enforcement
        observed = self.model.month > 0  # a month has passed
        _remember(
            enforcement.memory,
            observed,
            (self.volume_memory, self.detection_memory, self.months_with_trade),
            (self.month_volume, self.month_detections),
        )
        if observed:
            self.months_observed += 1
        if enforcement.escalation.enabled:
            self.authorities.escalations += self.hub_detections >= enforcement.escalation.threshold_detections
        self.hub_detections[:] = 0.0
        if cfg.policy is not self._policy:  # the cells whose channel the rules in force audit
            self._policy = cfg.policy
            self._active = np.array([CHANNELS[c].audits_on(cfg.policy) for c in self.audited])[self._cell_channel]
        self.check_rate, self.audits = enforcement.allocate(
            active=self._active,
            parties=np.concatenate([self._parties(c) for c in self.audited]).astype(float),
            volume_memory=self.volume_memory,
            detection_memory=self.detection_memory,
            violation_rate=self.months_with_trade / max(self.months_observed, 1),
            cooperation=self.model.hub_columns.cooperation[self._cell_hub],
        )

    def _parties(self, channel: str) -> np.ndarray:
        """Per hub, the parties of a channel the regulator checks."""
        cls = CHANNELS[channel]
        if cls.audited is Audited.INTERMEDIARIES:
            return self.intermediaries.usable_count(cls.served_by)
        return self.operators.per_hub


@njit(cache=True)
def _remember(memory_share, count_months, memory, month):
    """Fold last month's volume and detections per cell into memory and empty them (compiled).

    With ``count_months``, a cell that had trade counts one more month with trade.
    """
    volume_memory, detection_memory, months_with_trade = memory
    month_volume, month_detections = month
    for cell in range(volume_memory.size):
        volume_memory[cell] = memory_share * volume_memory[cell] + month_volume[cell]
        detection_memory[cell] = memory_share * detection_memory[cell] + month_detections[cell]
        if count_months and month_volume[cell] > 0:
            months_with_trade[cell] += 1.0
        month_volume[cell] = 0.0
        month_detections[cell] = 0.0


@njit(cache=True)
def _observe(orders, audited_index, memory):
    """The loop of :meth:`Regulator.observe`, compiled.

    Each order abroad adds its detection to its hub's and, in an audited channel, its volume
    (unless refused) and detection to its cell's.
    """
    channel, hub, quantity_h100e, detected, refused = orders
    hub_detections, month_volume, month_detections = memory
    n_hubs = len(hub_detections)
    for k in range(channel.size):
        if hub[k] < 0:
            continue
        hub_detections[hub[k]] += detected[k]
        if audited_index[channel[k]] >= 0:
            cell = audited_index[channel[k]] * n_hubs + hub[k]
            if not refused[k]:
                month_volume[cell] += quantity_h100e[k]
            month_detections[cell] += detected[k]
