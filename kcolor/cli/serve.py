"""``kcolor serve``: the web app; the options and the work are :mod:`kcolor.serve.cli`'s.

Example:

>>> from kcolor.cli import build_parser
>>> build_parser().parse_args(["serve"]).command
'serve'
"""

from __future__ import annotations

from kcolor.serve import cli as _serve_cli


def add_parser(sub):
    """Add ``kcolor serve`` to the subparsers ``sub``: :func:`kcolor.serve.cli.add_parser`."""
    return _serve_cli.add_parser(sub)


def run(args) -> int:
    """Run ``kcolor serve``: :func:`kcolor.serve.cli.run` (looked up when called)."""
    return _serve_cli.run(args)
