"""Intermediaries: resellers, front companies and logistics brokers registered in a hub."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from mesa import Agent

from sim.config import Ownership

if TYPE_CHECKING:
    from sim.agents.operator import Operator
    from sim.model import ExportControlModel


class IntermediaryKind(StrEnum):
    """What an intermediary does, named by the channel it serves."""

    RESELLER = "smuggling"
    FRONT_COMPANY = "remote_rental"
    LOGISTICS_BROKER = "data_transport"


class Intermediary(Agent):
    """A reseller, front company or logistics broker in one hub.

    A front company or broker leases from one operator of its hub, drawn at registration.
    An intermediary with no business for ``idle_exit_months`` closes.

    Its detection probability at the checkpoints that involve it is scaled by its red flags:
    a local front shows fewer (``local_front_discount``), and every intermediary shows more
    as the volume it has handled grows (``exposure_per_kh100e``). When detected it is
    entity-listed and leaves the market.
    """

    model: ExportControlModel

    def __init__(
        self,
        model: ExportControlModel,
        kind: IntermediaryKind,
        hub: str,
        ownership: Ownership,
        owner: tuple,
        usable_from_month: int,
        operator: Operator | None,
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
        self.listed = False
        self.pool = 0

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
        if self.ownership is Ownership.LOCAL_FRONT:
            return 1.0 - self.model.cfg.policy.end_user_audits.local_front_discount
        return 1.0

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

    def refresh_capacity(self) -> None:
        """Register this month's handling capacity as a pool."""
        capacity = self.model.cfg.world.intermediaries.capacity_h100e_per_month
        self.pool = self.model.pools.add(("intermediary", self.unique_id), capacity)
