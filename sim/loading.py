"""Compose configs with Hydra, check overrides against the schema, validate with pydantic.

Every way a user can get a config wrong ends here as one :class:`ConfigError` whose
message names the key, the bad value and what is allowed.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException
from pydantic import ValidationError

from sim.config import Config
from sim.schema import (
    ConfigError,
    SettingsError,
    field_at,
    format_validation_error,
    is_switch,
    keys_at,
    suggest,
    unit,
    with_settings,
)
from sim.timeline import TimelineEventError, check_event_path, compile_timeline, month_index, month_labels

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
GROUPS = ("world", "policy", "scenario", "calibrated")
#: A lever's own config group is a folder of configs/policy/ with an ``off`` option.
LEVER_OFF = "off"


def group_options(group: str) -> list[str]:
    """Names of the YAML files in a config group."""
    return sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml"))


def lever_groups() -> list[str]:
    """The config groups of levers that have their own (``policy/<lever>``), each with an ``off`` option."""
    return sorted(f"policy/{p.name}" for p in (CONFIG_DIR / "policy").iterdir() if p.is_dir())


def with_lever_groups(overrides: list[str]) -> list[str]:
    """The overrides with every lever group selected: as the user chose it (with or without ``+``), else ``off``.

    Lever groups are not in the primary defaults list, so that a new lever needs no edit
    there; Hydra adds them with ``+group=option``.
    """
    groups = lever_groups()
    chosen: dict[str, str] = {}
    rest = []
    for line in overrides:
        key, sep, value = line.removeprefix("+").partition("=")
        if sep and key in groups:
            chosen[key] = value
        else:
            rest.append(line)
    return [*rest, *(f"+{group}={chosen.get(group, LEVER_OFF)}" for group in groups)]


QUOTING_HINT = (
    "hint: a value with spaces, accents or other non-ASCII letters, or characters such as ( ) ; , [ ] { } "
    "must be quoted for Hydra inside the shell's quotes, e.g. \"description='Café (draft)'\"; "
    "the grammar: https://hydra.cc/docs/1.2/advanced/override_grammar/basic"
)


def refuse_keys_given_twice(args: list[str]) -> None:
    """Raise :class:`ConfigError` naming a key that two of the ``key=value`` arguments set.

    Hydra would take the last silently; which one the user meant, only they know. Removing a
    key (``~key``) and setting it anew (``+key=...``) replaces it, as Hydra does.
    """
    first: dict[str, str] = {}
    for arg in (a for a in args if not a.startswith("~")):
        key = arg.partition("=")[0].lstrip("+")
        if key in first:
            raise ConfigError(f"{first[key]} and {arg}: {key} is given twice; give it once")
        first[key] = arg


def parsed_overrides(overrides: list[str]) -> list[Override]:
    """Hydra's reading of the overrides.

    Raises:
        ConfigError: Names the first override Hydra's grammar cannot read, where it stops (for
            an unexpected letter) and how to quote a value.
    """
    parser = OverridesParser.create()
    try:
        return parser.parse_overrides(overrides=overrides)
    except Exception:  # Hydra raises its own OverrideParseException
        for line in overrides:
            try:
                parser.parse_overrides(overrides=[line])
            except Exception as exc:
                reason = _reason(str(exc), line)
                raise ConfigError(f"cannot read the override {line!r}: {reason}\n{QUOTING_HINT}") from None
        raise ConfigError(f"cannot read the overrides {overrides}\n{QUOTING_HINT}") from None


def _reason(hydra_message: str, line: str) -> str:
    """Hydra's reason for not reading an override, in one line: where a letter it cannot read starts."""
    first, *rest = hydra_message.splitlines()
    caret = next((r for r in rest if r.strip() == "^"), None)
    if caret is not None and line in first:  # the lexer repeats the override and points under the letter
        at = caret.index("^") - first.index(line)
        return f"{line[at:]!r}, from character {at + 1}, is not in the override grammar"
    return "; ".join(r for r in [first, *rest] if not r.startswith(("See https://", "Error parsing override")))


