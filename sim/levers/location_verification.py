"""Chip location verification (the proposed US Chip Security Act): detection during use.

Export-controlled chips sold from ``from_month`` on carry location verification: a share
``verified_share`` of them reports where it operates. A verified chip operating in China is
detected with probability ``detection_per_month`` every month after delivery, so a chip
delivered in month 0 is found by month t with probability ``1 - (1 - q)^t``. A firm may
tamper with a delivery's verification at ``tamper_cost_usd_per_h100e``, after which it is
found only with ``tampered_detection_per_month``.

Decision rule (one, for both the order and the delivery): with T the amortisation months,
lambda the firm's risk aversion, v its value of an H100e-month, s = 1 when seizure is on (the
chips found are seized) and 0 otherwise, and F the fine per H100e-month, a chip found in month
t of its life loses the rest of it (with seizure) and is fined for all of it, so the expected
cost of a verified H100e-month is::

    lambda * (v * s * lost(q) + F * found(q)),  found(q) = 1 - (1 - q)^T,
    lost(q) = sum_{t=1..T} q (1 - q)^(t-1) (T - t) / T

untampered, and ``c / T`` plus the same with q_t when tampered. A firm tampers with a
delivery iff the second is lower, and values a smuggling option with ``verified_share``
times the lower of the two as an extra cost. Firms know q and q_t: the rule and its
technology are public.

A detected delivery ("lot") is handled as a detection at a checkpoint: its chips are seized
(with seizure on), the firm is fined for the lot's full life, listed, and the detection is news
for the smuggling channel in the lot's hub. Lots depreciate with the stock they belong to.
Chips count as sold when they are delivered (a sale precedes delivery by the lead time).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from pydantic import field_validator

from sim.levers.base import Lever
from sim.schema import field
from sim.timeline import check_year_month, month_index

if TYPE_CHECKING:
    from sim.protocols import MonthView, Options


@dataclass
class Lots:
    """Verified deliveries still in firms' stock, and this month's counts."""

    firm_index: list[int] = dataclass_field(default_factory=list)
    source: list[Any] = dataclass_field(default_factory=list)
    quantity_h100e: list[float] = dataclass_field(default_factory=list)
    tampered: list[bool] = dataclass_field(default_factory=list)
    detections: int = 0
    seized_h100e: float = 0.0
    tampered_h100e: float = 0.0


class LocationVerification(Lever):
    """Chip location verification: verified chips operating in China are detected during use."""

    key = "location_verification"
    labels: ClassVar[dict[str, str]] = {
        "detection_per_month": "Verified chip found",
        "tampered_detection_per_month": "Tampered chip found",
    }
    columns: ClassVar[dict[str, str]] = {
        "verification_detections": "Verified deliveries found operating in China this month (location verification).",
        "verification_seized_h100e": "Chips seized this month after location verification found them.",
        "verification_tampered_h100e": "Verified chips delivered this month whose firm disabled the verification.",
    }
    counts: ClassVar[tuple[str, ...]] = ("verification_detections",)

    enabled: bool = field("Whether export-controlled chips carry location verification.", switch=True)
    from_month: str = field("First month whose deliveries carry it, YYYY-MM.")
    verified_share: float = field(
        "Share of the chips delivered from then on that report their location.", "share", ge=0, le=1
    )
    detection_per_month: float = field(
        "Monthly probability q that a verified chip operating in China is detected.",
        "probability/month",
        ge=0,
        le=1,
    )
    tamper_cost_usd_per_h100e: float = field(
        "Cost c of disabling the verification of one H100e of chips.", "USD/H100e", ge=0
    )
    tampered_detection_per_month: float = field(
        "Monthly probability q_t that a tampered chip is still detected.", "probability/month", ge=0, le=1
    )

    _month = field_validator("from_month")(classmethod(lambda cls, v: check_year_month(v)))

    def new_state(self) -> Lots:
        """No verified lot at the start."""
        return Lots()

    def _in_force(self, month: MonthView) -> bool:
        return self.enabled and month.month >= month_index(month.cfg.start, self.from_month)

    def expected_costs_usd(self, month: MonthView) -> tuple[np.ndarray, np.ndarray]:
        """Per firm, the expected cost of one verified H100e-month untampered and tampered."""
        cfg = month.cfg
        life = cfg.world.market.amortisation_months
        penalties = cfg.policy.penalties
        value = month.firm_value_usd * penalties.seizure

        def expected(q: float) -> np.ndarray:
            found_in = q * (1.0 - q) ** np.arange(life)  # found in month t = 1..T of its life
            lost = float(found_in @ (life - np.arange(1, life + 1))) / life
            found = 1.0 - (1.0 - q) ** life
            return month.firm_risk_aversion * (value * lost + penalties.fine_usd_per_h100e_month * found)

        untampered = expected(self.detection_per_month)
        tampered = self.tamper_cost_usd_per_h100e / life + expected(self.tampered_detection_per_month)
        return untampered, tampered

    def option_penalty_usd_per_h100e_month(self, month: MonthView, state: Any, options: Options) -> Any:
        """``verified_share`` times the lower expected cost, on options that smuggle chips in."""
        if not self._in_force(month):
            return 0.0
        untampered, tampered = self.expected_costs_usd(month)
        return self.verified_share * np.minimum(untampered, tampered)[:, None] * options.smuggles[None, :]

    def after_delivery(self, month: MonthView, state: Lots) -> None:
        """Depreciate lots, check every lot still in use, then add this month's verified deliveries."""
        state.detections, state.seized_h100e, state.tampered_h100e = 0, 0.0, 0.0
        if not self._in_force(month):
            return
        retention = 1.0 - month.cfg.world.firms.stock_depreciation_per_month
        life = month.cfg.world.market.amortisation_months
        state.quantity_h100e = [q * retention for q in state.quantity_h100e]
        p = np.where(state.tampered, self.tampered_detection_per_month, self.detection_per_month)
        found = month.rng.random(len(p)) < p if len(p) else np.zeros(0, dtype=bool)
        for i in np.flatnonzero(found):
            firm, source, quantity = state.firm_index[i], state.source[i], state.quantity_h100e[i]
            if month.cfg.policy.penalties.seizure:
                state.seized_h100e += month.seize_stock(firm, source, quantity)
            month.detected(firm, source, quantity, life)
            state.detections += 1
        keep = ~found
        for name in ("firm_index", "source", "quantity_h100e", "tampered"):
            setattr(state, name, [v for v, k in zip(getattr(state, name), keep, strict=True) if k])
        untampered, tampered = self.expected_costs_usd(month)
        arrived = month.arrivals
        smuggled = month.sources.smuggled[arrived.source]
        for firm, source, quantity_h100e in zip(
            arrived.firm_index[smuggled].tolist(),
            arrived.source[smuggled].tolist(),
            arrived.quantity_h100e[smuggled].tolist(),
            strict=True,
        ):
            tamper = bool(tampered[firm] < untampered[firm])
            quantity = quantity_h100e * self.verified_share
            state.firm_index.append(firm)
            state.source.append(month.sources.all[source])
            state.quantity_h100e.append(quantity)
            state.tampered.append(tamper)
            state.tampered_h100e += quantity * tamper

    def month_columns(self, state: Lots) -> dict[str, float]:
        """This month's detections, seizures and tampering."""
        return {
            "verification_detections": state.detections,
            "verification_seized_h100e": state.seized_h100e,
            "verification_tampered_h100e": state.tampered_h100e,
        }
