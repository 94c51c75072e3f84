"""``kcolor export``: write a model as one ONNX graph plus its JSON description.

The work is :func:`kcolor.presets.export.export_to_folder`; see docs/export.md.

Example:

>>> from kcolor.cli import build_parser
>>> build_parser().parse_args(["export", "beta-photos", "-o", "out"]).overwrite
False
"""

from __future__ import annotations

from kcolor.cli.common import error


def add_parser(sub):
    """Add ``kcolor export`` to the subparsers ``sub``; return its parser."""
    p = sub.add_parser(
        "export",
        help="write a model as an ONNX file (model.onnx + model.json) to deploy elsewhere",
        description="Write the network of a preset, run folder or .keras file, with its colour "
        "decoding, as one ONNX graph (model.onnx) and a JSON of its inputs, outputs and pre- "
        "and post-processing (model.json); see docs/export.md. With OUTDIR the preset folder "
        "itself, its own export (what `kcolor colorize` uses) is written again.",
    )
    p.add_argument("model", metavar="PRESET_OR_RUN")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="output folder")
    p.add_argument("--overwrite", action="store_true", help="replace an existing model.onnx")
    p.add_argument("--unsafe", action="store_true", help="allow a .keras file with a Lambda layer")
    return p


def run(args) -> int:
    """Run ``kcolor export`` with the parsed ``args``; return the exit status."""
    from kcolor.presets.export import export_to_folder

    try:
        onnx_file, json_file = export_to_folder(
            args.model, args.output, safe_mode=not args.unsafe, overwrite=args.overwrite
        )
    except FileExistsError as err:
        error(str(err))
        return 2
    size = onnx_file.stat().st_size / 1e6
    print(f"wrote {onnx_file} ({size:.1f} MB) and {json_file}")
    return 0
