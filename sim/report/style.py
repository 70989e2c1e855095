"""The one figure style: palette, fixed colours per source and hub, sizes for papers and slides.

A channel's colour is its class's ``colour`` in the channel registry (``sim.channels.CHANNELS``);
this module holds the colours of names that are no channel: the stockpile and the hubs.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager

import matplotlib as mpl

from sim.channels import CHANNELS
from sim.report.names import STOCKPILE

#: Okabe-Ito, safe for the common colour-vision deficiencies.
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000")

STOCKPILE_COLOUR = "#BBBBBB"
HUB_COLOURS = {
    "singapore": "#D55E00",
    "malaysia": "#0072B2",
    "thailand": "#009E73",
    "indonesia": "#E69F00",
    "vietnam": "#CC79A7",
    "uae": "#56B4E9",
    "saudi_arabia": "#000000",
    "hong_kong": "#F0E442",
}

#: Figure widths in inches: one and two columns of a paper, and a slide.
WIDTHS_IN = {"one_column": 3.5, "two_column": 7.2, "slide": 10.0}

_THEME_RCPARAMS = {
    "paper": {
        "font.size": 8,
        "axes.titlesize": 9,
        "axes.labelsize": 8,
        "legend.fontsize": 7,
        "xtick.labelsize": 7,
        "ytick.labelsize": 7,
        "lines.linewidth": 1.2,
    },
    "slides": {
        "font.size": 14,
        "axes.titlesize": 16,
        "axes.labelsize": 14,
        "legend.fontsize": 12,
        "xtick.labelsize": 12,
        "ytick.labelsize": 12,
        "lines.linewidth": 2.0,
    },
}
THEMES = tuple(_THEME_RCPARAMS)
_COMMON = {
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "legend.frameon": False,
    "savefig.bbox": "tight",
    "pdf.fonttype": 42,
    "axes.prop_cycle": mpl.cycler(color=OKABE_ITO),
}


def colour(name: str) -> str:
    """The fixed colour of a channel, the stockpile or a hub; any other name gets a palette colour of its own."""
    if name in CHANNELS:
        return CHANNELS[name].colour
    if name == STOCKPILE:
        return STOCKPILE_COLOUR
    fallback = OKABE_ITO[zlib.crc32(name.encode()) % len(OKABE_ITO)]  # stable across processes
    return HUB_COLOURS.get(name, fallback)


@contextmanager
def theme(name: str = "paper") -> Iterator[None]:
    """Apply a theme ('paper' or 'slides') to the figures made inside the block."""
    if name not in _THEME_RCPARAMS:
        raise ValueError(f"unknown theme {name!r}; allowed: {', '.join(THEMES)}")
    with mpl.rc_context({**_COMMON, **_THEME_RCPARAMS[name]}):
        yield
