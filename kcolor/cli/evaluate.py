"""``kcolor evaluate``: measure colourisers on colour photos against the grey baseline.

The work is :func:`kcolor.evaluation.evaluate`; usage errors (a missing folder, an unknown
preset) are reported before Keras and torch load.

Example:

>>> from kcolor.cli import build_parser
>>> build_parser().parse_args(["evaluate", "photos/", "-o", "eval/"]).size
256
"""

from __future__ import annotations

import argparse
from pathlib import Path

from kcolor import argtypes
from kcolor.cli.common import error

_EPILOG_EVALUATE = """\
examples:
  kcolor evaluate photos/bsds500/test --model beta-photos -o eval/
  kcolor evaluate photos/ --model runs/a --model runs/b -o eval/ --limit 100 --semantic
  kcolor evaluate photos/bsds500/test photos/article/test -o eval/   # both folders' photos

Every photo is brought to SIZExSIZE (resize-to-fill + centre crop), grey photos are
dropped, and each model colours the photo's grey version (its own L, a = b = 0). That
grey version is also the baseline every model is compared with. OUT gets per_image.csv,
summary.csv and report.html (summary table, best and worst examples); they are replaced.
"""


def add_parser(sub):
    """Add ``kcolor evaluate`` to the subparsers ``sub``; return its parser."""
    p = sub.add_parser(
        "evaluate",
        help="measure colourisers on colour photos against the grey baseline",
        description="Colour the grey versions of colour photos and measure the result against "
        "the originals: PSNR, SSIM, AuC, colourfulness, its gap to the originals, chroma ratio, "
        "vivid recall (the share of strongly coloured true pixels coloured vividly with the "
        "right hue) and, with --semantic, whether an ImageNet classifier (EfficientNet-Lite1) "
        "sees the same thing and the Fréchet distance of its features to the originals'.",
        epilog=_EPILOG_EVALUATE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "data",
        nargs="+",
        metavar="DATA_DIR",
        help="folders of colour photos (or images): the photos of all of them are evaluated",
    )
    p.add_argument(
        "--model",
        action="append",
        default=None,
        metavar="PRESET_OR_PATH",
        help="a preset name, a .keras file or a `kcolor train` run folder; repeat it to "
        "compare several models (default: the default preset)",
    )
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="output folder (created)")
    p.add_argument(
        "--size", type=argtypes.size, default=256, metavar="N", help="photos are NxN (default 256)"
    )
    p.add_argument(
        "--limit", type=argtypes.positive_int, default=None, metavar="N", help="at most N photos"
    )
    p.add_argument(
        "--batch-size", type=argtypes.positive_int, default=8, metavar="N", help="default 8"
    )
    p.add_argument(
        "--semantic",
        action="store_true",
        help="also measure semantic agreement: does a frozen ImageNet classifier (the judge) "
        "give the colourised photo the original's top-1 class",
    )
    p.add_argument(
        "--judge",
        choices=("efficientnet_lite1", "efficientnet_lite0"),
        default="efficientnet_lite1",
        help="the classifier of --semantic (default efficientnet_lite1: not the fusion "
        "model's own Lite0 backbone)",
    )
    p.add_argument("--keep-grey", action="store_true", help="do not drop grey photos")
    p.add_argument("-r", "--recursive", action="store_true", help="also use photos in sub-folders")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return p


def run(args) -> int:
    """Run ``kcolor evaluate`` with the parsed ``args``; return the exit status."""
    from kcolor import presets
    from kcolor.errors import DataError, KcolorError

    try:  # usage errors before torch and Keras load
        for data in args.data:
            if not Path(data).exists():
                raise DataError(f"{data}: no such file or folder")
        for spec in args.model or [None]:
            presets.check_spec(spec)
    except KcolorError as err:
        error(str(err))
        return 2
    from kcolor.evaluation import evaluate, format_summary

    try:
        summary = evaluate(
            args.data,
            args.model if args.model else None,
            size=args.size,
            out_dir=args.output,
            batch_size=args.batch_size,
            limit=args.limit,
            drop_grey=not args.keep_grey,
            progress=not args.quiet,
            semantic=args.semantic,
            recursive=args.recursive,
            judge=args.judge,
        )
    except KcolorError as err:
        error(str(err))
        return 2
    print(format_summary(summary))
    print(f"output folder: {args.output}  (per_image.csv, summary.csv, report.html)")
    return 0