def check_overrides(overrides: list[str], base: dict[str, Any] | None = None) -> None:
    """Raise :class:`ConfigError` for an override whose group option or key does not exist.

    Args:
        overrides: Hydra override strings, sweeps (``seed=0,1``) allowed.
        base: The composed config the keys are looked up in; composed here when omitted.
    """
    parsed = parsed_overrides(overrides)
    groups = (*GROUPS, *lever_groups())
    for o in parsed:
        key = o.key_or_group
        if key in groups:
            values = list(o.sweep_string_iterator()) if o.is_sweep_override() else [o.value()]
            for v in values:
                if v not in group_options(key):
                    raise ConfigError(
                        f"{key}={v}: unknown {key}; allowed: {', '.join(group_options(key))}."
                        f"{suggest(str(v), group_options(key))}"
                    )
    if base is None:
        chosen = [o.input_line for o in parsed if o.key_or_group in groups and not o.is_sweep_override()]
        base = compose_dict(chosen)
    for o in parsed:
        key = o.key_or_group
        if key in groups or key.startswith("hydra") or o.is_add():
            continue  # a deletion (~key) must name a key that exists, as a change must
        check_path(base, key, o.input_line)
        if not o.is_delete() and not o.is_sweep_override() and isinstance(o.value(), dict):
            _refuse_new_entries(base, key, o.value(), o.input_line)


def _refuse_new_entries(base: dict[str, Any], key: str, value: dict[str, Any], line: str) -> None:
    """Raise :class:`ConfigError` for a mapping override naming entries the mapping at ``key`` lacks.

    Hydra merges a mapping into the one there and refuses entries it does not have; the message
    says how to add them, and how to replace the whole mapping.
    """
    node: Any = base
    for part in key.split("."):
        node = node[part]
    if not isinstance(node, dict):
        return  # a mapping for a value: the schema names what the key takes
    new = [k for k in value if k not in node]
    if new:
        given = line.partition("=")[2]
        raise ConfigError(
            f"{line}: {', '.join(map(str, new))} not in {key} (its entries: {', '.join(map(str, node))}); "
            f"Hydra merges a mapping into the one there: add entries with '+{key}={given}', or replace "
            f"the whole mapping with '~{key}' '+{key}={given}'"
        )


def _refuse_adding_an_event_that_exists(overrides: list[str], parsed: list[Override]) -> None:
    """Raise :class:`ConfigError` for ``+timeline.<event>=...`` naming an event the config already has.

    Hydra would merge the new event into the old one, keeping what the new one does not give.
    ``parsed`` is Hydra's reading of ``overrides``.
    """
    adding = [o for o in parsed if o.is_add() and o.key_or_group.count(".") == 1]
    adding = [o for o in adding if o.key_or_group.startswith("timeline.")]
    if not adding:
        return
    rest = [line for line in overrides if line not in {o.input_line for o in adding}]
    events = compose_dict(rest).get("timeline") or {}
    for o in adding:
        name = o.key_or_group.partition(".")[2]
        if name in events:
            raise ConfigError(
                f"{o.input_line}: the timeline already has an event {name!r}; change its keys "
                f"(timeline.{name}.month=...), replace it with '~timeline.{name}' '{o.input_line}', "
                "or give the new event another name"
            )


def check_multirun(overrides: list[str]) -> Config:
    """Check a multirun's keys and every value of its sweeps before its first job runs.

    Each swept value is checked with the other overrides fixed (a group option by composing
    the config with it). A rule across keys (``news_trials >= news_weight``) is checked on the
    grid's combinations of swept values instead. Hydra's own keys are left to Hydra.

    Returns:
        The config of the overrides that are not swept (where the jobs write, say).

    Raises:
        ConfigError: Names the bad key, option or value, or the combination a rule refuses; an
            ``interval(...)`` sweep, which Hydra's grid cannot run.
    """
    check_overrides(overrides)
    parsed = parsed_overrides(overrides)
    fixed = [o.input_line for o in parsed if not o.is_sweep_override()]
    base = load_config(fixed)
    groups = (*GROUPS, *lever_groups())
    swept: dict[str, list[Any]] = {}
    for o in (o for o in parsed if o.is_sweep_override() and not o.key_or_group.startswith("hydra")):
        key = o.key_or_group
        if key in groups or o.is_add() or o.is_delete():
            for value in o.sweep_string_iterator():
                load_config([*fixed, f"{o.get_key_element()}={value}"])
        elif o.is_interval_sweep():
            raise ConfigError(
                f"{o.input_line}: a grid (-m) runs listed values (key=a,b) or range(...), not interval(...); "
                "for sampled designs use python -m sim.sweep"
            )
        else:
            swept[key] = list(o.sweep_iterator())
            for value in swept[key]:
                try:
                    with_settings(base, {key: value})
                except SettingsError as exc:
                    if str(exc).startswith(f"{key} = "):
                        raise  # the value itself; a rule across keys is checked on the combinations below
    for values in itertools.product(*swept.values()):
        combination = dict(zip(swept, values, strict=True))
        try:
            with_settings(base, combination)
        except SettingsError as exc:
            shown = " ".join(f"{k}={v}" for k, v in combination.items())
            raise ConfigError(f"{shown}: {exc}") from None
    return base


