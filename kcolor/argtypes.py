"""Argument types shared by the ``kcolor`` sub-commands (argparse ``type=`` functions).

Each turns a command-line string into a value or raises ``argparse.ArgumentTypeError``
with a message that says what was expected, so argparse prints it as a usage error (exit 2).

Example:
    >>> from kcolor.argtypes import int_at_least, fraction
    >>> int_at_least(1)("3"), fraction("0.05")
    (3, 0.05)
"""

from __future__ import annotations

import argparse


def int_at_least(minimum: int):
    """A ``type=`` for whole numbers ``>= minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a number >= {minimum}, got {value}")
        return value

    return parse


positive_int = int_at_least(1)


def size(text: str) -> int:
    """A ``type=`` for network sides: positive multiples of 8."""
    value = positive_int(text)
    if value % 8:
        raise argparse.ArgumentTypeError(
            f"the size must be a multiple of 8 (the networks downsample 3 times), got {value}"
        )
    return value


def fraction(text: str) -> float:
    """A ``type=`` for fractions in ``[0, 1)``."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {value}")
    return value


def vividness(text: str) -> float:
    """A ``type=`` for ``--vividness``: a number from 0 to 1 (:func:`kcolor.presets.vividness_record.check`)."""
    from kcolor.presets import vividness_record as _vividness  # no numpy, no Keras

    try:
        return _vividness.check(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number from 0 to 1 ({_vividness.HELP}), got {text!r}"
        ) from None
