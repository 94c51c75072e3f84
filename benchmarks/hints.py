"""Colour hints, measured: quality with 0-20 simulated hints, the speed of one update, a picture.

Hints are simulated from the true colours as Zhang et al. 2017 did: a random location
(uniform over the photo), a square patch of a random side from 1 to 9 pixels there, and the
colour the patch's mean true ab at the patch's mean L. Quality is PSNR (RGB, dB) and vivid
recall (:mod:`kcolor.metrics`) on validation photos (``campaign/val.csv``, never BSDS500
test) coloured by the default preset; the network runs once per photo and each hint count
re-runs only the propagation. The network is the preset's exported graph (``--engine``),
as ``kcolor colorize`` and ``kcolor serve`` run it.

Speed, at 1024x768, CPU and wall time: one update through ``kcolor serve`` (request in,
JPEG out, server in this process), for the first stroke on a photo (network ab, affinities
and multigrid hierarchy, a cold solve) and for later strokes (those cached, the previous
solution as the start); then the propagation and join alone. Each of ``--repeats`` photos
(photo 1, enlarged, one pixel changed so that each is a new upload) gets 6 strokes, each
request carrying all strokes so far, as the page sends them.

Usage (prints markdown tables)::

    nice -n 10 python benchmarks/hints.py --photos 30 --picture docs/hints.jpg
    nice -n 10 python benchmarks/hints.py --skip-quality          # the speed table alone
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import statistics
import threading
import time

import numpy as np
from PIL import Image, ImageDraw

from kcolor import color, metrics
from kcolor.fast.engine import load_colorizer
from kcolor.inference import hints as H

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


def _clocks():
    return time.perf_counter(), time.process_time()


def _since(t0, c0):
    return time.perf_counter() - t0, time.process_time() - c0


def _threads() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def stroke_sequence(truth, n: int, rng) -> list:
    """``n`` strokes as the page sends them: each a short line of a simulated hint's colour."""
    h, w = truth.shape[:2]
    out = []
    for x, y, rgb, _ in simulate(truth, n, rng):
        x2, y2 = min(x + rng.integers(10, 60), w - 1), min(y + rng.integers(-20, 20), h - 1)
        out.append({"points": [[x, y], [x2, max(y2, 0)]], "color": list(rgb), "radius": 4})
    return out


def solver_speed(colorizer, photo, truth, repeats: int):
    """The propagation alone (``apply_hints`` and the join), as ``HintCache`` runs it."""
    ab = colorizer.colorize_arrays([photo], ab_only=True)[0]
    rows = {"first": [], "later": []}
    thread_share = []
    for r in range(repeats):
        strokes = stroke_sequence(truth, 6, np.random.default_rng(r))
        t0, c0 = _clocks()
        prepared = H._Prepared(photo, ab, H.WORK_SIZE, None, None)
        color.join_lightness(photo, H.apply_hints(photo, None, strokes[:1], prepared=prepared))
        rows["first"].append(_since(t0, c0))
        for k in range(2, len(strokes) + 1):
            t0, c0 = _clocks()
            th0 = time.thread_time()
            color.join_lightness(photo, H.apply_hints(photo, None, strokes[:k], prepared=prepared))
            wall, cpu = _since(t0, c0)
            rows["later"].append((wall, cpu))
            thread_share.append((time.thread_time() - th0) / max(cpu, 1e-9))
    return rows, statistics.median(thread_share)