def refuse_overrides_that_cannot_work(overrides: list[str]) -> None:
    """Refuse ``key={}`` and ``~key`` for a key the config cannot do without, before composing.

    Hydra merges an empty mapping into the section, which changes nothing; a config group, or
    a field with no default, cannot be removed unless the overrides add it anew (``~key`` then
    ``+key=...`` replaces it); an event cannot be added under a name the timeline has.

    Raises:
        ConfigError: Names the override and what to do instead (or one Hydra cannot read,
            :func:`parsed_overrides`).
    """
    parsed = parsed_overrides(overrides)
    added = {o.key_or_group for o in parsed if o.is_add()}
    for o in parsed:
        key = o.key_or_group
        if not o.is_delete() and not o.is_sweep_override() and o.value() == {}:
            raise ConfigError(
                f"{o.input_line}: an empty mapping changes nothing (Hydra merges it into {key}); "
                f"remove entries with ~{key}.<name>"
            )
        if not o.is_delete():
            continue
        if key in GROUPS and key != "calibrated":  # ~calibrated runs without the fitted values
            raise ConfigError(
                f"{o.input_line}: the {key} group cannot be removed; choose one of its options instead "
                f"({key}={'|'.join(group_options(key))})"
            )
        *section, name = key.split(".")
        info = field_at(Config, (*section, name)) if name in keys_at(Config, tuple(section)) else None
        if info is not None and info.is_required() and key not in added:
            raise ConfigError(f"{o.input_line}: {key} is required and cannot be removed; set it instead ({key}=...)")
    _refuse_adding_an_event_that_exists(overrides, parsed)


def check_path(base: dict[str, Any], path: str, line: str) -> None:
    """Raise :class:`ConfigError` naming the valid keys if a dotted path is not in ``base``.

    A mapping keyed by dotted paths (a timeline event's ``set``) cannot be reached entry by
    entry, since the override's dots nest: the message shows the mapping to give instead. A
    key the config's schema has but ``base`` leaves out (an event's ``label``) is named as not
    set yet, with the ``+`` that adds it.
    """
    node: Any = base
    parts = path.split(".")
    for depth, part in enumerate(parts):
        if not isinstance(node, dict) or part not in node:
            where = ".".join(parts[:depth]) or "the top level"
            allowed = sorted(node) if isinstance(node, dict) else []
            if any("." in key for key in allowed):
                value = line.partition("=")[2]
                raise ConfigError(
                    f"{line}: {where} is keyed by dotted paths, which an override's dots cannot reach; "
                    f"give a mapping, e.g. '{where}={{{'.'.join(parts[depth:])}: {value or '...'}}}', which Hydra "
                    f"merges into the one there (its entries now: {', '.join(allowed)}; + in front adds new ones)"
                )
            optional = parts[0] in Config.model_fields and part in keys_at(Config, tuple(parts[:depth]))
            if optional:  # a key the config's schema has, left out of this config
                missing = ".".join(parts[: depth + 1])
                advice = "nothing to remove" if line.startswith("~") else f"add it with +{line.lstrip('+')}"
                raise ConfigError(f"{line}: {missing} is not set in this config; {advice}")
            detail = (
                f"valid keys under {where}: {', '.join(allowed)}.{suggest(part, allowed)}"
                if allowed
                else f"{where} has no sub-keys."
            )
            raise ConfigError(f"{line}: unknown key {'.'.join(parts[: depth + 1])!r}; {detail}")
        node = node[part]


