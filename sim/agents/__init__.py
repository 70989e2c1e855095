"""The model's agents: AI firms, intermediaries, data-centre operators and authorities."""

from sim.agents.firm import AIFirm
from sim.agents.intermediary import Intermediary, IntermediaryKind
from sim.agents.operator import Operator
from sim.agents.regulator import LocalAuthority, Regulator

__all__ = ["AIFirm", "Intermediary", "IntermediaryKind", "LocalAuthority", "Operator", "Regulator"]
