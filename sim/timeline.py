"""The scenario timeline: dated events that change settable config values, compiled before a run.

A scenario's ``timeline`` maps an event's name to the month it takes effect, what it sets and
its source. Names let scenarios share events through Hydra's defaults (``configs/timeline/``)
and replace one by name instead of copying the rest. A value may change on the timeline only
if the schema marks it settable (``field(..., timeline=True)``), because only those are read
every month; the others are fixed at the start.
"""

from __future__ import annotations

import re
import threading
from functools import cache
from typing import Annotated, Any, NamedTuple

from pydantic import BaseModel, field_validator, model_validator

from sim.schema import READ_ONLY, Schema, SettingsError, field, field_at, field_names, keys_at, with_settings

YEAR_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def check_year_month(value: str) -> str:
    """Return ``value`` if it is a month written ``YYYY-MM``; raise ValueError otherwise."""
    if not YEAR_MONTH.match(value):
        raise ValueError(f"expected a month as YYYY-MM, got {value!r}")
    return value


@cache
def month_index(start: str, month: str) -> int:
    """Months from ``start`` to ``month``, both ``YYYY-MM``."""
    y0, m0 = map(int, start.split("-"))
    y1, m1 = map(int, month.split("-"))
    return (y1 - y0) * 12 + (m1 - m0)


def month_labels(start: str, months: int) -> list[str]:
    """YYYY-MM labels of ``months`` months from ``start``."""
    return list(_month_labels(start, months))


@cache
def _month_labels(start: str, months: int) -> tuple[str, ...]:
    year, month = map(int, start.split("-"))
    labels = []
    for i in range(months):
        y, m = divmod(month - 1 + i, 12)
        labels.append(f"{year + y:04d}-{m + 1:02d}")
    return tuple(labels)


def month_of_year(start: str, month: int) -> int:
    """Calendar month (1-12) of a month index counted from ``start``."""
    first = int(start.split("-")[1]) - 1
    return (first + month) % 12 + 1


class Event(Schema):
    """A dated change of settable values.

    An event dated before the run's start is in force from the first month; one dated
    after its end is never reached. Events of the same month apply in timeline order.
    """

    month: str = field("Month the change takes effect, YYYY-MM.")
    set: Annotated[dict[str, Any], READ_ONLY] = field("Dotted config paths of settable values and their new values.")
    note: str = field("What happened, with its source.", min_length=1)
    label: str | None = field(
        "What figures call it, briefly (null: its name in words); says what happened when the name does not.",
        default=None,
    )
    announced: str | None = field(
        "Month the rule became known, YYYY-MM, before it takes effect; firms anticipate it from then "
        "(null: a surprise).",
        default=None,
    )
    expected: Annotated[dict[str, Any] | None, READ_ONLY] = field(
        "What firms expect the rule to set once announced, when that is not what it sets (a rule rescinded "
        "before it took effect); null: what it sets.",
        default=None,
    )

    _month = field_validator("month")(classmethod(lambda cls, v: check_year_month(v)))
    _announced = field_validator("announced")(classmethod(lambda cls, v: v if v is None else check_year_month(v)))

    @model_validator(mode="after")
    def _announced_first(self) -> Event:
        if self.announced is not None and self.announced > self.month:
            raise ValueError(f"announced {self.announced} is after the month it takes effect, {self.month}")
        if not self.set and not self.expected:
            raise ValueError("the event sets nothing (set: {}) and firms expect nothing of it (no expected:)")
        return self

    def anticipated(self) -> dict[str, Any]:
        """The settings firms expect once the rule is announced."""
        return self.set if self.expected is None else self.expected


@cache
def is_settable(root: type[BaseModel], path: str) -> bool:
    """Whether a dotted path lies under a field the schema marks ``timeline=True``."""
    parts = tuple(path.split("."))
    for depth in range(1, len(parts) + 1):
        info = field_at(root, parts[:depth])
        extra = info.json_schema_extra if info is not None else None
        if isinstance(extra, dict) and extra.get("timeline"):
            return True
    return False


def check_event_path(cfg: BaseModel, name: str, path: str) -> None:
    """Raise ValueError if an event sets a key that does not exist or is fixed at the start."""
    root = type(cfg)
    node: Any = cfg
    parts = path.split(".")
    for depth, key in enumerate(parts):
        keys = field_names(type(node)) if isinstance(node, BaseModel) else node if isinstance(node, dict) else None
        if keys is None or key not in keys:
            where = ".".join(parts[:depth]) or "the top level"
            if keys is None:
                raise ValueError(f"timeline.{name} sets {path!r}: {where} has no sub-keys")
            noun = "hub" if parts[depth - 1 : depth] == ["hubs"] else "key"
            raise ValueError(
                f"timeline.{name} sets {path!r}: unknown {noun} {key!r} under {where}; allowed: {', '.join(keys)}"
            )
        node = getattr(node, key) if isinstance(node, BaseModel) else node[key]
    if not is_settable(root, path):
        parent = tuple(parts[:-1])
        settable = [k for k in keys_at(root, parent) if is_settable(root, ".".join((*parent, k)))]
        raise ValueError(
            f"timeline.{name} sets {path!r}: this value is fixed at start; "
            f"settable here: {', '.join(settable) or 'none (try policy.* or world.hubs.<hub>.*)'}"
        )


