"""Which channels the rules announced for later will close (docs/ODD.md, section 7.15)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sim.channels import Channel
from sim.config import Config


class _Expected:
    """A channel view as it would be under the config firms expect (announced rules applied)."""

    def __init__(self, view: Any, cfg: Any) -> None:
        self._view = view
        self.cfg = cfg

    def __getattr__(self, name: str) -> Any:
        return getattr(self._view, name)


def closing_channels(
    view: Any, channels: Iterable[Channel], open_now: frozenset[str], expected: Config | None
) -> frozenset[str]:
    """Channels with options now and closed under the ``expected`` config (empty when nothing is announced).

    Args:
        view: The month's ``sim.protocols.ChannelView`` (the model).
        channels: Every channel.
        open_now: The channels with options this month.
        expected: The config in force with the rules announced but not yet in effect, or None.
    """
    if expected is None:
        return frozenset()
    future = _Expected(view, expected)
    return frozenset(c.name for c in channels if c.name in open_now and not c.is_open(future))
