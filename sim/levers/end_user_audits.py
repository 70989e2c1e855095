"""Vendor end-user audits of resellers."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from sim.levers.base import Lever
from sim.schema import field


class EndUserAudits(Lever):
    """Vendor end-user audits of resellers."""

    key = "end_user_audits"
    labels: ClassVar[dict[str, str]] = {"audit_rate": "Vendor audit rate"}

    audit_rate: float = field(
        "Probability that a reseller's order is audited by the vendor.", "probability", ge=0, le=1
    )
    detection_given_audit: float = field("Probability that an audit uncovers a diversion.", "probability", ge=0, le=1)
    local_front_discount: float = field(
        "Reduction of red flags (audit and KYC detection) for a local front.", "share", ge=0, le=1
    )

    def detection(self, red_flags: np.ndarray) -> np.ndarray:
        """Probability that the vendor's audit detects an order from resellers with these red flags."""
        return np.minimum(1.0, self.audit_rate * self.detection_given_audit * red_flags)

    def red_flag_factor(self, local_front: np.ndarray) -> np.ndarray:
        """Multiplier on intermediaries' red flags: local fronts draw less attention."""
        return np.where(local_front, 1.0 - self.local_front_discount, 1.0)
