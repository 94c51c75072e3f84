"""``kcolor demo``: colour a bundled black-and-white photo and save a before/after image.

The models load through :func:`kcolor.cli.colorize._load_colorizer` (looked up there at
call time, so a test patches that one function for both commands).

Example:

>>> import numpy as np
>>> from kcolor.cli.demo import _panels
>>> grey = np.zeros((10, 20, 3), np.uint8)
>>> _panels([("a", grey), ("b", grey)], gap=4, caption=12).shape
(22, 44, 3)
"""

from __future__ import annotations

from pathlib import Path

from kcolor import argtypes
from kcolor.cli import colorize
from kcolor.cli.common import _VIVIDNESS_HELP, error


def add_parser(sub):
    """Add ``kcolor demo`` to the subparsers ``sub``; return its parser."""
    p = sub.add_parser(
        "demo",
        help="colour a bundled black-and-white photo and save a before/after image",
        description="Colour scikit-image's 'camera' photo (a real black-and-white picture) and "
        "write the grey original and the colour result side by side.",
    )
    p.add_argument(
        "-o",
        "--output",
        default="kcolor_demo.png",
        metavar="OUT",
        help="image to write (default kcolor_demo.png)",
    )
    p.add_argument(
        "--model",
        action="append",
        default=None,
        metavar="PRESET_OR_PATH",
        help="as for `kcolor colorize`; repeat it for one panel each (default: the default "
        "preset, next to the article's beta-photos)",
    )
    p.add_argument(
        "--vividness", type=argtypes.vividness, default=None, metavar="V", help=_VIVIDNESS_HELP
    )
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    return p


#: ``kcolor demo`` shows the default preset next to this article preset.
DEMO_ARTICLE_PRESET = "beta-photos"


def _demo_models(models) -> list:
    if models:
        return list(models)
    from kcolor.presets import DEFAULT_PRESET

    return [DEFAULT_PRESET] + (
        [DEMO_ARTICLE_PRESET] if DEFAULT_PRESET != DEMO_ARTICLE_PRESET else []
    )


def _panels(panels, gap: int = 8, caption: int = 22):
    """uint8 RGB panels ``[(label, (H, W, 3)), ...]`` side by side, each label beneath."""
    import numpy as np
    from PIL import Image, ImageDraw

    h = max(image.shape[0] for _, image in panels)
    w = sum(image.shape[1] for _, image in panels) + gap * (len(panels) - 1)
    sheet = Image.new("RGB", (w, h + caption), "white")
    draw, x = ImageDraw.Draw(sheet), 0
    for label, image in panels:
        sheet.paste(Image.fromarray(image), (x, 0))
        draw.text((x + 4, h + 5), label, fill=(0, 0, 0))
        x += image.shape[1] + gap
    return np.asarray(sheet)


def run(args) -> int:
    """Run ``kcolor demo`` with the parsed ``args``; return the exit status."""
    from kcolor import io as kio
    from kcolor.errors import KcolorError

    out = Path(args.output)
    if out.exists() and not args.overwrite:
        error(f"{out} exists already (pass --overwrite to replace it)")
        return 1
    models = _demo_models(args.model)
    vividness = getattr(args, "vividness", None)
    kwargs = {} if vividness is None else {"vividness": vividness}
    try:
        colorizers = []
        for spec in models:
            with colorize._status(f"loading {colorize._model_name(spec)}"):
                colorizers.append((spec, colorize._load_colorizer(spec, **kwargs)))
    except KcolorError as err:
        error(str(err))
        return 2
    from skimage import data

    from kcolor.presets import DEFAULT_PRESET

    grey = kio.as_rgb(data.camera())
    panels = [("black and white", grey)]
    for spec, colorizer in colorizers:
        label = str(spec) + (" (default)" if spec == DEFAULT_PRESET else "")
        label += "" if vividness is None else f", vividness {vividness:g}"
        panels.append((label, colorizer.colorize(grey)))
    try:
        kio.save_image(out, _panels(panels), overwrite=args.overwrite)
    except KcolorError as err:
        error(str(err))
        return 1
    names = ", ".join(label for label, _ in panels[1:])
    print(f"wrote {out}: the black-and-white photo (left), then {names}")
    return 0
