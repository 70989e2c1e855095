"""The schema toolkit: one base for every config section, one walker, one error formatter.

Every config file the project reads (a run config, an experiment) is a tree of
:class:`Schema` sections. A mistake in one becomes a :class:`ConfigError` whose message names
the dotted key, the bad value and what is allowed, read off the field that rejected it.
"""

from __future__ import annotations

import difflib
import re
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.fields import FieldInfo


class ConfigError(ValueError):
    """A config that cannot be run; its message is meant for the user as it is."""


PLAIN_NAME_RULE = (
    "expected a plain name (1-100 letters, digits, '_', '.' or '-', starting with a letter or digit; "
    "no '/' and no interpolation), as it names one folder under the results folder"
)
PLAIN_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"
#: A name that becomes one folder under the results folder: letters, digits, ``_ . -``, no path.
PlainName = Annotated[str, StringConstraints(pattern=PLAIN_NAME_PATTERN)]
#: What a value must look like, by the pattern a field requires (messages of format_validation_error).
PATTERN_RULES: dict[str, str] = {PLAIN_NAME_PATTERN: PLAIN_NAME_RULE}


class ReadOnlyError(ConfigError, TypeError):
    """A validated config's value, mapping or list was changed in place."""


def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise ReadOnlyError(
        "a validated config is read-only, its mappings and lists included; "
        "make a changed copy with sim.schema.with_settings(config, {'dotted.path': value})"
    )


class FrozenDict(dict):
    """A dict that refuses every change (a validated config's mapping): it stays what was validated."""

    __setitem__ = __delitem__ = __ior__ = clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self) -> tuple[type, tuple[dict]]:
        return FrozenDict, (dict(self),)


class FrozenList(list):
    """A list that refuses every change (a validated config's list): it stays what was validated."""

    __setitem__ = __delitem__ = __iadd__ = __imul__ = append = extend = insert = pop = remove = clear = _refuse
    sort = reverse = _refuse

    def __reduce__(self) -> tuple[type, tuple[list]]:
        return FrozenList, (list(self),)


def freeze(value: Any) -> Any:
    """``value`` with every dict and list in it made read-only (:class:`FrozenDict`, :class:`FrozenList`)."""
    if isinstance(value, dict):
        return FrozenDict({key: freeze(item) for key, item in value.items()})
    if isinstance(value, list):
        return FrozenList(freeze(item) for item in value)
    return value


#: Marks a field whose dict or list (and whatever it holds) is read-only once validated:
#: ``chips: Annotated[dict[str, Performance], READ_ONLY]``. Sections are frozen by :class:`Schema`.
READ_ONLY = AfterValidator(freeze)


