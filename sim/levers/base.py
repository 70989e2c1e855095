"""The lever base class and its registry (``sim.levers`` imports every lever module)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from sim.schema import Schema

if TYPE_CHECKING:
    from sim.protocols import MonthView, Options

#: Registered levers by key, in module order.
LEVERS: dict[str, type[Lever]] = {}


class Lever(Schema):
    """A policy lever: a config section whose methods apply it.

    Attributes:
        key: Its section name under ``policy``.
        columns: Time-series columns it adds, with their documentation.
        counts: Those of its columns that count (integers in the time series).
        labels: What figures call its keys where the key alone loses its context, by key.
    """

    key: ClassVar[str]
    columns: ClassVar[dict[str, str]] = {}
    counts: ClassVar[tuple[str, ...]] = ()
    labels: ClassVar[dict[str, str]] = {}

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        LEVERS[cls.key] = cls

    @classmethod
    def summary(cls) -> str:
        """The first line of its docstring."""
        return (cls.__doc__ or cls.key).strip().splitlines()[0]

    def new_state(self) -> Any:
        """The lever's own per-run state (None for levers that keep none)."""
        return None

    def option_penalty_usd_per_h100e_month(self, month: MonthView, state: Any, options: Options) -> Any:
        """Extra expected cost per H100e-month of each (firm, option) this month (an array), or 0.

        ``options`` is the month's option table (``sim.option_table.OptionTable``).
        """
        return 0.0

    def after_delivery(self, month: MonthView, state: Any) -> None:
        """Act once deliveries have joined the firms' stock (phase 5)."""

    def month_columns(self, state: Any) -> dict[str, float]:
        """This month's values of its ``columns``."""
        return {}


def overriding(levers: list[Lever], hook: str) -> list[Lever]:
    """The levers, in order, whose class overrides the hook ``hook``: the base class's does nothing."""
    default = getattr(Lever, hook)
    return [lever for lever in levers if getattr(type(lever), hook) is not default]
