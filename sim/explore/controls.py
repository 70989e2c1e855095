"""The explorer's controls, generated from the config schema.

Each control is one settable scalar of the config (a number, a switch or a choice) with the
field's description, unit and limits. Controls are grouped as the config is: the scenario,
the policy levers (``policy.*``), the world's uncertainties (each hub's settable rates and
prices, ``world.hubs.<hub>.*``, and ``world.market``) and firm behaviour (``behaviour``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum
from types import UnionType
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from sim.config import Config
from sim.report.names import factor_label, label
from sim.schema import bounds, inner_model, unit

SCENARIO, POLICY, WORLD, BEHAVIOUR = "Scenario", "Policy levers", "World uncertainties", "Behaviour"
#: The control groups, in page order.
GROUPS = (SCENARIO, POLICY, WORLD, BEHAVIOUR)
#: Values that mean "none" in a number box of a field that may be null.
NULL_WORDS = ("", "null", "none")
#: Whole numbers with more values than this get a number box, not a slider.
MAX_INT_SLIDER_STEPS = 1000


@dataclass(frozen=True)
class Control:
    """One settable config value as the page shows it.

    Attributes:
        path: Dotted config path, e.g. ``policy.end_user_audits.audit_rate``.
        group: One of :data:`GROUPS`.
        section: The heading it is listed under within its group (a lever, a hub, the market).
        label: Readable name with its unit.
        kind: ``float``, ``int``, ``bool`` or ``choice``.
        description: The schema's description of the field.
        unit: The field's unit ('' for none).
        limits: Its numeric limits, keyed ``ge``, ``gt``, ``le``, ``lt``.
        choices: The options of a choice.
        optional: Whether it may be null (none).
        events: Timeline events of the scenario that change it later ("h20_licence (2025-04)").
    """

    path: str
    group: str
    section: str
    label: str
    kind: str
    description: str
    unit: str = ""
    limits: tuple[tuple[str, float], ...] = ()
    choices: tuple[str, ...] = ()
    optional: bool = False
    events: tuple[str, ...] = ()

    @property
    def css_class(self) -> str:
        """A CSS class naming the control on the page: ``control-policy-end_user_audits-audit_rate``."""
        return "control-" + self.path.replace(".", "-")

    @property
    def is_slider(self) -> bool:
        """Whether it is a number limited on both sides (shown as a slider; others as a number box)."""
        limits = dict(self.limits)
        has_low = "ge" in limits or "gt" in limits
        has_high = "le" in limits or "lt" in limits
        if self.kind == "int" and has_low and has_high:  # a seed's billions of values need a number box
            return limits.get("le", limits.get("lt")) - limits.get("ge", limits.get("gt")) <= MAX_INT_SLIDER_STEPS
        return self.kind == "float" and has_low and has_high and not self.optional

    def allowed(self) -> str:
        """Its limits in words: ``0 <= value <= 1 probability``, or '' for a switch, a choice or no limits."""
        if self.kind not in ("float", "int"):
            return ""
        limits = {kind: _number(limit) for kind, limit in self.limits}
        low = f"{limits['ge']} <= " if "ge" in limits else f"{limits['gt']} < " if "gt" in limits else ""
        high = f" <= {limits['le']}" if "le" in limits else f" < {limits['lt']}" if "lt" in limits else ""
        text = f"{low}value{high}" if low or high else "any number"
        return text + (f" {self.unit}" if self.unit else "") + ("; empty for none" if self.optional else "")

    def tooltip(self) -> str:
        """The hover text: description, unit, limits and the timeline events that change it."""
        parts = [self.description]
        if self.unit:
            parts.append(f"Unit: {self.unit}.")
        if self.allowed():
            parts.append(f"Allowed: {self.allowed()}.")
        if self.choices:
            parts.append(f"Options: {', '.join(self.choices)}.")
        if self.events:
            parts.append(f"Changed later on the scenario's timeline by {', '.join(self.events)}.")
        parts.append(f"Key: {self.path}")
        return " ".join(parts)

    def slider_range(self, value: float) -> tuple[float, float, float]:
        """The slider's (min, max, step): the field's limits, a step fine enough to hold ``value`` exactly.

        A strict limit (``gt``, ``lt``) is kept one step inside.
        """
        limits = dict(self.limits)
        low = limits.get("ge", limits.get("gt"))
        high = limits.get("le", limits.get("lt"))
        if self.kind == "int":
            step = 1.0
        else:
            step = 10.0 ** (math.floor(math.log10(high - low)) - 3)
            while step > 1e-9 and abs(round(value / step) * step - value) > 1e-9 * max(1.0, abs(value)):
                step /= 10
        low = low + step if "gt" in limits else low
        high = high - step if "lt" in limits else high
        return float(low), float(high), step

    @staticmethod
    def snap(value: float, step: float) -> float:
        """A slider's value on its step grid, without float noise (0.05 + 0.1 is 0.15, not 0.15000000000000002)."""
        decimals = max(0, -math.floor(math.log10(step)))
        return round(round(value / step) * step, decimals)

    def parse(self, text: str) -> Any:
        """The value typed into a number box, checked against the limits.

        Raises:
            ValueError: Not a number, or outside the limits; the message says what is allowed.
        """
        text = str(text).strip()
        if self.optional and text.lower() in NULL_WORDS:
            return None
        try:
            number = float(text.replace(",", ""))
        except ValueError:
            raise ValueError(f"{text!r} is not a number; allowed: {self.allowed()}") from None
        if self.kind == "int":
            if not number.is_integer():
                raise ValueError(f"{text!r} is not a whole number; allowed: {self.allowed()}")
            number = int(number)
        if not math.isfinite(number) or not self.within(number):
            raise ValueError(f"{text} is outside the limits; allowed: {self.allowed()}")
        return number

    def within(self, value: float) -> bool:
        """Whether a number respects the limits."""
        checks = {
            "ge": lambda lim: value >= lim,
            "gt": lambda lim: value > lim,
            "le": lambda lim: value <= lim,
            "lt": lambda lim: value < lim,
        }
        return all(checks[kind](limit) for kind, limit in self.limits)


