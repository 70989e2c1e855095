"""The US regulator and the local authorities of the hubs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from mesa import Agent

from sim.config import Allocation

if TYPE_CHECKING:
    from sim.model import ExportControlModel

#: Channels whose parties the regulator's end-use checks target: resellers and operators.
AUDITED_CHANNELS = ("smuggling", "remote_rental")


class LocalAuthority(Agent):
    """Customs of one hub: cargo and passenger inspections, tightened by escalation."""

    model: ExportControlModel

    def __init__(self, model: ExportControlModel, hub: str) -> None:
        super().__init__(model)
        self.hub = hub
        self.escalations = 0

    def _multiplier(self) -> float:
        return self.model.cfg.policy.enforcement.escalation.customs_multiplier**self.escalations

    def cargo_inspection_rate(self) -> float:
        """Share of outbound cargo inspected this month."""
        cfg = self.model.cfg
        rate = cfg.world.hubs[self.hub].cargo_inspection_rate * cfg.policy.customs.cargo_multiplier
        return min(1.0, rate * self._multiplier())

    def passenger_inspection_rate(self) -> float:
        """Share of travellers searched this month."""
        cfg = self.model.cfg
        rate = cfg.world.hubs[self.hub].passenger_inspection_rate * cfg.policy.customs.passenger_multiplier
        return min(1.0, rate * self._multiplier())


class Regulator(Agent):
    """The US export authority: allocates end-use checks, lists parties, escalates.

    Allocation rules (``policy.enforcement.allocation``), over cells of (audited channel,
    hub); operator cells only when remote-access rules call for operator audits:

    - ``uniform``: the same number of checks in every cell;
    - ``volume``: proportional to remembered trade volume in the cell (uniform before any);
    - ``adaptive``: proportional to remembered detections, with a share ``exploration``
      spread uniformly (uniform before any detection);
    - ``best_response``: the budget is spread over the cells worth checking, those whose
      share of past months with trade v (fictitious play) makes ``v * p * R > k``, with p the
      probability that a check detects, R ``detection_value_usd`` and k ``check_cost_usd``
      (the inspection game of Avenhaus and von Stengel).

    Checks in a cell are spread over its parties (usable resellers, or operators), so a
    party is checked with probability ``min(1, checks / parties)``; a check detects an
    illicit transaction with ``detection_given_audit`` if the hub's authority cooperates.
    """

    model: ExportControlModel

    def __init__(self, model: ExportControlModel, hubs: list[str]) -> None:
        super().__init__(model)
        self.cells = [(c, h) for c in AUDITED_CHANNELS for h in hubs]
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

    def observe(self, channel: str, hub: str, volume_h100e: float, detected: bool) -> None:
        """Record a transaction's trade volume and whether it was detected."""
        self.hub_detections[hub] += int(detected)
        i = self._cell_index.get((channel, hub))
        if i is not None:
            self.month_volume[i] += volume_h100e
            self.month_detections[i] += int(detected)

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
                    self.model.authorities[hub].escalations += 1
        self.hub_detections = dict.fromkeys(self.hub_detections, 0)
        self._allocate()

    def _allocate(self) -> None:
        enforcement = self.model.cfg.policy.enforcement
        active = np.array(
            [c == "smuggling" or self.model.cfg.policy.remote_access.operator_audits for c, _ in self.cells]
        )
        uniform = active / active.sum()
        if enforcement.allocation is Allocation.UNIFORM:
            weights = uniform
        elif enforcement.allocation is Allocation.VOLUME:
            weights = _normalised(self.volume_memory * active, uniform)
        elif enforcement.allocation is Allocation.ADAPTIVE:
            learned = _normalised(self.detection_memory * active, uniform)
            weights = enforcement.exploration * uniform + (1 - enforcement.exploration) * learned
        else:
            violation = self.months_with_trade / max(self.months_observed, 1)
            cooperation = np.array([self.model.cfg.world.hubs[h].cooperation for _, h in self.cells])
            gain = violation * enforcement.detection_given_audit * cooperation * enforcement.detection_value_usd
            weights = _normalised(active & (gain > enforcement.check_cost_usd), np.zeros(len(self.cells)))
        checks = enforcement.audit_budget_per_month * weights
        parties = np.array([self._parties(c, h) for c, h in self.cells], dtype=float)
        self.check_rate = np.where(parties > 0, np.minimum(1.0, checks / np.maximum(parties, 1.0)), 0.0)
        self.audits = float(np.minimum(checks, parties).sum())

    def _parties(self, channel: str, hub: str) -> int:
        if channel == "smuggling":
            return len(self.model.usable_intermediaries(channel, hub))
        return len(self.model.operators_in(hub))


def _normalised(weights: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    total = weights.sum()
    return weights / total if total > 0 else fallback
