"""What every command shares: its count options and a quiet stop when its output closes."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager


def at_least(minimum: int) -> Callable[[str], int]:
    """An option type: a whole number of at least ``minimum``.

    argparse reports a value it refuses as ``argument --name: ...`` and exits with code 2.
    """

    def whole_number(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number of at least {minimum}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a whole number of at least {minimum}, got {value}")
        return value

    return whole_number


#: Exit code when standard output closes early (``| head``): what a shell reports for SIGPIPE.
EXIT_OUTPUT_CLOSED = 128 + signal.SIGPIPE


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