def compose_dict(overrides: list[str]) -> dict[str, Any]:
    """Compose ``configs/config.yaml`` with Hydra overrides (and every lever group) into a plain dict."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        try:
            cfg = compose(config_name="config", overrides=with_lever_groups(overrides))
        except Exception as exc:  # composition errors are user errors: report, no traceback
            raise ConfigError(f"cannot compose the config with {overrides}: {exc}") from None
        return resolved(cfg, f"the config with {overrides}")


def resolved(cfg: Any, what: str) -> dict[str, Any]:
    """A composed config as a plain dict, interpolations resolved.

    Raises:
        ConfigError: An interpolation cannot be resolved (``${oc.env:UNSET}``); names the key.
    """
    try:
        return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None) or "a value"
        reason = str(exc).splitlines()[0]
        raise ConfigError(f"{what}: cannot resolve {key}: {reason}") from None


def validate(data: dict[str, Any]) -> Config:
    """Validate a plain config dict, and its timeline, into a frozen :class:`Config`."""
    try:
        cfg = Config.model_validate(data)
        compile_timeline(cfg)
    except ValidationError as exc:
        refused_sets = _refused_sets_of_broken_events(data, exc)
        raise ConfigError(f"invalid config: {format_validation_error(exc, Config)}{refused_sets}") from None
    except TimelineEventError as exc:
        refused = exc.error.validation_error
        detail = format_validation_error(refused, Config) if refused is not None else str(exc.error)
        raise ConfigError(f"timeline.{exc.name} ({exc.event.month}, {exc.event.note}): {detail}") from None
    return cfg


def _refused_sets_of_broken_events(data: dict[str, Any], exc: ValidationError) -> str:
    """What the ``set`` of each timeline event pydantic refused would also be refused for, as more sentences.

    An event missing its ``note``, say, is refused before its ``set`` is checked; this checks
    each such ``set`` against the config without those events, so that one message names
    everything wrong with a new event. Empty when the rest of the config is invalid too.
    """
    timeline = data.get("timeline")
    broken = {str(e["loc"][1]) for e in exc.errors() if e["loc"][:1] == ("timeline",) and len(e["loc"]) > 1}
    if not isinstance(timeline, dict) or not broken:
        return ""
    try:
        rest = Config.model_validate(data | {"timeline": {k: v for k, v in timeline.items() if k not in broken}})
    except ValidationError:
        return ""
    refused = []
    for name in sorted(broken):
        settings = timeline[name].get("set") if isinstance(timeline[name], dict) else None
        if not isinstance(settings, dict):
            continue
        try:
            for path in settings:
                check_event_path(rest, name, str(path))
            with_settings(rest, settings)
        except SettingsError as error:
            refused.append(f" timeline.{name} sets {error}")
        except ValueError as error:  # a path no event may set
            refused.append(f" {error}.")
    return "".join(refused)


def unit_of(path: str) -> str:
    """The unit of a dotted config path (hub and class names allowed), or ''."""
    return unit(field_at(Config, tuple(path.split("."))))


def load_config(overrides: list[str] | None = None) -> Config:
    """Compose, check and validate a run config.

    Args:
        overrides: Hydra overrides, e.g. ``["scenario=no_controls", "seed=3"]``.

    Returns:
        The validated, frozen config.

    Raises:
        ConfigError: A key, group option or value is not allowed.
    """
    if isinstance(overrides, str) or not all(isinstance(o, str) for o in overrides or []):
        raise ConfigError(f"overrides must be a list of strings such as ['months=6'], got {overrides!r}")
    overrides = list(overrides or [])
    refuse_overrides_that_cannot_work(overrides)
    try:
        data = compose_dict(overrides)
    except ConfigError:
        check_overrides(overrides)  # names the bad key or option when it can
        raise
    return validate(data)


def _leaves(data: Any, prefix: str) -> dict[str, Any]:
    """The scalar leaves under a value, by dotted path (the value itself when it is no mapping)."""
    if isinstance(data, dict) and data:
        return {p: v for k, item in data.items() for p, v in _leaves(item, f"{prefix}.{k}").items()}
    return {prefix: data}


def switched_off(cfg: Config, path: str) -> str:
    """The switches set to false in the sections above a config path, as a reason its value may change nothing.

    Only booleans the schema marks as switches count (``field(..., switch=True)``: a section's
    ``enabled``, ``kyc_required``, ...), not every boolean beside the value.
    """
    data: Any = cfg.model_dump(mode="python")
    reasons = []
    parts = path.split(".")
    for depth in range(1, len(parts)):
        section = data
        for part in parts[:depth]:
            section = section.get(part, {}) if isinstance(section, dict) else {}
        prefix = ".".join(parts[:depth])
        reasons += [
            f"{prefix}.{k} is false"
            for k, v in section.items()
            if v is False and k != parts[depth] and is_switch(field_at(Config, (*parts[:depth], k)))
        ]
    return "; ".join(reasons)


def user_values(config: Config, overrides: list[str]) -> dict[str, str]:
    """The dotted config paths the overrides set, each with the override that set it.

    A key override sets its path (every leaf under it for a mapping); a group override such as
    ``policy=strict`` sets every value it changes against the scenario's own choices. Overrides of
    ``timeline`` are left out: they are the user's own events.
    """
    parsed = parsed_overrides(overrides)
    groups = (*GROUPS, *lever_groups())
    group_lines = [o.input_line for o in parsed if o.key_or_group in groups and o.key_or_group != "scenario"]
    found: dict[str, str] = {}
    if group_lines:
        base = validate(compose_dict([o.input_line for o in parsed if o.key_or_group == "scenario"]))
        before = _leaves({k: v for k, v in base.model_dump(mode="python").items() if k != "timeline"}, "")
        after = _leaves({k: v for k, v in config.model_dump(mode="python").items() if k != "timeline"}, "")
        source = " ".join(group_lines)
        found |= {p[1:]: source for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
    for o in parsed:
        key = o.key_or_group
        if key in groups or key.startswith(("hydra", "timeline")) or o.is_delete() or o.is_sweep_override():
            continue
        found |= {path: o.input_line for path in _leaves(o.value(), key)}
    return found


def _shown(value: Any) -> str:
    """A value as one writes it in an override: true, null, 0.15, H200."""
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    return str(value)


def _same(a: Any, b: Any) -> bool:
    """Equal values, a boolean never equal to a number (``True == 1`` is not)."""
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def first_job(overrides: list[str]) -> list[str]:
    """The overrides of a multirun's first job: each swept key at its first value."""
    return [
        f"{o.get_key_element()}={next(iter(o.sweep_string_iterator()))}" if o.is_sweep_override() else o.input_line
        for o in parsed_overrides(overrides)
    ]


