"""What follows a detection: fines, seizure, entity listing and news (docs/ODD.md, section 7.6)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.agents import Firms, Intermediaries, Operators
    from sim.metrics import MonthTally
    from sim.transactions import Transaction


class Consequences:
    """Applies the penalties of every detection, at a checkpoint or after delivery, and keeps count.

    Attributes:
        listed_entities: Intermediaries and firms entity-listed so far.
        first_detection_month: Month of the run's first detection, -1 before any.
    """

    def __init__(self, firms: Firms, intermediaries: Intermediaries, operators: Operators) -> None:
        self.firms = firms
        self.intermediaries = intermediaries
        self.operators = operators
        self.listed_entities = 0
        self.first_detection_month = -1

    def at_checkpoint(self, t: Transaction, checkpoint: str, cfg: Any, month: int, tally: MonthTally) -> None:
        """Fine, seize and list for a transaction detected at the checkpoint named ``checkpoint``.

        An operator caught by the regulator's check is fined and loses capacity.
        """
        penalties = cfg.policy.penalties
        months = t.channel.months_delivered(cfg)
        self.punish(t.firm_index, t.quantity_h100e, months, t.intermediary, cfg, month, tally)
        if penalties.seizure:
            tally.record_seizure(t)
        if checkpoint == "regulator_audit" and t.operator >= 0:
            self.operators.penalise(t.operator)
            tally.fines_usd += penalties.operator_fine_usd

    def punish(
        self,
        firm_index: int,
        quantity_h100e: float,
        months_delivered: int,
        intermediary: int,
        cfg: Any,
        month: int,
        tally: MonthTally,
    ) -> None:
        """Fine the firm; list it and the intermediary involved (row, -1: none; with affiliates) if the policy lists."""
        if self.first_detection_month < 0:
            self.first_detection_month = month
        tally.fines_usd += cfg.policy.penalties.fine_usd(quantity_h100e, months_delivered)
        rule = cfg.policy.entity_list
        if rule.list_on_detection:
            if intermediary >= 0:
                self.listed_entities += self.intermediaries.list_party(intermediary, rule.include_affiliates)
            self.listed_entities += self.firms.list_firm(firm_index, month, rule.firm_listing_months)
