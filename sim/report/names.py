"""Names a report shows: the sources of compute in stacking order, and readable labels.

Channels come from the channel registry (``sim.channels.CHANNELS``: order, ``label``), so a new
channel needs no edit here; this module holds only the names that are no channel.
"""

from __future__ import annotations

from sim.channels import CHANNEL_NAMES, CHANNELS

#: Compute a firm held before 2025; the one source of compute that is no channel.
STOCKPILE = "stockpile"
#: Every source of compute, in the order figures stack and list them.
SOURCE_ORDER: tuple[str, ...] = (STOCKPILE, *CHANNEL_NAMES)

LABELS = {
    STOCKPILE: "Pre-2025 stockpile",
    "access_ratio": "Access ratio (access / demand)",
    "detection_rate": "Detection rate (detected / attempted)",
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
    return LABELS.get(name, name.replace("_", " ").capitalize())
