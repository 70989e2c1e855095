"""Compose configs with Hydra, check overrides against the schema, validate with pydantic.

Every way a user can get a config wrong ends here as one :class:`ConfigError` whose
message names the key, the bad value and what is allowed.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, get_args

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf
from pydantic import ValidationError

from sim.config import Config, TimelineEventError, compile_timeline

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
GROUPS = ("world", "policy", "scenario")


class ConfigError(ValueError):
    """A config that cannot be run; its message is meant for the user as it is."""


def group_options(group: str) -> list[str]:
    """Names of the YAML files in a config group."""
    return sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml"))


def _suggest(word: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(word, allowed, n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def check_overrides(overrides: list[str], base: dict[str, Any] | None = None) -> None:
    """Raise :class:`ConfigError` for an override whose group option or key does not exist.

    Args:
        overrides: Hydra override strings, sweeps (``seed=0,1``) allowed.
        base: The composed config the keys are looked up in; composed here when omitted.
    """
    try:
        parsed = OverridesParser.create().parse_overrides(overrides=overrides)
    except Exception as exc:  # Hydra raises its own OverrideParseException
        raise ConfigError(f"cannot read the overrides {overrides}: {exc}") from None
    for o in parsed:
        key = o.key_or_group
        if key in GROUPS:
            values = list(o.sweep_string_iterator()) if o.is_sweep_override() else [o.value()]
            for v in values:
                if v not in group_options(key):
                    raise ConfigError(
                        f"{key}={v}: unknown {key}; allowed: {', '.join(group_options(key))}."
                        f"{_suggest(str(v), group_options(key))}"
                    )
    if base is None:
        groups = [o.input_line for o in parsed if o.key_or_group in GROUPS and not o.is_sweep_override()]
        base = compose_dict(groups)
    for o in parsed:
        key = o.key_or_group
        if key in GROUPS or key.startswith("hydra") or o.is_add() or o.is_delete():
            continue
        check_path(base, key, o.input_line)


def check_path(base: dict[str, Any], path: str, line: str) -> None:
    """Raise :class:`ConfigError` naming the valid keys if a dotted path is not in ``base``."""
    node: Any = base
    parts = path.split(".")
    for depth, part in enumerate(parts):
        if not isinstance(node, dict) or part not in node:
            where = ".".join(parts[:depth]) or "the top level"
            allowed = sorted(node) if isinstance(node, dict) else []
            detail = (
                f"valid keys under {where}: {', '.join(allowed)}.{_suggest(part, allowed)}"
                if allowed
                else f"{where} has no sub-keys."
            )
            raise ConfigError(f"{line}: unknown key {'.'.join(parts[: depth + 1])!r}; {detail}")
        node = node[part]


def compose_dict(overrides: list[str]) -> dict[str, Any]:
    """Compose ``configs/config.yaml`` with Hydra overrides into a plain dict."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        try:
            cfg = compose(config_name="config", overrides=overrides)
        except Exception as exc:  # composition errors are user errors: report, no traceback
            raise ConfigError(f"cannot compose the config with {overrides}: {exc}") from None
    return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]


def validate(data: dict[str, Any]) -> Config:
    """Validate a plain config dict, and its timeline, into a frozen :class:`Config`."""
    try:
        cfg = Config.model_validate(data)
        compile_timeline(cfg)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc)) from None
    except TimelineEventError as exc:
        event = exc.event
        raise ConfigError(
            f"timeline event {event.month} ({event.note}): {format_validation_error(exc.error)}"
        ) from None
    return cfg


def format_validation_error(exc: ValidationError) -> str:
    """One line per problem: the dotted key, the bad value and what is allowed."""
    lines = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"])
        value = err.get("input")
        if err["type"] == "extra_forbidden":
            allowed = _allowed_keys(err["loc"][:-1])
            lines.append(
                f"unknown key {path!r}; valid keys there: {', '.join(allowed)}.{_suggest(str(err['loc'][-1]), allowed)}"
            )
        elif not err["loc"]:
            lines.append(err["msg"].removeprefix("Value error, ") + ".")
        elif err["type"] == "missing":
            lines.append(f"missing key {path!r}.")
        else:
            shown = value if not isinstance(value, dict) else "{...}"
            lines.append(f"{path or 'config'} = {shown!r}: {err['msg']}{_range(err['loc'])}.")
    return "invalid config: " + " ".join(lines)


def _field_info(loc: tuple) -> Any:
    """The pydantic FieldInfo at a location, or None (dict keys and list indices skipped)."""
    model: Any = Config
    info = None
    for part in loc:
        fields = getattr(model, "model_fields", None)
        if fields is None or part not in fields:
            continue
        info = fields[part]
        model = inner_model(info.annotation)
    return info


def unit_of(path: str) -> str:
    """The unit of a dotted config path (hub and class names allowed), or ''."""
    info = _field_info(tuple(path.split(".")))
    extra = info.json_schema_extra if info is not None else None
    return extra.get("unit", "") if isinstance(extra, dict) else ""


def inner_model(annotation: Any) -> Any:
    """The pydantic model inside a field's annotation (``Hub``, ``dict[str, Hub]``, ...) or None."""
    if hasattr(annotation, "model_fields"):
        return annotation
    for arg in get_args(annotation):
        found = inner_model(arg)
        if found is not None:
            return found
    return None


def _allowed_keys(loc: tuple) -> list[str]:
    model: Any = Config
    for part in loc:
        fields = getattr(model, "model_fields", None)
        if fields is not None and part in fields:
            model = inner_model(fields[part].annotation)
    return sorted(getattr(model, "model_fields", {}))


def _range(loc: tuple) -> str:
    info = _field_info(loc)
    if info is None:
        return ""
    bounds = {k: getattr(m, k) for m in info.metadata for k in ("ge", "gt", "le", "lt") if hasattr(m, k)}
    low = bounds.get("ge", bounds.get("gt"))
    high = bounds.get("le", bounds.get("lt"))
    unit = (info.json_schema_extra or {}).get("unit", "")
    if low is None and high is None:
        return ""
    lo = f"{low} <= " if low is not None else ""
    hi = f" <= {high}" if high is not None else ""
    return f" (allowed: {lo}value{hi}{' ' + unit if unit else ''})"


def load_config(overrides: list[str] | None = None) -> Config:
    """Compose, check and validate a run config.

    Args:
        overrides: Hydra overrides, e.g. ``["scenario=no_controls", "seed=3"]``.

    Returns:
        The validated, frozen config.

    Raises:
        ConfigError: A key, group option or value is not allowed.
    """
    overrides = list(overrides or [])
    try:
        data = compose_dict(overrides)
    except ConfigError:
        check_overrides(overrides)  # names the bad key or option when it can
        raise
    return validate(data)
