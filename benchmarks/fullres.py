"""Full-resolution `kcolor colorize` against the Pillow floor (decode + encode), side by side.

Makes its photos in a temp folder (skimage's astronaut, grey, upscaled): one 4000x3000
B&W JPEG (12 MP), one 64x64 (the fixed cost: one network call, the batch machinery) and a
folder of 24 at 768x512.

* Timing, in one process: ``colorize_files`` (what ``kcolor colorize`` runs)
  on the 64x64 photo, the 12-MP one and the folder, interleaved (order alternating) with
  the floor, Pillow opening, decoding and re-encoding the same files (JPEG, quality 95,
  into memory). Per-photo time = (a run's time - the 64x64 run's) / photos; ratio =
  per-photo time / floor per photo. The seconds spent in the network are counted apart.
  (Timing whole processes instead is hopeless on a shared machine: start-up alone takes
  5-30 s there and varies by seconds.)
* Memory: peak RSS (``os.wait4``) of ``python -m kcolor colorize INPUT -o OUT -q``
  processes, and mean |dL| (skimage rgb2lab) of the 12-MP output against its input.

* ``--profile``: each step of a 12-MP photo by hand (decode, grey check, model-size
  resize, network, the join, encode + write), CPU and wall milliseconds, beside the
  floor's decode and encode.
* ``--engine``: ``auto`` (default: the preset's ``model.onnx``, as ``kcolor colorize``),
  ``onnx`` or ``keras``.

Usage:
    python benchmarks/fullres.py [--reps 5] [--cli-reps 1] [--model beta-photos]
        [--engine auto] [--profile] [--keep DIR]
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


def make_photos(root: Path) -> dict[str, Path]:
    from skimage import data

    grey = Image.fromarray(data.astronaut()).convert("L")
    paths = {"small": root / "small" / "p64.jpg", "big": root / "big" / "p12mp.jpg"}
    for p in paths.values():
        p.parent.mkdir(parents=True)
    grey.resize((4000, 3000), Image.BICUBIC).save(paths["big"], quality=90)
    grey.resize((64, 64), Image.BICUBIC).save(paths["small"], quality=90)
    folder = root / "folder"
    folder.mkdir()
    base = np.asarray(grey.resize((1536, 1024), Image.BICUBIC))
    rng = np.random.default_rng(0)
    for i in range(24):  # 24 different crops, each 768x512
        y, x = rng.integers(0, 512), rng.integers(0, 768)
        Image.fromarray(base[y : y + 512, x : x + 768]).save(folder / f"p{i:02d}.jpg", quality=90)
    paths["folder"] = folder
    return paths


def floor_seconds(files) -> float:
    """Pillow decode + encode (JPEG q95, into memory) of every file, in seconds."""
    t = time.perf_counter()
    for f in files:
        with Image.open(f) as im:
            im.load()
            im.save(io.BytesIO(), "JPEG", quality=95)
    return time.perf_counter() - t


def run_kcolor(inp: Path, out: Path, model: str | None, *extra: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one `kcolor colorize` process."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "kcolor", "colorize", str(inp), "-o", str(out), "-q", *extra]
    if model:
        cmd += ["--model", model]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed")
    return seconds, usage.ru_maxrss / 1024


def mean_abs_dl(src: Path, out: Path) -> float:
    from skimage.color import rgb2lab

    a = np.asarray(Image.open(src).convert("RGB"))[::3, ::3]
    b = np.asarray(Image.open(out).convert("RGB"))[::3, ::3]
    return float(np.abs(rgb2lab(a)[..., 0] - rgb2lab(b)[..., 0]).mean())


class _NetworkClock:
    """Adds up the wall seconds spent in the network: wraps a Keras ``Colorizer._predict``
    or a ``FastColorizer``'s onnxruntime session."""

    def __init__(self, colorizer):
        self.seconds = 0.0
        if hasattr(colorizer, "session"):  # kcolor.fast.FastColorizer
            self._inner = colorizer.session
            colorizer.session = self
        else:
            self._inner = None
            self._predict = colorizer._predict
            colorizer._predict = self

    def run(self, *args, **kwargs):  # the session's run
        t = time.perf_counter()
        try:
            return self._inner.run(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - t

    def __call__(self, x):
        t = time.perf_counter()
        y = self._predict(x)
        if y.device.type == "cuda":
            import torch

            torch.cuda.synchronize()
        self.seconds += time.perf_counter() - t
        return y


def load(model, engine):
    """The colorizer ``kcolor colorize --engine ENGINE`` would use."""
    from kcolor.fast.engine import load_colorizer

    return load_colorizer(model, engine=engine)


def in_process(paths, folder_files, root, model, reps, engine="auto"):
    """Colorizer.colorize_files (what `kcolor colorize` runs) timed in one process, the floor
    interleaved; returns {name: [(seconds, network seconds, floor seconds, cpu seconds,
    floor cpu seconds), ...]} (CPU: ``time.process_time``, all threads)."""
    colorizer = load(model, engine)
    clock = _NetworkClock(colorizer)
    files = {"small": [paths["small"]], "big": [paths["big"]], "folder": folder_files}

    def run(name):
        out = root / f"in-{name}"
        shutil.rmtree(out, ignore_errors=True)
        clock.seconds = 0.0
        t, c = time.perf_counter(), time.process_time()
        result = colorizer.colorize_files(files[name], out, progress=False)
        seconds, cpu = time.perf_counter() - t, time.process_time() - c
        assert result.ok and len(result.written) == len(files[name]), result.summary()
        return seconds, clock.seconds, cpu

    run("small"), run("big")  # warm-up: first calls, the colour table
    out = {k: [] for k in files}
    order = list(files)
    for rep in range(reps):
        for name in order if rep % 2 == 0 else order[::-1]:
            seconds, network, cpu = run(name)
            c = time.process_time()
            floor = floor_seconds(files[name])
            out[name].append((seconds, network, floor, cpu, time.process_time() - c))
    return out


def profile_steps(big: Path, model, engine, reps: int) -> list[tuple[str, float, float]]:
    """CPU and wall milliseconds (medians) of each step of one 12-MP photo, run by hand as
    ``colorize_arrays`` and ``colorize_files`` run them, and of the Pillow floor's two."""
    from kcolor import color
    from kcolor import io as kio

    colorizer = load(model, engine)
    fast = hasattr(colorizer, "session")
    steps: dict[str, list[tuple[float, float]]] = {}
    sink = Path(tempfile.mkdtemp(prefix="kcolor-prof-")) / "out.jpg"

    def step(name, fn):
        c, t = time.process_time(), time.perf_counter()
        value = fn()
        steps.setdefault(name, []).append((time.process_time() - c, time.perf_counter() - t))
        return value

    def floor_decode():
        im = Image.open(big)
        im.load()
        return im

    for _ in range(reps + 1):  # the first is a warm-up
        im = step("floor: Pillow decode", floor_decode)
        step(
            "floor: Pillow encode (JPEG q95, into memory)",
            lambda im=im: im.save(io.BytesIO(), "JPEG", quality=95),
        )
        photo = step(
            "decode (kio.load_image, grey kept)",
            lambda: kio.load_image(big, keep_grey=True, metadata={}),
        )
        photo = step("grey check (kio.grey_if_grey)", lambda photo=photo: kio.grey_if_grey(photo))
        h, w = colorizer.target_size(*photo.shape[:2])

        def small(photo=photo, h=h, w=w):
            x = np.asarray(Image.fromarray(photo).resize((w, h), Image.BILINEAR, reducing_gap=2.0))
            x = np.repeat(x[..., None], 3, axis=-1) if x.ndim == 2 else x
            return color.encode_l(color.rgb_to_l(x))[None].astype(np.float32)

        x = step(f"resize to the model size ({w}x{h}) + L", small)
        if fast:
            d = colorizer.decoding()
            feed = {"l": x}
            if colorizer.is_class:
                feed["temperature"] = np.array(d["temperature"], np.float32)
                feed["prior_correction"] = np.array(d["prior_correction"], np.float32)
            ab = step(
                "network (onnxruntime)",
                lambda feed=feed: color.decode_ab(colorizer.session.run(["ab"], feed)[0])[0],
            )
        else:
            import torch

            def net(x=x):
                with torch.inference_mode():
                    return color.decode_ab(colorizer._predict(torch.from_numpy(x)).cpu().numpy())[0]

            ab = step("network (Keras on torch)", net)
        rgbx = step(
            "join: ab upsampled onto L, table look-up (color.join_lightness)",
            lambda photo=photo, ab=ab: color.join_lightness(photo, ab, rgbx=True),
        )
        pil = Image.frombuffer("RGB", (rgbx.shape[1], rgbx.shape[0]), rgbx, "raw", "RGBX", 0, 1)
        step(
            "encode + write (kio.save_image: JPEG q95, fsync)",
            lambda pil=pil: kio.save_image(sink, pil, overwrite=True),
        )
    return [
        (
            name,
            statistics.median(c for c, _ in v[1:]) * 1e3,
            statistics.median(t for _, t in v[1:]) * 1e3,
        )
        for name, v in steps.items()
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5, help="in-process repetitions")
    parser.add_argument(
        "--cli-reps", type=int, default=1, help="`kcolor colorize` processes (0: none)"
    )
    parser.add_argument("--model", default=None, help="preset or path (default: the default)")
    parser.add_argument(
        "--engine", default="auto", choices=("auto", "onnx", "keras"), help="as kcolor colorize's"
    )
    parser.add_argument(
        "--profile", action="store_true", help="also the 12-MP photo's steps, CPU and wall"
    )
    parser.add_argument("--keep", default=None, help="make the photos here and keep them")
    args = parser.parse_args(argv)
    root = Path(args.keep or tempfile.mkdtemp(prefix="kcolor-fullres-"))
    root.mkdir(parents=True, exist_ok=True)
    paths = (
        make_photos(root)
        if not (root / "big").exists()
        else {
            "small": root / "small" / "p64.jpg",
            "big": root / "big" / "p12mp.jpg",
            "folder": root / "folder",
        }
    )
    folder_files = sorted(paths["folder"].glob("*.jpg"))
    load_before = os.getloadavg()
    # The processes first: a child's peak RSS counts the parent's pages at fork time, and
    # this parent is small until the in-process part loads torch.
    cli = {k: [] for k in ("small", "big", "folder")}
    engine = ["--engine", args.engine]
    for _ in range(args.cli_reps):
        for name in cli:
            cli[name].append(run_kcolor(paths[name], root / f"out-{name}", args.model, *engine))
    load_mid = os.getloadavg()
    runs = in_process(paths, folder_files, root, args.model, args.reps, args.engine)
    steps = profile_steps(paths["big"], args.model, args.engine, args.reps) if args.profile else []
    load_after = os.getloadavg()

    def med(values):
        return statistics.median(values)

    print(
        f"engine {args.engine}; load average (1, 5, 15 min): before {load_before}, after the "
        f"CLI part {load_mid}, after the in-process part {load_after}; {os.cpu_count()} CPUs"
    )
    print(
        "\nIn-process (`colorize_files`, what `kcolor colorize` runs), medians of "
        f"{args.reps} interleaved repetitions; per photo = (run - 64x64 run) / photos; wall "
        "clock, and CPU time (`process_time`, all threads) for the whole run:\n"
    )
    print(
        "| input | Pillow decode+encode | kcolor per photo | ratio | median paired ratio "
        "| of which network | per photo without the network | ratio without the network "
        "| CPU: floor | CPU: kcolor per photo | CPU ratio |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    small = runs["small"]
    for name, label, n in (("big", "4000x3000 JPEG", 1), ("folder", "24 x 768x512 JPEG", 24)):
        r = runs[name]
        per = [(a[0] - b[0]) / n for a, b in zip(r, small, strict=False)]
        net = [(a[1] - b[1]) / n for a, b in zip(r, small, strict=False)]
        fl = [a[2] / n for a in r]
        cpu = [(a[3] - b[3]) / n for a, b in zip(r, small, strict=False)]
        cfl = [a[4] / n for a in r]
        rest = [p - w for p, w in zip(per, net, strict=False)]
        paired = med([p / f for p, f in zip(per, fl, strict=False)])
        print(
            f"| {label} | {med(fl) * 1e3:.0f} ms | {med(per) * 1e3:.0f} ms "
            f"| {med(per) / med(fl):.1f}x | {paired:.1f}x "
            f"| {med(net) * 1e3:.0f} ms | {med(rest) * 1e3:.0f} ms "
            f"| {med(rest) / med(fl):.1f}x | {med(cfl) * 1e3:.0f} ms | {med(cpu) * 1e3:.0f} ms "
            f"| {med(cpu) / med(cfl):.1f}x |"
        )
    big = runs["big"]
    print(
        f"\n12 MP as run (the 64x64 run's fixed cost not taken off): "
        f"{med([a[0] for a in big]) / med([a[2] for a in big]):.1f}x the floor by wall clock, "
        f"{med([a[3] for a in big]) / med([a[4] for a in big]):.1f}x by CPU time"
    )
    if steps:
        print("\nWhere a 12-MP photo's time goes (each step by hand, medians):\n")
        print("| step | CPU ms | wall ms |")
        print("|---|---:|---:|")
        for name, c, w in steps:
            print(f"| {name} | {c:.0f} | {w:.0f} |")
    if args.cli_reps:
        print(
            f"\n`python -m kcolor colorize INPUT -o OUT -q --engine {args.engine}` "
            f"({args.cli_reps} process(es) each; wall time includes start-up and model loading):\n"
        )
        print("| input | wall time | peak RSS |")
        print("|---|---|---|")
        for name, label in (
            ("small", "64x64 JPEG"),
            ("big", "4000x3000 JPEG"),
            ("folder", "24 x 768x512 JPEG"),
        ):
            print(
                f"| {label} | {med([s for s, _ in cli[name]]):.2f} s "
                f"| {max(m for _, m in cli[name]):.0f} MB |"
            )
        dl = mean_abs_dl(paths["big"], root / "out-big" / paths["big"].name)
        print(f"\n12-MP output: mean |dL| against the input (skimage rgb2lab) {dl:.3f}")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