#: The validation context of a config made from one whose timeline was checked, by settable values
#: only (an event's): those never add or remove a key, so its events' paths need no new check.
EVENT_PATHS_CHECKED = {"event_paths_checked": True}


class TimelineEventError(ValueError):
    """A timeline event sets a value the schema does not allow."""

    def __init__(self, name: str, event: Event, error: SettingsError) -> None:
        super().__init__(f"timeline event {name} ({event.month}): {error}")
        self.name = name
        self.event = event
        self.error = error


def compile_timeline[C: Schema](cfg: C) -> dict[int, C]:
    """The config in force from each event month on, keyed by month index.

    ``cfg`` needs ``start``, ``months`` and ``timeline`` (event name to :class:`Event`).
    Events before the start take effect in month 0; events after the end are left out.

    Raises:
        TimelineEventError: An event sets a value the schema does not allow.
    """
    compiled: dict[int, C] = {}
    current = cfg
    for name, event in sorted(cfg.timeline.items(), key=lambda item: item[1].month):
        try:
            if event.expected is not None:  # what firms expect must be a valid config too
                with_settings(current, event.expected, EVENT_PATHS_CHECKED)
            current = with_settings(current, event.set, EVENT_PATHS_CHECKED)
        except SettingsError as exc:
            raise TimelineEventError(name, event, exc) from None
        month = max(0, month_index(cfg.start, event.month))
        if month < cfg.months:
            compiled[month] = current
    return compiled


def compile_expectations(cfg: Any) -> dict[int, dict[str, Any]]:
    """The settings firms expect in each month from rules announced but not yet in effect.

    Month m holds the anticipated settings of every event with ``announced <= m < month``, in
    the order the events take effect; months with nothing announced are left out.
    """
    expected: dict[int, dict[str, Any]] = {}
    for event in sorted(cfg.timeline.values(), key=lambda e: e.month):
        if event.announced is None:
            continue
        first = max(0, month_index(cfg.start, event.announced))
        for month in range(first, min(cfg.months, month_index(cfg.start, event.month))):
            expected.setdefault(month, {}).update(event.anticipated())
    for month in sorted(expected):  # months expecting the same share one dict: its config is composed once
        if expected.get(month - 1) == expected[month]:
            expected[month] = expected[month - 1]
    return expected


class Rules(NamedTuple):
    """A run's configs over time (``ExportControlModel`` reads them month by month).

    Attributes:
        in_force: The config in force from each event month on (:func:`compile_timeline`).
        expected: For each month with rules announced but not yet in effect, the config in
            force then with those rules applied (:func:`compile_expectations`).
    """

    in_force: dict[int, Any]
    expected: dict[int, Any]


#: Rules composed so far in this process, by config without its seed; the oldest go first.
_RULES: dict[str, Rules] = {}
_RULES_KEPT = 64
_RULES_LOCK = threading.Lock()  # a worker may run several runs in threads


def compile_rules[C: Schema](cfg: C) -> Rules:
    """The configs a run of ``cfg`` moves through, each carrying ``cfg``'s seed.

    Configs that differ only in their seed move through the same rules, so a process composes
    (and validates) them once for all seeds of a config, as a sweep's replications need.

    Raises:
        TimelineEventError: An event sets a value the schema does not allow.
    """
    key = cfg.model_dump_json(exclude={"seed"})
    with _RULES_LOCK:
        if key not in _RULES:
            if len(_RULES) >= _RULES_KEPT:
                del _RULES[next(iter(_RULES))]
            _RULES[key] = _composed(cfg)
        in_force, expected = _RULES[key]
    copies: dict[int, C] = {}  # by the composed config's id: months that shared one still do

    def seeded(composed: C) -> C:
        if id(composed) not in copies:
            copies[id(composed)] = composed.model_copy(update={"seed": cfg.seed})
        return copies[id(composed)]

    return Rules({m: seeded(c) for m, c in in_force.items()}, {m: seeded(c) for m, c in expected.items()})


def _composed[C: Schema](cfg: C) -> Rules:
    """The rules of :func:`compile_rules`, composed: each expected config once per config in force and expectation."""
    in_force = compile_timeline(cfg)
    expected: dict[int, C] = {}
    composed: dict[tuple[int, int], C] = {}
    for month, settings in compile_expectations(cfg).items():
        since = [m for m in in_force if m <= month]
        current = in_force[max(since)] if since else cfg
        key = (id(current), id(settings))  # months expecting the same share one settings dict
        if key not in composed:
            composed[key] = with_settings(current, settings, EVENT_PATHS_CHECKED)
        expected[month] = composed[key]
    return Rules(in_force, expected)
