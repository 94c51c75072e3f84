"""Squash every photo to the preset's square input, or keep its aspect ratio? Measure both.

    python tools/studies/compare_aspect.py ../shared/data/photos/bsds500/test --n 100

Takes the first ``--n`` photos of a folder at half their size (BSDS500's are 3:2), colours
their grey versions with each preset twice, ``Colorizer(keep_aspect=False)`` (every photo
squashed to the preset's square input size) and ``keep_aspect=True`` (about the same
number of pixels, the photo's own aspect ratio), and prints mean PSNR, AuC, colourfulness
and ΔCF against the true photos. This is the measurement behind the Colorizer's default.
"""

from __future__ import annotations

import argparse

import numpy as np
from PIL import Image

import kcolor
from kcolor import io, metrics


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", help="folder of colour photos")
    parser.add_argument("--n", type=int, default=100, help="photos to use (default 100)")
    parser.add_argument("--presets", nargs="+", default=["beta-photos", "fusion-lite0-photos"])
    args = parser.parse_args(argv)
    paths, _ = io.find_images([args.data])
    truths = []
    for path in paths[: args.n]:
        rgb = Image.fromarray(io.load_image(path))
        truths.append(np.asarray(rgb.resize((rgb.width // 2, rgb.height // 2), Image.BICUBIC)))
    greys = [io.grey_version(t.astype(np.float32) / 255) for t in truths]
    print(f"{len(truths)} photos of {args.data}, half size")
    print(f"{'preset':22s} {'mode':12s} {'PSNR':>7s} {'AuC':>7s} {'CF':>6s} {'dCF':>6s}")
    for name in args.presets:
        for keep in (False, True):
            colorizer = kcolor.Colorizer.from_preset(name, keep_aspect=keep)
            preds = colorizer.colorize(greys)
            per = [metrics.evaluate_pair(p, t) for p, t in zip(preds, truths, strict=True)]
            print(
                f"{name:22s} {'keep aspect' if keep else 'squash':12s} "
                f"{np.mean([r['psnr'] for r in per]):7.3f} {np.mean([r['auc'] for r in per]):7.4f} "
                f"{np.mean([r['colorfulness'] for r in per]):6.2f} "
                f"{metrics.delta_colorfulness(preds, truths):6.2f}"
            )


if __name__ == "__main__":
    main()
