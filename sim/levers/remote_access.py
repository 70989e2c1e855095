"""Know-your-customer rules for cloud providers."""

from __future__ import annotations

import numpy as np

from sim.levers.base import Lever
from sim.schema import field


class RemoteAccess(Lever):
    """Know-your-customer rules for cloud providers."""

    key = "remote_access"

    kyc_required: bool = field("Whether operators must screen foreign customers.", switch=True)
    kyc_min_strictness: float = field(
        "Screening strictness every operator must reach when KYC is required.", "probability", ge=0, le=1
    )
    operator_audits: bool = field("Whether the regulator audits operators for remote access.", switch=True)

    def strictness(self, chosen: np.ndarray) -> np.ndarray:
        """Operators' screening strictness: their own choice, raised to the floor when KYC is required."""
        return np.maximum(chosen, self.kyc_min_strictness) if self.kyc_required else chosen
