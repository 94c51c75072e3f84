"""``kcolor convert``: turn a run folder of the older format into a preset folder.

Example:

>>> from kcolor.cli import main
>>> main(["convert", "no/such/run", "new_folder"])
2
"""

from __future__ import annotations

from pathlib import Path

from kcolor.cli.common import error


def add_parser(sub):
    """Add ``kcolor convert`` to the subparsers ``sub``; return its parser."""
    p = sub.add_parser(
        "convert",
        help="convert an old run folder into a preset folder",
        description="Convert a run folder of the older format (`kcolor train`: model.keras + "
        "config.json; examples 05/06: model.weights.h5 + config.json) into a preset folder.",
    )
    p.add_argument("source", metavar="OLD_RUN")
    p.add_argument("target", metavar="NEW_FOLDER")
    p.add_argument("--unsafe", action="store_true", help="allow a .keras file with a Lambda layer")
    return p


def run(args) -> int:
    """Run ``kcolor convert`` with the parsed ``args``; return the exit status."""
    from kcolor import presets

    if presets.legacy_kind(args.source) is None:
        error(f"{args.source}: not an old kcolor run folder (nothing to convert)")
        return 2
    if Path(args.target).exists():
        error(f"{args.target}: exists already; choose a new folder")
        return 2
    out = presets.convert_legacy(args.source, args.target, safe_mode=not args.unsafe)
    print(f"converted: {out}  (use it with --model {out})")
    return 0
