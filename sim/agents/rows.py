"""Agents whose state is a row of their population's arrays, and the columns they read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mesa import Agent


class RowAgent(Agent):
    """A Mesa agent whose state is row ``row`` of its ``population``'s arrays.

    The population's array operations change the state; the agent reads it through :class:`Column` s.
    """

    def __init__(self, model: Any, population: Any, row: int) -> None:
        super().__init__(model)
        self.population = population
        self.row = row


class Column:
    """An agent's value in one column of its population: ``population.<name>[agent.row]``, read-only.

    Args:
        name: The population's attribute holding the column.
        convert: Turns the population and the stored value into what the agent shows (by
            default the plain Python number or bool).
    """

    def __init__(self, name: str, convert: Callable[[Any, Any], Any] = lambda population, value: value.item()) -> None:
        self.name = name
        self.convert = convert

    def __get__(self, agent: RowAgent | None, owner: type | None = None) -> Any:
        if agent is None:
            return self
        population = agent.population
        return self.convert(population, getattr(population, self.name)[agent.row])
