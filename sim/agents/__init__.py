"""The model's agents: AI firms, intermediaries, data-centre operators and authorities."""

from sim.agents.firm import AIFirm, Firms
from sim.agents.intermediary import Intermediaries, Intermediary, PartyTerms, entry_risk
from sim.agents.operator import Operator, Operators
from sim.agents.regulator import Authorities, LocalAuthority, Regulator

__all__ = [
    "AIFirm",
    "Authorities",
    "Firms",
    "Intermediaries",
    "Intermediary",
    "LocalAuthority",
    "Operator",
    "Operators",
    "PartyTerms",
    "Regulator",
    "entry_risk",
]
