"""Customs in the hubs: cargo and passenger inspections."""

from __future__ import annotations

import numpy as np

from sim.levers.base import Lever
from sim.schema import field


class Customs(Lever):
    """Customs in the hubs."""

    key = "customs"

    cargo_multiplier: float = field("Multiplier on every hub's cargo inspection rate.", "ratio", ge=0, le=100)
    passenger_multiplier: float = field("Multiplier on every hub's passenger inspection rate.", "ratio", ge=0, le=100)
    detection_given_cargo_inspection: float = field(
        "Probability that inspecting a smuggled shipment detects it.", "probability", ge=0, le=1
    )
    detection_given_drive_inspection: float = field(
        "Probability that searching a traveller with drives stops the trip.", "probability", ge=0, le=1
    )
    detection_given_weights_inspection: float = field(
        "Probability that searching the returning traveller finds the weights.", "probability", ge=0, le=1
    )

    def cargo_rate(self, hub_rate: np.ndarray, escalation: np.ndarray) -> np.ndarray:
        """Share of hubs' outbound cargo inspected, given their own rates and escalation multipliers."""
        return np.minimum(1.0, hub_rate * self.cargo_multiplier * escalation)

    def passenger_rate(self, hub_rate: np.ndarray, escalation: np.ndarray) -> np.ndarray:
        """Share of hubs' travellers searched, given their own rates and escalation multipliers."""
        return np.minimum(1.0, hub_rate * self.passenger_multiplier * escalation)
