"""Colour hints, measured: quality with 0-20 simulated hints, the speed of one update, a picture.

Hints are simulated from the true colours as Zhang et al. 2017 did: a random location
(uniform over the photo), a square patch of a random side from 1 to 9 pixels there, and the
colour the patch's mean true ab at the patch's mean L. Quality is PSNR (RGB, dB) and vivid
recall (:mod:`kcolor.metrics`) on validation photos (``campaign/val.csv``, never BSDS500
test) coloured by the default preset; the network runs once per photo and each hint count
re-runs only the propagation. Speed: one update (propagation + join at full size, the
network's ab cached as ``kcolor serve`` does) at 1024x768, median of repeats, first with
fresh hints, then adding a stroke to earlier ones (warm start).

Usage::

    nice -n 10 python benchmarks/hints.py --photos 30 --picture docs/hints.jpg
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import time

import numpy as np
from PIL import Image, ImageDraw

from kcolor import color, metrics
from kcolor.inference import hints as H
from kcolor.inference.colorizer import Colorizer

# ../shared/data beside the checkout, or $KCOLOR_SHARED (as the tests read it)
ROOT = os.path.join(
    os.environ.get(
        "KCOLOR_SHARED",
        os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data"),
    ),
    "photos",
)
COUNTS = (0, 1, 5, 10, 20)


def simulate(truth: np.ndarray, n: int, rng) -> list:
    """``n`` Zhang-style hints ``(x, y, (r, g, b), radius)`` from a true RGB photo."""
    lab = color.rgb_to_lab(truth)
    h, w = truth.shape[:2]
    out = []
    for _ in range(n):
        side = int(rng.integers(1, 10))
        y0, x0 = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        patch = lab[y0 : y0 + side, x0 : x0 + side].reshape(-1, 3).mean(0)
        rgb = color.lab_to_rgb(patch[None, None].astype(np.float32))[0, 0]
        rgb = tuple(int(v) for v in np.clip(np.round(np.asarray(rgb) * 255), 0, 255))
        cx, cy = x0 + (side - 1) / 2, y0 + (side - 1) / 2
        out.append((cx, cy, rgb, side / 2))
    return out


def quality(colorizer, paths, seed: int, mode: str):
    rows = {n: {"psnr": [], "hits": 0, "strong": 0} for n in COUNTS}
    for k, path in enumerate(paths):
        truth = np.asarray(Image.open(path).convert("RGB"))
        grey = truth  # the colouriser keeps only its L (so L is exactly the truth's)
        ab = colorizer.colorize_arrays([grey], ab_only=True)[0]
        prepared = H._Prepared(grey, ab, H.WORK_SIZE, None, None)
        for n in COUNTS:
            rng = np.random.default_rng(seed * 1000 + k)
            hints = simulate(truth, n, rng)
            if n == 0:
                out = colorizer.colorize_arrays([grey])[0]
            else:
                prepared.last = None
                out = color.join_lightness(
                    grey, H.apply_hints(grey, None, hints, prepared=prepared, mode=mode)
                )
            rows[n]["psnr"].append(float(metrics.psnr(out, truth)))
            hits, strong = metrics.vivid_counts(out, truth)
            rows[n]["hits"] += hits
            rows[n]["strong"] += strong
    return rows


def speed(colorizer, path, repeats: int):
    photo = np.asarray(Image.open(path).convert("L").resize((1024, 768), Image.BICUBIC))
    truth = np.asarray(Image.open(path).convert("RGB").resize((1024, 768), Image.BICUBIC))
    ab = colorizer.colorize_arrays([photo], ab_only=True)[0]
    t0 = time.perf_counter()
    prepared = H._Prepared(photo, ab, H.WORK_SIZE, None, None)
    prep = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    fresh, added, cpu = [], [], []
    for r in range(repeats):
        hints = simulate(truth, 10, rng)
        prepared.last = None
        t0, c0 = time.perf_counter(), time.process_time()
        color.join_lightness(photo, H.apply_hints(photo, None, hints, prepared=prepared))
        fresh.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        # one more stroke (a short line of the same colour) on top of the same hints
        x, y, rgb, _ = hints[r % len(hints)]
        stroke = {"points": [[x, y], [min(x + 40, 1023), y]], "color": list(rgb), "radius": 3}
        t0 = time.perf_counter()
        color.join_lightness(
            photo, H.apply_hints(photo, None, [*hints_as_dicts(hints), stroke], prepared=prepared)
        )
        added.append(time.perf_counter() - t0)
    return prep, statistics.median(fresh), statistics.median(added), statistics.median(cpu)


def hints_as_dicts(hints):
    return [{"x": x, "y": y, "color": list(rgb), "radius": r} for x, y, rgb, r in hints]


def picture(colorizer, path, out: str, seed: int):
    truth = np.asarray(Image.open(path).convert("RGB"))
    grey = truth  # only its L is used
    panels = []
    for n in (0, 5, 20):
        hints = simulate(truth, n, np.random.default_rng(seed))
        rgb = colorizer.colorize(grey, hints=hints or None)
        im = Image.fromarray(rgb)
        draw = ImageDraw.Draw(im)
        for x, y, c, _ in hints:  # the hint's colour, ringed white and black
            draw.ellipse([x - 6, y - 6, x + 6, y + 6], fill=(0, 0, 0))
            draw.ellipse([x - 5, y - 5, x + 5, y + 5], fill=(255, 255, 255))
            draw.ellipse([x - 4, y - 4, x + 4, y + 4], fill=tuple(c))
        panels.append((f"{n} hints", im))
    panels.append(("truth", Image.fromarray(truth)))
    w, h = panels[0][1].size
    sheet = Image.new("RGB", (w * len(panels) + 8 * (len(panels) - 1), h + 22), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (label, im) in enumerate(panels):
        sheet.paste(im, (i * (w + 8), 22))
        draw.text((i * (w + 8) + 4, 4), label, fill=(0, 0, 0))
    sheet.save(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--photos", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mode", default="blend", choices=["blend", "shift"])
    ap.add_argument("--picture", default=None, help="write the 0/5/20-hint picture here")
    ap.add_argument("--picture-index", type=int, default=20, help="20: the cab")
    ap.add_argument("--skip-quality", action="store_true")
    args = ap.parse_args()
    with open("/work/main/campaign/val.csv") as f:
        paths = [os.path.join(ROOT, r["path"]) for r in csv.DictReader(f)]
    paths = paths[: args.photos]
    colorizer = Colorizer.from_preset("unet-lite0-photos")
    if not args.skip_quality:
        rows = quality(colorizer, paths, args.seed, args.mode)
        base = statistics.mean(rows[0]["psnr"])
        print(f"{len(paths)} validation photos, unet-lite0-photos, mode {args.mode}\n")
        print("| hints | PSNR (dB) | vs automatic | vivid recall |")
        print("|---:|---:|---:|---:|")
        for n in COUNTS:
            p = statistics.mean(rows[n]["psnr"])
            recall = rows[n]["hits"] / max(rows[n]["strong"], 1)
            print(f"| {n} | {p:.2f} | {p - base:+.2f} | {recall:.3f} |")
    if args.repeats:
        prep, fresh, added, cpu = speed(colorizer, paths[0], args.repeats)
        print(
            f"\n1024x768 update (median of {args.repeats}, shared 2-core CPU, nice 10): "
            f"first hints {fresh:.2f} s wall ({cpu:.2f} s of CPU time), one more stroke "
            f"{added:.2f} s wall; per-photo preparation (affinities) {prep:.2f} s"
        )
    if args.picture:
        picture(colorizer, paths[args.picture_index], args.picture, args.seed)
        print(f"picture: {args.picture}")


if __name__ == "__main__":
    main()
