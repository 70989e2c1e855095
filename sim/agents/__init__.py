"""The model's agents: AI firms, intermediaries, data-centre operators and authorities."""

from sim.agents.firm import AIFirm, Firms
from sim.agents.intermediary import Intermediaries, Intermediary, entry_risk
from sim.agents.operator import Operator
from sim.agents.regulator import LocalAuthority, Regulator

__all__ = [
    "AIFirm",
    "Firms",
    "Intermediaries",
    "Intermediary",
    "LocalAuthority",
    "Operator",
    "Regulator",
    "entry_risk",
]
