"""The top-level ``kcolor`` parser, the subcommand registry and the error handling all
subcommands share.

Each subcommand is a module of :mod:`kcolor.cli` with ``add_parser(subparsers)`` and
``run(args) -> exit status``, registered in :data:`COMMANDS`; heavy modules (Keras, torch)
load only inside ``run``, so ``kcolor --help`` is instant.

Exit statuses: 0 success; 1 some inputs failed (the summary says which and why), or the
command could not do its job (e.g. no trained preset for ``demo``), or an unexpected error;
2 bad usage or a model/data error before any work was done; 130 interrupted.

Example:

>>> from kcolor.cli.parser import COMMANDS
>>> list(COMMANDS)[:3]
['colorize', 'models', 'train']
"""

from __future__ import annotations

import argparse
import os
import sys

from kcolor.cli import colorize, convert, data, demo, evaluate, export, models, serve, train
from kcolor.cli.common import PROG, error

#: name -> (add parser, run): every `kcolor` sub-command, in the order of `kcolor --help`.
COMMANDS = {
    "colorize": (colorize.add_parser, colorize.run),
    "models": (models.add_parser, models.run),
    "train": (train.add_parser, train.run),
    "demo": (demo.add_parser, demo.run),
    "evaluate": (evaluate.add_parser, evaluate.run),
    "convert": (convert.add_parser, convert.run),
    "export": (export.add_parser, export.run),
    "serve": (serve.add_parser, serve.run),
    "data": (data.add_parser, data.run),  # kcolor/curation/cli.py: no Keras, no torch
}


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """Warnings as one line (``kcolor: warning: ...``), not Python's source-line format."""
    if os.environ.get("KCOLOR_DEBUG"):
        import warnings

        return warnings._showwarnmsg_impl(  # noqa: SLF001 - the stock format when debugging
            warnings.WarningMessage(message, category, filename, lineno, file, line)
        )
    print(f"{PROG}: warning: {message}", file=file or sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    """The ``kcolor`` argument parser, one subparser per entry of :data:`COMMANDS`.

    Returns:
        An ``argparse.ArgumentParser``; its parsed ``args.command`` names the subcommand.

    Example:

    >>> args = build_parser().parse_args(["colorize", "old.jpg", "-o", "out", "--size", "64"])
    >>> args.command, args.inputs, args.size
    ('colorize', ['old.jpg'], 64)
    """
    from kcolor import __version__

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Colourise black-and-white photos with Keras 3 on PyTorch, offline.",
        epilog="Run `kcolor COMMAND --help` for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for add, _ in COMMANDS.values():
        add(sub)
    return parser


def main(argv=None) -> int:
    """Run the ``kcolor`` command with ``argv`` (default ``sys.argv[1:]``); return the exit code.

    Errors never end in a bare traceback: kcolor's own errors print one line and give 2,
    anything unexpected one line and 1 (``KCOLOR_DEBUG=1`` re-raises), Ctrl-C gives 130.

    Args:
        argv: the words after ``kcolor``; bad usage exits (``SystemExit(2)``) via argparse.

    Returns:
        The exit status (see this module's docstring).

    Example:

    >>> main(["convert", "no/such/run", "new_folder"])
    2
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    import warnings

    warnings.showwarning = _show_warning
    try:
        return COMMANDS[args.command][1](args)
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        # A user never gets a bare traceback: one line naming the error, exit 2 for kcolor's
        # own errors (bad model/data), 1 for anything unexpected. KCOLOR_DEBUG=1 re-raises.
        if os.environ.get("KCOLOR_DEBUG"):
            raise
        from kcolor.errors import KcolorError

        if isinstance(err, KcolorError):
            error(str(err))
            return 2
        first = (str(err).strip().splitlines() or [""])[0]
        error(
            f"unexpected {type(err).__name__}: {first} "
            "(set KCOLOR_DEBUG=1 to see the traceback, and please report it)"
        )
        return 1
