"""What every ``kcolor`` subcommand shares: the program name, the one-line error format and
the help of ``--vividness``.

It imports nothing heavy (no Keras, no torch): ``kcolor --help`` stays instant.

Example:

>>> from kcolor.cli.common import PROG, error
>>> PROG
'kcolor'
"""

from __future__ import annotations

import sys

PROG = "kcolor"

#: The help of ``--vividness`` (colorize and demo).
_VIVIDNESS_HELP = (
    "how colourful, from 0 to 1: 0 muted, 0.5 the preset's balance, 1 vivid (default: the "
    "preset's own, 0.5 unless it records another)"
)


def error(message: str) -> None:
    """Print ``kcolor: error: ...`` on stderr, on one line (library messages may hold newlines).

    Args:
        message: the error; runs of whitespace (newlines too) become one space.

    Example:

    >>> import contextlib, io
    >>> buffer = io.StringIO()
    >>> with contextlib.redirect_stderr(buffer):
    ...     error("a.jpg:   no such   file")
    >>> print(buffer.getvalue(), end="")
    kcolor: error: a.jpg: no such file
    """
    text = " ".join(str(message).split())
    print(f"{PROG}: error: {text}", file=sys.stderr)
