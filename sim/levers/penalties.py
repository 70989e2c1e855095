"""Fines and seizures."""

from __future__ import annotations

from sim.levers.base import Lever
from sim.schema import field


class Penalties(Lever):
    """Fines and seizures."""

    key = "penalties"

    fine_usd_per_h100e_month: float = field(
        "Fine per unit of compute the detected transaction would have delivered.", "USD/H100e-month", ge=0
    )
    seizure: bool = field("Whether detected goods and leases are lost to the firm.")
    operator_fine_usd: float = field("Fine on an operator caught serving a restricted firm.", "USD", ge=0)

    def fine_usd(self, quantity_h100e: float, months_delivered: int) -> float:
        """Fine for a detected order of ``quantity_h100e`` that would have served ``months_delivered``."""
        return self.fine_usd_per_h100e_month * quantity_h100e * months_delivered
