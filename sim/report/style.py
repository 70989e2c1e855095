"""The one figure style: palettes, fixed colours per source and hub, sizes for papers and slides.

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
#: Paul Tol's muted colours (safe for colour-vision deficiencies; cyan, close to the compliant channel's
#: sky blue, left out) and a brown: distinct from each other, from every channel and from the stockpile
#: (hubs at least 25 CIELAB units apart from each other, ``tests/test_report.py``).
HUB_COLOURS = {
    "singapore": "#332288",
    "malaysia": "#882255",
    "thailand": "#997700",  # Tol's dark yellow: his sand (#DDCC77) is too pale on white (1.6:1)
    "indonesia": "#117733",
    "vietnam": "#AA4499",
    "uae": "#CC6677",
    "saudi_arabia": "#44AA99",
    "hong_kong": "#6F4E37",  # a brown: Tol's olive (#999933) is hard to tell from Thailand's dark yellow
}

_PAPER_WIDTHS_IN = {"one_column": 3.5, "two_column": 7.2}
_PAPER_RCPARAMS = {
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.labelsize": 8,
    "legend.fontsize": 7,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "lines.linewidth": 1.2,
    "lines.markersize": 3.5,
}
#: Slides show the paper figure scaled up, text, lines and size alike, so that what fits in print
#: fits on a slide: 12.6 in wide at two columns (a 16:9 slide is 13.33 in), 14 pt text.
SLIDES_SCALE = 1.75
#: Figure widths in inches per theme: one and two columns of a paper; a half and a full slide.
WIDTHS_IN = {
    "paper": _PAPER_WIDTHS_IN,
    "slides": {kind: inches * SLIDES_SCALE for kind, inches in _PAPER_WIDTHS_IN.items()},
}
_THEME_RCPARAMS = {
    "paper": _PAPER_RCPARAMS,
    "slides": {key: value * SLIDES_SCALE for key, value in _PAPER_RCPARAMS.items()},
}
THEMES = tuple(_THEME_RCPARAMS)
_active_theme = "paper"  # the theme of the innermost ``theme`` block; figures made outside one are paper's
_COMMON = {
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "legend.frameon": False,
    "savefig.bbox": "tight",  # never clips what overflows; with no padding, a figure that fits keeps its width
    "savefig.pad_inches": 0.0,
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


def width(kind: str) -> float:
    """Figure width in inches of ``kind`` ('one_column' or 'two_column') under the active theme."""
    return WIDTHS_IN[_active_theme][kind]


def height(kind: str, paper_height_in: float) -> float:
    """Height in inches of a figure ``paper_height_in`` tall at paper width, scaled with the active theme's width."""
    return paper_height_in * width(kind) / WIDTHS_IN["paper"][kind]


@contextmanager
def theme(name: str = "paper") -> Iterator[None]:
    """Apply a theme ('paper' or 'slides') to the figures made inside the block: fonts, lines and sizes."""
    global _active_theme
    if name not in _THEME_RCPARAMS:
        raise ValueError(f"unknown theme {name!r}; allowed: {', '.join(THEMES)}")
    previous, _active_theme = _active_theme, name
    try:
        with mpl.rc_context({**_COMMON, **_THEME_RCPARAMS[name]}):
            yield
    finally:
        _active_theme = previous
