"""The US regulator's end-use checks: budget, allocation rule and escalation."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

import numpy as np

from sim.levers.base import Lever
from sim.schema import Schema, field


class Allocation(StrEnum):
    """How the regulator spreads its checks."""

    UNIFORM = "uniform"
    VOLUME = "volume"
    ADAPTIVE = "adaptive"
    BEST_RESPONSE = "best_response"


class Escalation(Schema):
    """The regulator tightening a hub's rules on its own."""

    enabled: bool = field("Whether the regulator escalates.", switch=True)
    threshold_detections: int = field("Detections in a hub in one month that trigger escalation.", "count", ge=1)
    customs_multiplier: float = field(
        "Multiplier on the hub's inspection rates at each escalation.", "ratio", ge=1, le=10
    )

    def multiplier(self, escalations: int) -> float:
        """Multiplier on a hub's inspection rates after ``escalations`` escalations."""
        return self.customs_multiplier**escalations


class Enforcement(Lever):
    """The US regulator's end-use checks."""

    key = "enforcement"
    labels: ClassVar[dict[str, str]] = {"audit_budget_per_month": "Regulator's audit budget"}

    audit_budget_per_month: float = field("End-use checks a month across the hubs.", "checks/month", ge=0)
    allocation: Allocation = field("Allocation rule: uniform, volume, adaptive or best_response.")
    detection_given_audit: float = field(
        "Probability that an end-use check on a party involved detects it.", "probability", ge=0, le=1
    )
    exploration: float = field("Share of audits the adaptive rule spreads uniformly.", "share", ge=0, le=1)
    memory: float = field(
        "Monthly retention of past detections (adaptive) and trade (volume).", "share/month", ge=0, le=1
    )
    check_cost_usd: float = field("best_response only: cost k of checking a cell for a month.", "USD/month", ge=0)
    detection_value_usd: float = field(
        "best_response only: value R of detecting a violation in a checked cell.", "USD", ge=0
    )
    escalation: Escalation = field("Self-escalation of the regulator.")

    def allocate(
        self,
        active: np.ndarray,
        parties: np.ndarray,
        volume_memory: np.ndarray,
        detection_memory: np.ndarray,
        violation_rate: np.ndarray,
        cooperation: np.ndarray,
    ) -> tuple[np.ndarray, float]:
        """Spread the month's checks over cells of (audited channel, hub).

        The rule (``allocation``) weighs the active cells:

        - ``uniform``: alike;
        - ``volume``: by remembered trade volume (uniform before any);
        - ``adaptive``: by remembered detections, a share ``exploration`` spread uniformly;
        - ``best_response``: alike over the cells worth checking, those where the share of
          months with trade v (fictitious play) makes ``v * p * R > k``, p being the
          probability that a check detects, R ``detection_value_usd``, k ``check_cost_usd``
          (the inspection game of Avenhaus and von Stengel).

        Checks in a cell are spread over its parties, so a party is checked with probability
        ``min(1, checks / parties)``.

        Args:
            active: Which cells may be checked.
            parties: Parties (resellers or operators) in each cell.
            volume_memory: Remembered trade volume per cell.
            detection_memory: Remembered detections per cell.
            violation_rate: Share of past months with trade, per cell.
            cooperation: The hub's cooperation, per cell.

        Returns:
            The probability that a party in each cell is checked, and the checks carried out.
        """
        uniform = active / np.count_nonzero(active)
        if self.allocation is Allocation.UNIFORM:
            weights = uniform
        elif self.allocation is Allocation.VOLUME:
            weights = _normalised(volume_memory * active, uniform)
        elif self.allocation is Allocation.ADAPTIVE:
            learned = _normalised(detection_memory * active, uniform)
            weights = self.exploration * uniform + (1 - self.exploration) * learned
        else:
            gain = violation_rate * self.detection_given_audit * cooperation * self.detection_value_usd
            weights = _normalised(active & (gain > self.check_cost_usd), np.zeros(len(active)))
        checks = self.audit_budget_per_month * weights
        check_rate = np.where(parties > 0, np.minimum(1.0, checks / np.maximum(parties, 1.0)), 0.0)
        return check_rate, float(np.minimum(checks, parties).sum())


def _normalised(weights: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    total = weights.sum()
    return weights / total if total > 0 else fallback
