"""Where a firm's compute comes from: the stockpile, a channel at home, or a channel in a hub."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

import numpy as np

from sim.channels import CHANNEL_NAMES, CHANNELS, ILLICIT_CHANNELS, Source

__all__ = ["STOCKPILE", "Source", "Sources", "sources_of"]


#: Chips bought before the rules.
STOCKPILE = Source("stockpile")


class Sources:
    """The run's sources in a fixed order, and the cells firms hold detection beliefs about.

    Sources are the stockpile, the channels at home, then every offshore channel in every
    hub; a cell is an illicit channel in a hub.

    Attributes:
        all: The sources, in column order of every (firms x sources) array.
        cells: The belief cells.
        channel_index: Each source's channel, in ``CHANNEL_NAMES`` order (the stockpile: past the last).
        hub_index: Each source's hub, in hub order (at home: past the last).
        smuggled: Which sources bring controlled chips into China (a smuggling channel's hubs).
        source_of, cell_of: (channels x hubs + 1) the source and the belief cell (-1: none) of a
            channel in a hub, in ``CHANNEL_NAMES`` and hub order; the last column (hub -1) is home.
    """

    def __init__(self, hubs: tuple[str, ...]) -> None:
        home = [Source(name) for name, c in CHANNELS.items() if not c.offshore]
        abroad = [Source(name, hub) for name, c in CHANNELS.items() if c.offshore for hub in hubs]
        self.hubs = hubs
        self.all: tuple[Source, ...] = (STOCKPILE, *home, *abroad)
        self.cells: tuple[Source, ...] = tuple(Source(c, h) for c in ILLICIT_CHANNELS for h in hubs)
        self._index = {s: i for i, s in enumerate(self.all)}
        self._cell = {s: i for i, s in enumerate(self.cells)}
        self.channel_index = np.array(
            [CHANNEL_NAMES.index(s.channel) if s != STOCKPILE else len(CHANNEL_NAMES) for s in self.all]
        )
        self.hub_index = np.array([len(hubs) if s.hub is None else hubs.index(s.hub) for s in self.all])
        self.source_of = np.full((len(CHANNEL_NAMES), len(hubs) + 1), -1, dtype=np.intp)
        self.cell_of = self.source_of.copy()
        for table, listed in ((self.source_of, self.all), (self.cell_of, self.cells)):
            for i, s in enumerate(listed):
                if s.channel in CHANNELS:
                    table[CHANNEL_NAMES.index(s.channel), -1 if s.hub is None else hubs.index(s.hub)] = i
        self.smuggled = np.array([s.channel in CHANNELS and CHANNELS[s.channel].smuggles_chips() for s in self.all])
        for table in (self.channel_index, self.hub_index, self.source_of, self.cell_of, self.smuggled):
            table.flags.writeable = False  # shared by every run with these hubs (``sources_of``)

    def index(self, source: Source) -> int:
        """Column of a source."""
        return self._index[source]

    def of_channels(self, names: Iterable[str]) -> np.ndarray:
        """Which sources are of these channels, a flag per source."""
        chosen = np.zeros(len(CHANNEL_NAMES) + 1, dtype=bool)
        chosen[[CHANNEL_NAMES.index(name) for name in names]] = True
        return chosen[self.channel_index]

    def per_channel(self, per_source: np.ndarray) -> np.ndarray:
        """Sums of a value per source over each channel's sources, in ``CHANNEL_NAMES`` order."""
        return np.bincount(self.channel_index, per_source, minlength=len(CHANNEL_NAMES) + 1)[:-1]

    def per_hub(self, per_source: np.ndarray) -> np.ndarray:
        """Sums of a value per source over each hub's sources, in hub order."""
        return np.bincount(self.hub_index, per_source, minlength=len(self.hubs) + 1)[:-1]

    def cell(self, source: Source) -> int:
        """Index of an (illicit channel, hub) belief cell."""
        return self._cell[source]


@cache
def sources_of(hubs: tuple[str, ...]) -> Sources:
    """The sources of a run with these hubs, built once per process."""
    return Sources(hubs)