def _number(value: float) -> str:
    """A limit as written: whole numbers with thousands separators, others as Python writes them."""
    return f"{int(value):,}" if float(value).is_integer() else repr(float(value))


def value_at(config: BaseModel, path: str) -> Any:
    """The value at a dotted path of a config (hub names included); enum options as their names."""
    node: Any = config
    for part in path.split("."):
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    return node.value if isinstance(node, StrEnum) else node


def _kind(info: FieldInfo) -> tuple[str, tuple[str, ...], bool] | None:
    """(kind, choices, optional) of a scalar field; None for sections, lists, dicts and free text."""
    annotation, optional = info.annotation, False
    if get_origin(annotation) in (Union, UnionType):  # X | None
        rest = [a for a in get_args(annotation) if a is not type(None)]
        if len(rest) != 1:
            return None
        annotation, optional = rest[0], True
    if annotation is bool:
        return "bool", (), optional
    if annotation is int:
        return "int", (), optional
    if annotation is float:
        return "float", (), optional
    if isinstance(annotation, type) and issubclass(annotation, StrEnum):
        return "choice", tuple(option.value for option in annotation), optional
    return None


def _events_by_path(config: Config) -> dict[str, list[str]]:
    """The timeline events that set each path, as ``name (YYYY-MM)``."""
    found: dict[str, list[str]] = {}
    for name, event in sorted(config.timeline.items(), key=lambda item: item[1].month):
        for path in event.set:
            found.setdefault(path, []).append(f"{name} ({event.month})")
    return found


def _section_controls(
    model: type[BaseModel],
    prefix: str,
    group: str,
    section: str,
    events: dict[str, list[str]],
    settable_only: bool,
    nested_in: str = "",
) -> list[Control]:
    """Controls for every scalar field of a section, nested sections included (labelled ``Escalation: ...``)."""
    controls = []
    for name, info in model.model_fields.items():
        path = f"{prefix}.{name}" if prefix else name
        nested = inner_model(info.annotation)
        if nested is not None:  # a section (recurse) or a dict of sections (hubs, firm classes: skipped)
            if get_origin(info.annotation) is None:
                controls += _section_controls(nested, path, group, section, events, settable_only, label(name))
            continue
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if settable_only and not extra.get("timeline"):
            continue
        if _kind(info) is not None:
            control = _one(info, path, group, section, events)
            if nested_in:
                control = replace(control, label=f"{nested_in}: {control.label[:1].lower()}{control.label[1:]}")
            controls.append(control)
    return controls


def build_controls(config: Config) -> list[Control]:
    """Every control of the page for a config, grouped and in page order.

    Scenario: the months simulated and the first seed. Policy levers: every scalar of every
    lever (``policy.<lever>.*``, nested sections included). World uncertainties: the market's
    numbers and each hub's settable values (those a timeline may change: rates, prices,
    tier, caps). Behaviour: every scalar of ``behaviour``.
    """
    events = _events_by_path(config)
    fields = Config.model_fields
    controls = [_one(fields[name], name, SCENARIO, "Run", events) for name in ("months", "seed") if _kind(fields[name])]
    policy_model = inner_model(fields["policy"].annotation)
    for lever, info in policy_model.model_fields.items():
        controls += _section_controls(
            inner_model(info.annotation), f"policy.{lever}", POLICY, label(lever), events, settable_only=False
        )
    world = config.world
    controls += _section_controls(type(world.market), "world.market", WORLD, "Market", events, settable_only=False)
    for hub, params in world.hubs.items():
        controls += _section_controls(
            type(params), f"world.hubs.{hub}", WORLD, f"Hub: {label(hub)}", events, settable_only=True
        )
    controls += _section_controls(type(config.behaviour), "behaviour", BEHAVIOUR, "Behaviour", events, False)
    return controls


def _one(info: FieldInfo, path: str, group: str, section: str, events: dict[str, list[str]]) -> Control:
    """The control of one scalar field."""
    kind, choices, optional = _kind(info)  # type: ignore[misc]
    return Control(
        path=path,
        group=group,
        section=section,
        label=factor_label(path),
        kind=kind,
        description=info.description or "",
        unit=unit(info),
        limits=tuple(sorted(bounds(info).items())),
        choices=choices,
        optional=optional,
        events=tuple(events.get(path, ())),
    )


def matches(control: Control, query: str) -> bool:
    """Whether a search text matches a control's path, label, section or description (any case)."""
    query = query.strip().lower()
    haystack = " ".join((control.path, control.label, control.section, control.description)).lower()
    return all(word in haystack for word in query.split())


def effective_settings(base: Config, settings: dict[str, Any]) -> dict[str, Any]:
    """The settings that change ``base``: those equal to its value are dropped (paths kept in order)."""
    changed = {}
    for path, value in settings.items():
        try:
            current = value_at(base, path)
        except (AttributeError, KeyError, TypeError):
            changed[path] = value  # an unknown path: kept, so that validation names it
            continue
        if current != value or isinstance(current, bool) != isinstance(value, bool):
            changed[path] = value
    return changed
