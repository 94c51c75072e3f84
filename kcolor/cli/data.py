"""``kcolor data``: build, check and split photo collections; the options and the work are
:mod:`kcolor.curation.cli`'s (argparse only until ``kcolor data`` runs: no Keras, no torch).

Example:

>>> from kcolor.cli import data
>>> from kcolor.cli.parser import COMMANDS
>>> COMMANDS["data"] == (data.add_parser, data.run)
True
"""

from __future__ import annotations

from kcolor.curation import cli as _data_cli


def add_parser(sub):
    """Add ``kcolor data`` to the subparsers ``sub``: :func:`kcolor.curation.cli.add_parser`."""
    return _data_cli.add_parser(sub)


def run(args) -> int:
    """Run ``kcolor data``: :func:`kcolor.curation.cli.run` (looked up when called)."""
    return _data_cli.run(args)