def timeline_warnings(config: Config, overrides: list[str]) -> list[str]:
    """One message per value the user set that a timeline event of the run changes.

    An event counts when it takes effect before the run ends and sets a value the overrides set
    (:func:`user_values`) to something else; events the overrides add or change are the user's own.
    One of those that takes effect after the run ends, and is not announced before, is named
    too: it changes nothing (an announcement within the run may act through firms buying chips
    ahead and operators importing ahead, docs/ODD.md, sections 7.8 and 7.15).
    """
    mine = user_values(config, overrides)
    own_events = {
        o.split("=", 1)[0].lstrip("+~").split(".")[1] for o in overrides if o.lstrip("+~").startswith("timeline.")
    }
    start = config.model_dump(mode="python")
    messages = []
    for name, event in sorted(config.timeline.items(), key=lambda item: item[1].month):
        after_end = month_index(config.start, event.month) >= config.months
        heard = event.announced is not None and month_index(config.start, event.announced) < config.months
        if name in own_events and after_end and not heard:
            last = month_labels(config.start, config.months)[-1]
            needed = month_index(config.start, event.month) + 1
            messages.append(
                f"your timeline event {name!r} takes effect in {event.month}, after the run's last month "
                f"({last}): it changes nothing; months={needed} would reach it"
            )
        if name in own_events or after_end:
            continue
        for path, value in event.set.items():
            if path not in mine:
                continue
            yours: Any = start
            for part in path.split("."):
                yours = yours[part]
            if _same(yours, value):
                continue
            messages.append(
                f"the timeline event {name!r} sets {path} to {_shown(value)} from {max(event.month, config.start)}, "
                f"overriding your value ({_shown(yours)}, set by {mine[path]}); to keep yours, drop the event "
                f"with ~timeline.{name}"
            )
    return messages