def serve_speed(photo, truth, repeats: int):
    """One update through ``kcolor serve`` (default preset, its exported graph): the
    request in (the photo as JPEG, the hints so far) to the JPEG out, in this process."""
    import http.client
    import uuid

    from kcolor.serve.app import create_app
    from kcolor.serve.background import BackgroundServer

    def post(srv, data, hints):
        b = uuid.uuid4().hex
        body = (
            (
                f'--{b}\r\nContent-Disposition: form-data; name="hints"\r\n\r\n'
                f"{json.dumps(hints)}\r\n--{b}\r\nContent-Disposition: form-data; "
                'name="image"; filename="photo.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
            ).encode()
            + data
            + f"\r\n--{b}--\r\n".encode()
        )
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=120)
        t0, c0 = _clocks()
        conn.request(
            "POST", "/api/colorize", body, {"Content-Type": f"multipart/form-data; boundary={b}"}
        )
        answer = conn.getresponse()
        content = answer.read()
        took = _since(t0, c0)
        conn.close()
        if answer.status != 200 or content[:3] != b"\xff\xd8\xff":
            raise RuntimeError(f"the server answered {answer.status}: {content[:200]!r}")
        return took

    rows = {"first": [], "later": []}
    with BackgroundServer(create_app()) as srv:
        for r in range(repeats + 1):
            grey = photo.copy()
            grey[0, 0] = r  # another upload each round: the first stroke finds no cache
            buf = io.BytesIO()
            Image.fromarray(grey).save(buf, "JPEG", quality=92)
            data = buf.getvalue()
            strokes = stroke_sequence(truth, 6, np.random.default_rng(r))
            first = post(srv, data, strokes[:1])
            later = [post(srv, data, strokes[:k]) for k in range(2, len(strokes) + 1)]
            if r:  # round 0 loads the model and warms up
                rows["first"].append(first)
                rows["later"].extend(later)
        threads = _threads()
    return rows, threads


def speed(colorizer, path, repeats: int):
    photo = np.asarray(Image.open(path).convert("L").resize((1024, 768), Image.BICUBIC))
    truth = np.asarray(Image.open(path).convert("RGB").resize((1024, 768), Image.BICUBIC))
    solver, share = solver_speed(colorizer, photo, truth, repeats)
    served, threads = serve_speed(photo, truth, repeats)

    def median(rows, i):
        return statistics.median(v[i] for v in rows)

    print(
        f"\n### One update at 1024x768 (photo 1 enlarged; strokes of simulated hints; "
        f"median of {repeats} photos x 1 first and 5 later strokes; load average "
        f"{os.getloadavg()[0]:.1f})\n"
    )
    print("| update | CPU (s) | wall (s) |")
    print("|---|---:|---:|")
    labels = [
        (served, "first", "server, first stroke on a photo: network ab, affinities, solve, JPEG"),
        (served, "later", "server, a later stroke: caches, previous solution as start"),
        (solver, "first", "propagation + join only, first stroke (affinities built)"),
        (solver, "later", "propagation + join only, a later stroke"),
    ]
    for rows, key, label in labels:
        print(f"| {label} | {median(rows[key], 1):.2f} | {median(rows[key], 0):.2f} |")
    print(
        f"\nCPU time is the whole process's (all threads). In a later stroke's propagation the "
        f"calling thread did {share:.0%} of the process's CPU time (single-threaded: on a "
        f"quiet core wall ~ CPU); the server process had {threads} threads (onnxruntime's "
        f"and OpenBLAS's pools, uvicorn, anyio's worker), idle outside their calls."
    )


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
    ap.add_argument(
        "--engine",
        default="auto",
        choices=["auto", "onnx", "keras"],
        help="the network's engine for quality and the propagation rows (auto: the export, "
        "as kcolor colorize and kcolor serve; the server rows always use that)",
    )
    args = ap.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "campaign", "val.csv")) as f:
        paths = [os.path.join(ROOT, r["path"]) for r in csv.DictReader(f)]
    photos = paths[: args.photos]  # the speed photo and the picture: from all of them
    colorizer = load_colorizer("unet-lite0-photos", engine=args.engine)
    if not args.skip_quality:
        rows = quality(colorizer, photos, args.seed, args.mode)
        base = statistics.mean(rows[0]["psnr"])
        print(f"{len(photos)} validation photos, unet-lite0-photos, mode {args.mode}\n")
        print("| hints | PSNR (dB) | vs automatic | vivid recall |")
        print("|---:|---:|---:|---:|")
        for n in COUNTS:
            p = statistics.mean(rows[n]["psnr"])
            recall = rows[n]["hits"] / max(rows[n]["strong"], 1)
            print(f"| {n} | {p:.2f} | {p - base:+.2f} | {recall:.3f} |")
    if args.repeats:
        speed(colorizer, paths[0], args.repeats)
    if args.picture:
        picture(colorizer, paths[args.picture_index], args.picture, args.seed)
        print(f"picture: {args.picture}")


if __name__ == "__main__":
    main()
