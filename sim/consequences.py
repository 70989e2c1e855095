"""What follows a detection: fines, seizure, entity listing and news (docs/ODD.md, section 7.6)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.agents import Firms, Intermediaries
    from sim.channels import Checkpoint
    from sim.metrics import MonthTally
    from sim.transactions import Transaction


class Consequences:
    """Applies the penalties of every detection, at a checkpoint or after delivery, and keeps count.

    Attributes:
        listed_entities: Intermediaries and firms entity-listed so far.
        first_detection_month: Month of the run's first detection, -1 before any.
    """

    def __init__(self, firms: Firms, intermediaries: Intermediaries) -> None:
        self.firms = firms
        self.intermediaries = intermediaries
        self.listed_entities = 0
        self.first_detection_month = -1

    def at_checkpoint(self, t: Transaction, checkpoint: Checkpoint, cfg: Any, month: int, tally: MonthTally) -> None:
        """Fine, seize and list for a transaction detected at a checkpoint.

        An operator caught by the regulator's check is fined and loses capacity.
        """
        penalties = cfg.policy.penalties
        option = t.option
        months = option.channel.months_delivered(cfg)
        self.punish(t.firm_index, t.quantity_h100e, months, option.intermediary, cfg, month, tally)
        if penalties.seizure:
            tally.record_seizure(t)
        if checkpoint.name == "regulator_audit" and option.operator is not None:
            option.operator.penalise()
            tally.fines_usd += penalties.operator_fine_usd

    def punish(
        self,
        firm_index: int,
        quantity_h100e: float,
        months_delivered: int,
        intermediary: Any,
        cfg: Any,
        month: int,
        tally: MonthTally,
    ) -> None:
        """Fine the firm; list it and the intermediary involved (with affiliates) if the policy lists."""
        if self.first_detection_month < 0:
            self.first_detection_month = month
        tally.fines_usd += cfg.policy.penalties.fine_usd(quantity_h100e, months_delivered)
        rule = cfg.policy.entity_list
        if rule.list_on_detection:
            if intermediary is not None:
                self.listed_entities += self.intermediaries.list_party(intermediary, rule.include_affiliates)
            self.listed_entities += self.firms.list_firm(firm_index, month, rule.firm_listing_months)
