"""Names a report shows: the sources of compute in stacking order, readable labels, and event marks.

Channels come from the channel registry (``sim.channels.CHANNELS``: order, ``label``), so a new
channel needs no edit here; this module holds only the names that are no channel.
"""

from __future__ import annotations

import re

from sim.channels import CHANNEL_NAMES, CHANNELS
from sim.config import Config
from sim.levers import LEVERS
from sim.loading import unit_of

#: Compute a firm held at the start (world.as_of); the one source of compute that is no channel.
STOCKPILE = "stockpile"
#: Every source of compute, in the order figures stack and list them.
SOURCE_ORDER: tuple[str, ...] = (STOCKPILE, *CHANNEL_NAMES)
#: Channels through a hub abroad, in source order: the small sources figures also draw on their own.
OFFSHORE_CHANNELS: tuple[str, ...] = tuple(n for n in CHANNEL_NAMES if CHANNELS[n].offshore)

LABELS = {
    STOCKPILE: "Stockpile at the start",
    "access_ratio": "Access ratio (access / demand)",
    "detection_rate": "Detection rate (detected / attempted)",
    "smuggled_h100e_total": "Chips smuggled over the run (H100e)",
    "uae": "UAE",
    "saudi_arabia": "Saudi Arabia",
    "hong_kong": "Hong Kong",
    "diffusion_rule_kept": "Diffusion Rule kept",
    "crackdown_singapore": "Singapore crackdown",
    "no_controls": "No controls",
}


def label(name: str) -> str:
    """A readable label for a source, channel, hub, scenario or metric name."""
    if name in CHANNELS:
        return CHANNELS[name].label
    text = LABELS.get(name, name.replace("_", " ").capitalize())
    return re.sub(r"\b([a-z])(\d+)\b", lambda m: m.group(1).upper() + m.group(2), text)  # chip names: H20


#: Factors whose last key alone would lose its context, by config path (a lever's keys: its ``labels``).
FACTOR_LABELS = {
    "world.intermediaries.registration_rate_per_month": "Intermediary registrations",
} | {f"policy.{key}.{name}": text for key, lever in LEVERS.items() for name, text in lever.labels.items()}

#: Words of a config key that only repeat its unit, dropped from labels.
UNIT_WORDS = {"h100e", "per", "year", "month", "months", "usd"}


def event_marks(config: Config) -> tuple[tuple[str, str], ...]:
    """(month, label) of every timeline event of a config, in month order: the event lines of time axes."""
    return tuple(sorted((event.month, event.label or label(name)) for name, event in config.timeline.items()))


def factor_label(path: str) -> str:
    """A readable label for a factor's config path, with its unit.

    Its :data:`FACTOR_LABELS` entry, else its last key in words (unit words dropped).
    """
    words = path.split(".")[-1].split("_")
    while len(words) > 1 and words[-1] in UNIT_WORDS:
        words.pop()
    text = FACTOR_LABELS.get(path) or " ".join(words).replace("tier2", "tier-2").replace("tier3", "tier-3")
    unit = unit_of(path)
    return f"{text[:1].upper()}{text[1:]}" + (f" ({unit})" if unit else "")
