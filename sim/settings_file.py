"""Settings files: a scenario and the config values changed from it, saved as YAML.

``python -m sim settings=<file>`` runs one unchanged (any overrides after it apply on top), and
the browser explorer saves and loads them::

    # exportsim settings
    scenario: baseline
    settings:
      policy.enforcement.audit_budget_per_month: 8
      world.hubs.singapore.cargo_inspection_rate: 0.25
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from sim.schema import ConfigError, suggest

HEADER = "# exportsim settings: run with  python -m sim settings=<this file>\n"


def save_settings(path: Path | str, scenario: str, settings: Mapping[str, Any]) -> Path:
    """Write a scenario and dotted config settings as a settings file; return its path."""
    path = Path(path)
    body = {"scenario": scenario, "settings": dict(settings)}
    path.write_text(HEADER + yaml.safe_dump(body, sort_keys=False))
    return path


class _KeyTwiceError(yaml.YAMLError):
    """A mapping of a settings file gives one key twice (PyYAML would keep the last silently)."""

    def __init__(self, key: Any, line: int) -> None:
        super().__init__(f"{key!r} is given twice (the second on line {line}); give it once")


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise _KeyTwiceError(key, key_node.start_mark.line + 1)
            seen.add(key)
        return super().construct_mapping(node, deep)


def read_settings(path: Path | str) -> tuple[str, dict[str, Any]]:
    """The scenario and settings of a settings file.

    Raises:
        ConfigError: The file is missing, is not YAML, or has other keys than scenario and settings.
    """
    if not str(path).strip():
        raise ConfigError("settings=: expected the path of a settings file, e.g. settings=my_settings.yaml")
    path = Path(path)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except OSError as exc:
        raise ConfigError(f"settings={path}: cannot read it ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"settings={path}: not a text file (expected YAML in UTF-8)") from None
    except _KeyTwiceError as exc:
        raise ConfigError(f"settings={path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"settings={path}: not YAML ({exc})") from None
    stray = sorted(map(str, set(data) - {"scenario", "settings"})) if isinstance(data, dict) else []
    if not isinstance(data, dict) or stray or not isinstance(data.get("scenario"), str):
        unknown = f" (unknown: {', '.join(stray)}.{suggest(stray[0], ['scenario', 'settings'])})" if stray else ""
        raise ConfigError(
            f"settings={path}: expected 'scenario: <name>' and an optional 'settings:' mapping of dotted config "
            f"paths to values{unknown}"
        )
    settings = data.get("settings") or {}
    if not isinstance(settings, dict):
        raise ConfigError(f"settings={path}: 'settings' must map dotted config paths to values")
    for key, value in settings.items():
        if value == {}:
            raise ConfigError(f"settings={path}: settings.{key} is empty and sets nothing; remove it")
        if isinstance(value, dict) and "." not in str(key):
            raise ConfigError(
                f"settings={path}: settings.{key} is nested; write each setting under its dotted path, "
                f"e.g. '{_first_dotted(key, value)}'"
            )
    return data["scenario"], settings


def _first_dotted(key: Any, value: Any) -> str:
    """The first leaf of a nested mapping as a dotted setting (``policy.end_user_audits.audit_rate: 0.3``)."""
    while isinstance(value, dict) and value:
        inner, value = next(iter(value.items()))
        key = f"{key}.{inner}"
    return f"{key}: {value}"


def _hydra_value(value: Any) -> str:
    """A value in Hydra's override grammar."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(_hydra_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_hydra_value(v)}" for k, v in value.items()) + "}"
    # a double-quoted string (Hydra reads no \u escapes) in which ${ is text, not an interpolation
    return json.dumps(str(value), ensure_ascii=False).replace("${", "\\${")


def settings_overrides(path: Path | str) -> list[str]:
    """The Hydra overrides a settings file stands for: its scenario, then each setting."""
    scenario, settings = read_settings(path)
    return [f"scenario={scenario}", *(f"{key}={_hydra_value(value)}" for key, value in settings.items())]
