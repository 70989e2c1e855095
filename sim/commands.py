"""What every command shares: option types, exit codes, a quiet stop when output closes, how numbers print."""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version


def version_text() -> str:
    """``exportsim <version>``, what ``--version`` prints (or how to install it when it is not installed)."""
    try:
        return f"exportsim {version('exportsim')}"
    except PackageNotFoundError:
        return "exportsim (not installed: pip install -e .)"


def counted(n: int, noun: str) -> str:
    """``n`` and ``noun``, plural unless ``n`` is 1: "1 month", "6 points"."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def at_least(minimum: int, at_most: int | None = None) -> Callable[[str], int]:
    """An option type: a whole number of at least ``minimum`` (and, if given, at most ``at_most``).

    argparse reports a value it refuses as ``argument --name: ...`` and exits with code 2.
    """
    allowed = f"of at least {minimum}" if at_most is None else f"from {minimum} to {at_most}"

    def whole_number(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number {allowed}, got {text!r}") from None
        if value < minimum or (at_most is not None and value > at_most):
            raise argparse.ArgumentTypeError(f"expected a whole number {allowed}, got {value}")
        return value

    return whole_number


def confidence_level(text: str) -> float:
    """An option type: a confidence level strictly between 0 and 1 (0.95 for 95%).

    argparse reports a value it refuses as ``argument --name: ...`` and exits with code 2.
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a level between 0 and 1, e.g. 0.95, got {text!r}") from None
    if not 0 < value < 1:
        hint = f" (for {value:g}% write {value / 100:g})" if 1 < value < 100 else ""
        raise argparse.ArgumentTypeError(f"expected a level between 0 and 1, e.g. 0.95, got {value:g}{hint}")
    return value


#: Exit code when standard output closes early (``| head``): what a shell reports for SIGPIPE.
EXIT_OUTPUT_CLOSED = 128 + signal.SIGPIPE
#: Exit code of a command stopped by Ctrl-C: what a shell reports for SIGINT.
EXIT_INTERRUPTED = 128 + signal.SIGINT


@contextmanager
def quiet_when_output_closes() -> Iterator[None]:
    """Stop quietly, with :data:`EXIT_OUTPUT_CLOSED`, when the reader of standard output goes away.

    ``python -m sim ... | head`` then ends as other Unix tools do, without a traceback; what the
    command wrote to files before stays. The signal itself is left ignored (Python's default), so
    worker pools still see a closed connection as an error they handle.
    """
    try:
        try:
            yield
        finally:
            sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the exit's own flush goes nowhere
        sys.exit(EXIT_OUTPUT_CLOSED)


def readable(value: float) -> str:
    """A number as a printed table shows it: 4 significant digits, thousands separated, never 1.5e+05."""
    if value != value or abs(value) < 1000:  # NaN, or small: 4 significant digits
        return f"{value:.4g}"
    return f"{value:,.0f}"


def rounding_place(values: Iterable[float], significant: int) -> int:
    """Digits after the point that leave the largest of ``values`` ``significant`` significant digits.

    Negative: round to tens (-1), hundreds (-2), and so on. NaN values are left out; with no
    value but zero, ``significant - 1``. A largest value that rounds up to the next power of ten
    keeps its digits: 0.009997 to 2 digits is 0.010, not 0.0100.
    """
    largest = max((abs(v) for v in values if not math.isnan(v)), default=0.0)
    if not largest:
        return significant - 1
    place = significant - 1 - math.floor(math.log10(largest))
    return place - 1 if abs(round(largest, place)) >= 10 ** (significant - place) else place


def fixed(value: float, place: int, signed: bool = False) -> str:
    """``value`` rounded at ``place`` (:func:`rounding_place`), thousands separated, never an exponent.

    With ``signed``, a positive value gets a ``+``; a value that rounds to zero is ``0`` unsigned.
    """
    rounded = round(value, place) + 0.0  # no "-0"
    return f"{'+' if signed and rounded > 0 else ''}{rounded:,.{max(place, 0)}f}"


def readable_interval(mean: float, low: float, high: float, missing: str = "nan") -> tuple[str, str, str]:
    """A mean and its interval as a table shows them: at one place, 4 significant digits of the largest.

    Never an exponent, never rounded short of units (a volume shows every digit); all zero as
    ``0``; NaN as ``missing``.
    """
    nonzero = [v for v in (mean, low, high) if v and not math.isnan(v)]
    place = max(rounding_place(nonzero, 4), 0) if nonzero else 0
    return tuple(missing if math.isnan(v) else fixed(v, place) for v in (mean, low, high))