class Schema(BaseModel):
    """Base of every config section: unknown keys are errors, values are frozen, numbers finite.

    A section's fields cannot be reassigned; a field holding a dict or list is made read-only
    too when its annotation carries :data:`READ_ONLY`.

    A boolean is never read as a number (``true`` as 1.0), a number or string never as a
    boolean (``1`` or ``"yes"`` as true), and text never as a number (``"0.2"`` as 0.2), while a
    number for a text field is its digits (``name=2025``); for an option field a boolean is read
    as its name (``beliefs: true`` is the option ``"true"``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):  # a private attribute (``PrivateAttr``) is the code's, not a config value
            super().__setattr__(name, value)
            return
        _refuse()

    def __delattr__(self, name: str) -> None:
        _refuse()

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_number_mixups(cls, value: Any, info: ValidationInfo) -> Any:
        is_option, kinds = _field_kinds(cls, info.field_name)
        if isinstance(value, bool) and is_option:
            return str(value).lower()  # YAML and Hydra read the option `true` as a boolean
        if isinstance(value, bool) and bool not in kinds and kinds & {int, float}:
            raise ValueError("expected a number, got a boolean")
        if bool in kinds and not isinstance(value, bool) and value is not None:
            raise ValueError("expected true or false")
        if isinstance(value, str) and str not in kinds and kinds & {int, float}:
            if _YAML11_EXPONENT.fullmatch(value.strip()):
                return float(value)  # 4.6e9 in a YAML file: PyYAML (YAML 1.1) reads it as text
            raise ValueError(f"expected a number, got the text {value!r}" + _unquote_hint(value))
        if isinstance(value, int | float) and not isinstance(value, bool) and str in kinds and not is_option:
            return str(value)  # name=2025: Hydra reads the digits as a number; the field is text
        return value


def _unquote_hint(text: str) -> str:
    """`` (write it without quotes)`` when the text is a number in quotes, else ''."""
    try:
        float(text)
    except ValueError:
        return ""
    return " (write it without quotes)"


#: A number in exponent notation without a dot or a sign in its exponent (``1e9``, ``4.6e9``),
#: which YAML 1.1 (PyYAML) reads as text.
_YAML11_EXPONENT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


@cache
def _field_kinds(cls: type[BaseModel], name: str) -> tuple[bool, frozenset[Any]]:
    """Whether a field is an option (a StrEnum), and the scalar types it admits at its top level.

    ``float | None`` admits {float, None}.
    """
    annotation = cls.model_fields[name].annotation
    is_option = isinstance(annotation, type) and issubclass(annotation, StrEnum)
    args = get_args(annotation)
    kinds = {a for a in args if a in (bool, int, float, str, type(None))} if args else {annotation}
    return is_option, frozenset(kinds)


def field(description: str, unit: str = "", *, timeline: bool = False, switch: bool = False, **limits: Any) -> Any:
    """A documented schema field with its unit and numeric limits (required unless ``default`` is given).

    ``timeline=True`` marks a value read every month, which timeline events may therefore change
    (everything under it included). ``switch=True`` marks a boolean that turns its section's
    mechanism on or off: while it is false, the section's other values may do nothing.
    """
    extra: dict[str, Any] = (
        {"unit": unit} | ({"timeline": True} if timeline else {}) | ({"switch": True} if switch else {})
    )
    return Field(description=description, json_schema_extra=extra, **limits)


class SettingsError(ConfigError):
    """Settings that do not fit a config: an unknown path, or a value the schema refuses.

    Attributes:
        validation_error: pydantic's error when a value was refused, else None.
    """

    def __init__(self, message: str, validation_error: ValidationError | None = None) -> None:
        super().__init__(message)
        self.validation_error = validation_error


def with_settings[S: BaseModel](obj: S, settings: dict[str, Any], context: dict[str, Any] | None = None) -> S:
    """Return a new validated copy of ``obj`` with dotted ``path: value`` settings applied.

    ``context`` is passed to the validators (pydantic's validation context).

    Raises:
        SettingsError: A path names no key of ``obj``, or a value is refused; the message reads as
            the command line's: the setting and its value, the unknown key or what is wrong with the
            value, what is allowed, and the closest valid key for a mistyped one.
    """
    if not isinstance(settings, dict):
        raise SettingsError(f"settings must be a dict of dotted paths to values, got {type(settings).__name__}")
    data = _fields(obj)
    for path, value in settings.items():
        parts = str(path).split(".")
        line = f"{path} = {_shown(value)}"
        node: Any = data
        for depth, key in enumerate(parts[:-1]):
            if not isinstance(node, dict) or key not in node:
                raise SettingsError(f"{line}: {_unknown(type(obj), node, parts, depth)}")
            child = node[key]
            if isinstance(child, BaseModel):
                child = _fields(child)
            elif isinstance(child, dict):
                child = dict(child)  # the original's mapping is copied, never changed
            node[key] = child
            node = child
        leaf = parts[-1]
        section = _section_at(type(obj), tuple(parts[:-1]))
        if not isinstance(node, dict) or (section is not None and leaf not in section.model_fields):
            raise SettingsError(f"{line}: {_unknown(type(obj), node, parts, len(parts) - 1)}")
        node[leaf] = value
    try:
        return type(obj).model_validate(data, context=context)
    except ValidationError as exc:
        raise SettingsError(format_validation_error(exc, type(obj)), exc) from None


def _fields(model: BaseModel) -> dict[str, Any]:
    """A model's fields as a new dict of its values: sections left untouched stay validated instances.

    Validating such a dict revalidates only what changed (and the sections holding it), since
    pydantic accepts a model instance of the right type as it is.
    """
    return {name: getattr(model, name) for name in field_names(type(model))}


@cache
def field_names(section: type[BaseModel]) -> tuple[str, ...]:
    """A section's keys, in schema order."""
    return tuple(section.model_fields)


def _shown(value: Any) -> str:
    return "{...}" if isinstance(value, dict) else repr(value)


def _unknown(root: type[BaseModel], node: Any, parts: list[str], depth: int) -> str:
    """Why ``parts[depth]`` is not a key of ``node``: the valid keys there and the closest one."""
    where = ".".join(parts[:depth])
    if not isinstance(node, dict):
        return f"unknown key {'.'.join(parts[: depth + 1])!r}; {where} is a value, not a section."
    section = _section_at(root, tuple(parts[:depth]))
    allowed = sorted(section.model_fields) if section is not None else sorted(node)
    return (
        f"unknown key {'.'.join(parts[: depth + 1])!r}; valid keys under {where or 'the top level'}: "
        f"{', '.join(map(str, allowed)) or 'none'}.{suggest(parts[depth], [str(k) for k in allowed])}"
    )


@cache
def _section_at(root: type[BaseModel], parts: tuple[str, ...]) -> type[BaseModel] | None:
    """The schema section at a dotted path, or None where it is a mapping of free names (hubs) or a value."""
    current: Any = root
    for part in parts:
        if isinstance(current, tuple):  # an entry of a mapping: its value's model
            current = current[1]
            continue
        fields = getattr(current, "model_fields", None)
        if fields is None or part not in fields:
            return None
        annotation = fields[part].annotation
        is_mapping = any(get_origin(a) is dict for a in (annotation, *get_args(annotation)))
        current = ("mapping", inner_model(annotation)) if is_mapping else inner_model(annotation)
    return current if hasattr(current, "model_fields") else None


def inner_model(annotation: Any) -> Any:
    """The pydantic model inside a field's annotation (``Hub``, ``dict[str, Hub]``, ...) or None."""
    if hasattr(annotation, "model_fields"):
        return annotation
    for arg in get_args(annotation):
        found = inner_model(arg)
        if found is not None:
            return found
    return None


def _walk(root: type[BaseModel], loc: tuple) -> tuple[FieldInfo | None, Any]:
    """The last field found along ``loc`` and the model it holds (or ``root``).

    Dict keys (hub names, ...), list indices and pydantic's union tags are skipped, so
    ``("world", "hubs", "malaysia", "tier")`` finds ``Hub.tier``.
    """
    model: Any = root
    info = None
    for part in loc:
        fields = getattr(model, "model_fields", None)
        if fields is None or part not in fields:
            continue
        info = fields[part]
        model = inner_model(info.annotation)
    return info, model


def field_at(root: type[BaseModel], loc: tuple) -> FieldInfo | None:
    """The field at a location under ``root``, or None."""
    return _walk(root, loc)[0]


def keys_at(root: type[BaseModel], loc: tuple) -> list[str]:
    """The keys a section at ``loc`` allows (sorted), or [] where it holds no section."""
    return sorted(getattr(_walk(root, loc)[1], "model_fields", {}))


def is_switch(info: FieldInfo | None) -> bool:
    """Whether a field is a section's on/off switch (``field(..., switch=True)``)."""
    extra = info.json_schema_extra if info is not None else None
    return isinstance(extra, dict) and bool(extra.get("switch"))


def unit(info: FieldInfo | None) -> str:
    """The unit a field declares, or ''."""
    extra = info.json_schema_extra if info is not None else None
    return extra.get("unit", "") if isinstance(extra, dict) else ""


def bounds(info: FieldInfo) -> dict[str, Any]:
    """A field's numeric limits, keyed ``ge``, ``gt``, ``le``, ``lt``."""
    return {k: getattr(m, k) for m in info.metadata for k in ("ge", "gt", "le", "lt") if hasattr(m, k)}


def allowed_range(info: FieldInfo | None) -> str:
    """`` (allowed: 0 <= value <= 1 probability)`` for a bounded field, else ''."""
    if info is None:
        return ""
    limits = bounds(info)
    low, high = limits.get("ge", limits.get("gt")), limits.get("le", limits.get("lt"))
    if low is None and high is None:
        return ""
    lo = f"{low} {'<' if 'gt' in limits else '<='} " if low is not None else ""
    hi = f" {'<' if 'lt' in limits else '<='} {high}" if high is not None else ""
    shown_unit = unit(info)
    return f" (allowed: {lo}value{hi}{' ' + shown_unit if shown_unit else ''})"


def suggest(word: str, allowed: list[str]) -> str:
    """`` Did you mean 'x'?`` for the closest allowed word, else ''."""
    close = difflib.get_close_matches(word, allowed, n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def format_validation_error(exc: ValidationError, root: type[BaseModel]) -> str:
    """One sentence per problem: the dotted key, the bad value and what is allowed.

    Args:
        exc: pydantic's error.
        root: The schema the data was validated against (its fields give units and ranges).
    """
    lines = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not str(p).startswith(("list[", "Range", "function-")))
        path = ".".join(str(p) for p in loc)
        if err["type"] == "extra_forbidden":
            allowed = keys_at(root, loc[:-1])
            lines.append(
                f"unknown key {path!r}; valid keys there: {', '.join(allowed)}.{suggest(str(loc[-1]), allowed)}"
            )
        elif not loc:
            lines.append(err["msg"].removeprefix("Value error, ") + ".")
        elif err["type"] == "missing":
            lines.append(f"missing key {path!r}.")
        elif err["type"] in ("model_type", "dict_type") and keys_at(root, loc):
            lines.append(
                f"{path} = {err.get('input')!r}: {path} is a section, not a value; set one of its keys "
                f"({path}.<key>=...): {', '.join(keys_at(root, loc))}."
            )
        else:
            value = err.get("input")
            shown = value if not isinstance(value, dict) else "{...}"
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "string_pattern_mismatch":
                message = PATTERN_RULES.get(err.get("ctx", {}).get("pattern"), message)
            lines.append(f"{path} = {shown!r}: {message}{allowed_range(field_at(root, loc))}.")
    return " ".join(dict.fromkeys(lines))


def load_yaml[S: BaseModel](path: str | Path, schema: type[S], what: str) -> S:
    """Read a YAML file and validate it against ``schema``.

    Raises:
        ConfigError: The file is unreadable, not YAML, or a key or value is wrong (the message names it).
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the {what}: {exc}") from None
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {format_validation_error(exc, schema)}") from None
