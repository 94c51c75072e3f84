"""A grid of strongly coloured validation photos: truth | grey | new | old colouriser.

Issue 26 asks for pictures beside the numbers: the validation photos (never
``bsds500/test``) whose true colours are strongest, coloured by a candidate and by the
shipped default, so that a brown macaw or a yellow cast shows at a glance. The photos are
chosen by their truth alone (the share of pixels with ab chroma >= 30, the pixels vivid
recall counts), so the choice favours neither colouriser; each is centre-cropped to a
square and scaled to ``--size``. Each colourised cell is labelled with that photo's vivid
recall.

Usage::

    python tools/release/vivid_grid.py ../kcolor-campaign-data/valdir \\
        --new ../kcolor-campaign-run/unet-lite0-photos --old unet-lite0-photos \\
        -o docs/vivid_grid.jpg
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import kcolor  # noqa: F401  (sets the Keras backend before keras is imported)


def strong_share(rgb: np.ndarray) -> float:
    """The share of a photo's pixels whose ab chroma is >= vivid recall's threshold."""
    from kcolor import color
    from kcolor.metrics.vivid import VIVID_TRUTH_CHROMA

    lab = color.rgb_to_lab(rgb.astype(np.float32) / 255.0)
    return float((np.hypot(lab[..., 1], lab[..., 2]) >= VIVID_TRUTH_CHROMA).mean())


def pick(photos: list[np.ndarray], n: int) -> list[int]:
    """The ``n`` photos with the largest :func:`strong_share`, in that order."""
    shares = np.array([strong_share(p) for p in photos])
    return [int(i) for i in np.argsort(-shares, kind="stable")[:n]]


def read_names(path) -> list[str]:
    """The file names listed in ``path``: one a line, blank lines and ``#`` comments skipped."""
    lines = (line.split("#", 1)[0].strip() for line in Path(path).read_text().splitlines())
    return [line for line in lines if line]


def picked(files: list, names: list[str]) -> list[int]:
    """Indices into ``files`` of ``names``, in their order; a name not found is an error.

    Example:
        >>> picked(["a/x.jpg", "a/y.jpg", "a/z.jpg"], ["z.jpg", "x.jpg"])
        [2, 0]
    """
    index = {Path(f).name: i for i, f in enumerate(files)}
    missing = [n for n in names if n not in index]
    if missing:
        raise SystemExit(f"--pick: not among the photos: {', '.join(missing)}")
    return [index[n] for n in names]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("data", help="validation photos (a folder)")
    p.add_argument("--new", required=True, help="the candidate preset or run folder")
    p.add_argument("--old", default="unet-lite0-photos", help="the shipped default")
    p.add_argument("--new-title", default="new")
    p.add_argument("--old-title", default="old default")
    p.add_argument("-n", type=int, default=12, help="how many photos")
    p.add_argument(
        "--pick",
        default=None,
        help="a text file of photo file names (one a line, # comments), in the order to show:"
        " these photos instead of the most colourful ones",
    )
    p.add_argument("--size", type=int, default=256)
    p.add_argument("-o", "--output", required=True, help="the grid (.jpg or .png)")
    args = p.parse_args(argv)

    from kcolor.evaluation.photos import prepare
    from kcolor.inference.colorizer import Colorizer
    from kcolor.io import as_rgb, find_photos, grey_version
    from kcolor.metrics.vivid import vivid_recall
    from kcolor.report.figures import compare_grid

    files, _ = find_photos(args.data)
    if args.pick:  # only the listed photos are decoded
        chosen = picked(files, read_names(args.pick))
        truth = [prepare(as_rgb(files[i]), args.size) for i in chosen]
    else:
        photos = [prepare(as_rgb(f), args.size) for f in files]
        chosen = pick(photos, args.n)
        truth = [photos[i] for i in chosen]
    grey = [grey_version(t) for t in truth]
    columns = {"truth": truth, "grey": grey}
    for title, spec in ((args.new_title, args.new), (args.old_title, args.old)):
        colorizer = Colorizer.from_preset(spec)
        columns[title] = colorizer.colorize_arrays(grey)
    rows = []
    for i, f in enumerate(chosen):
        recalls = [
            f"{vivid_recall([columns[t][i]], [truth[i]]):.2f}"
            for t in (args.new_title, args.old_title)
        ]
        rows.append(f"{Path(files[f]).stem[:18]}\nrecall {' / '.join(recalls)}")
    fig = compare_grid(columns, row_titles=rows, cell_size=2.0)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80, pil_kwargs={"quality": 88} if out.suffix == ".jpg" else None)
    print(f"{out}: {len(chosen)} photos from {args.data}: {[Path(files[i]).name for i in chosen]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
