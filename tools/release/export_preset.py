"""Export a run folder (``kcolor train`` or examples 04-06) as a shipped preset folder.

    python tools/release/export_preset.py RUN_DIR NAME [--weights-dir DIR] [--float32]
        [--description TEXT] [--command "CMD && CMD ..."]

writes ``kcolor/weights/NAME/`` (config.json, model.weights.h5 as float16, metadata.json
with the weights' SHA-256, history.csv) with :func:`kcolor.presets.export_preset`, replacing
a preset of that name, and prints the folder and the hash.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", metavar="RUN_DIR", help="a preset folder, e.g. a kcolor train run")
    parser.add_argument("name", metavar="NAME", help="the preset's name (its folder's name)")
    parser.add_argument(
        "--weights-dir",
        metavar="DIR",
        help="where the preset folder goes (default: kcolor/weights)",
    )
    parser.add_argument("--float32", action="store_true", help="keep the weights as float32")
    parser.add_argument(
        "--description", help="what `kcolor models` says of it (default: the run's own)"
    )
    parser.add_argument(
        "--command",
        help="the commands that make it, joined by ' && ', starting with its `kcolor train` "
        "(default: the run's own)",
    )
    args = parser.parse_args(argv)

    from kcolor import presets
    from kcolor.errors import KcolorError

    if not args.name or Path(args.name).name != args.name:
        parser.error(f"NAME must be a plain folder name, got {args.name!r}")
    dest = Path(args.weights_dir) if args.weights_dir else presets.WEIGHTS_DIR
    try:
        folder = presets.export_preset(
            args.run,
            dest / args.name,
            float16=not args.float32,
            overwrite=True,
            name=args.name,
            **({"description": args.description} if args.description else {}),
            **({"command": args.command} if args.command else {}),
        )
    except KcolorError as err:
        print(f"export_preset: {err}", file=sys.stderr)
        return 2
    digest = presets.read_metadata(folder)["weights_sha256"]
    print(f"preset {args.name}: {folder}  sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
