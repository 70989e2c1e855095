"""One run, month by month, for teaching: the model's state after each month as small tables.

The stepper drives the model ``run()`` uses, one ``step()`` at a time, so its monthly rows are
the first rows of ``run(config).timeseries``. It only reads the agents between months.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.channels import CHANNEL_NAMES, IntermediaryKind
from sim.config import Config
from sim.model import ExportControlModel
from sim.report.names import SOURCE_ORDER
from sim.sources import STOCKPILE
from sim.timeline import month_labels


class Stepper:
    """One run of a config, advanced a month at a time.

    Attributes:
        config: The config run (its seed included).
        model: The Mesa model.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self.model = ExportControlModel(config)
        self._labels = month_labels(config.start, config.months)

    @property
    def months_done(self) -> int:
        """Months simulated so far."""
        return len(self.model.rows)

    @property
    def finished(self) -> bool:
        """Whether every month of the config has been simulated."""
        return self.months_done >= self.config.months

    @property
    def month(self) -> str:
        """The last month simulated, YYYY-MM ('' before the first)."""
        return self._labels[self.months_done - 1] if self.months_done else ""

    def step(self, months: int = 1) -> None:
        """Simulate up to ``months`` more months (never past the config's end)."""
        for _ in range(min(months, self.config.months - self.months_done)):
            self.model.step()

    def timeseries(self) -> pd.DataFrame:
        """The months simulated so far, as ``run()``'s time series (``month`` first)."""
        return self.model.timeseries()

    def events(self) -> list[tuple[str, str, str]]:
        """The timeline events that took effect in the last month simulated: (name, month, note)."""
        return [
            (name, event.month, event.note)
            for name, event in self.config.timeline.items()
            if self.months_done and event.month == self.month
        ]

    def firms(self) -> pd.DataFrame:
        """Each firm after the last month: class, demand, compute used in all and by source (H100e-months), listed.

        The sources sum to ``used``, and over the firms to the month's ``access_<source>`` columns.
        """
        model = self.model
        firms = model.firms
        classes = [name for name, params in self.config.world.firms.classes.items() for _ in range(params.count)]
        month = max(0, self.months_done - 1)
        demand, used = (
            firms.use(month) if self.months_done else (firms.demand_h100e(0), np.zeros_like(firms.stock_h100e))
        )
        by_channel = np.array([model.sources.per_channel(row) for row in used])
        stockpile = used[:, model.sources.index(STOCKPILE)]
        frame = pd.DataFrame(
            {"firm": range(len(classes)), "class": classes, "demand": demand, "used": used.sum(axis=1)}
        )
        frame["stockpile"] = stockpile
        for k, channel in enumerate(CHANNEL_NAMES):
            frame[channel] = by_channel[:, k]
        frame["listed"] = firms.listed(month + 1) if self.months_done else firms.listed(0)
        return frame[["firm", "class", "demand", "used", *SOURCE_ORDER, "listed"]]

    def intermediaries(self) -> pd.DataFrame:
        """Every intermediary registered so far: ``hub``, ``kind``, ``ownership``, ``status``, ``handled_h100e``.

        ``status`` is ``active`` (usable), ``registering`` (not yet usable), ``listed`` or ``closed``
        (idle too long); a listed one keeps the hub it was listed in.
        """
        month = self.model.month if self.months_done else 0
        rows = []
        for agent in self.model.intermediaries.agents:
            if agent.listed:
                status = "listed"
            elif not agent.in_market:
                status = "closed"
            else:
                status = "active" if month >= agent.usable_from_month else "registering"
            rows.append(
                {
                    "hub": agent.hub,
                    "kind": agent.kind.value,
                    "ownership": agent.ownership.value,
                    "status": status,
                    "handled_h100e": agent.handled_h100e,
                }
            )
        return pd.DataFrame(rows, columns=["hub", "kind", "ownership", "status", "handled_h100e"])

    def hubs(self) -> pd.DataFrame:
        """Intermediaries per hub: active ones by kind, and how many are registering, listed and closed."""
        table = self.intermediaries()
        kinds = [kind.value for kind in IntermediaryKind]
        rows = []
        for hub in self.config.world.hubs:
            here = table[table["hub"] == hub]
            active = here[here["status"] == "active"]
            row: dict[str, object] = {"hub": hub}
            row |= {kind: int((active["kind"] == kind).sum()) for kind in kinds}
            row |= {status: int((here["status"] == status).sum()) for status in ("registering", "listed", "closed")}
            rows.append(row)
        return pd.DataFrame(rows)
