"""What the commands' options accept, checked by argparse (a bad value: one message and exit code 2)."""

from __future__ import annotations

import argparse
from collections.abc import Callable


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
