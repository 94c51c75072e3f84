"""Full-resolution `kcolor colorize` against the Pillow floor (decode + encode), side by side.

Makes its photos in a temp folder (skimage's astronaut, grey, upscaled): one 4000x3000
B&W JPEG (12 MP), one 64x64 (the fixed cost: one network call, the batch machinery) and a
folder of 24 at 768x512.

* Timing, in one process: ``Colorizer.colorize_files`` (what ``kcolor colorize`` runs)
  on the 64x64 photo, the 12-MP one and the folder, interleaved (order alternating) with
  the floor, Pillow opening, decoding and re-encoding the same files (JPEG, quality 95,
  into memory). Per-photo time = (a run's time - the 64x64 run's) / photos; ratio =
  per-photo time / floor per photo. The seconds spent in the network are counted apart.
  (Timing whole processes instead is hopeless on a shared machine: start-up alone takes
  5-30 s there and varies by seconds.)
* Memory: peak RSS (``os.wait4``) of ``python -m kcolor colorize INPUT -o OUT -q``
  processes, and mean |dL| (skimage rgb2lab) of the 12-MP output against its input.

Usage:
    python benchmarks/fullres.py [--reps 5] [--cli-reps 1] [--model beta-photos] [--keep DIR]
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
    """Wraps ``colorizer._predict`` to add up the seconds spent in the network."""

    def __init__(self, colorizer):
        self.seconds = 0.0
        self._predict = colorizer._predict
        colorizer._predict = self

    def __call__(self, x):
        t = time.perf_counter()
        y = self._predict(x)
        if y.device.type == "cuda":
            import torch

            torch.cuda.synchronize()
        self.seconds += time.perf_counter() - t
        return y


def in_process(paths, folder_files, root, model, reps):
    """Colorizer.colorize_files (what `kcolor colorize` runs) timed in one process, the floor
    interleaved; returns {name: [(seconds, network seconds, floor seconds), ...]}."""
    from kcolor.inference.colorizer import Colorizer

    colorizer = Colorizer.from_preset(model)
    clock = _NetworkClock(colorizer)
    files = {"small": [paths["small"]], "big": [paths["big"]], "folder": folder_files}

    def run(name):
        out = root / f"in-{name}"
        shutil.rmtree(out, ignore_errors=True)
        clock.seconds = 0.0
        t = time.perf_counter()
        result = colorizer.colorize_files(files[name], out, progress=False)
        seconds = time.perf_counter() - t
        assert result.ok and len(result.written) == len(files[name]), result.summary()
        return seconds, clock.seconds

    run("small"), run("big")  # warm-up: first calls, the colour table
    out = {k: [] for k in files}
    order = list(files)
    for rep in range(reps):
        for name in order if rep % 2 == 0 else order[::-1]:
            seconds, network = run(name)
            out[name].append((seconds, network, floor_seconds(files[name])))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5, help="in-process repetitions")
    parser.add_argument("--cli-reps", type=int, default=1, help="`kcolor colorize` processes")
    parser.add_argument("--model", default=None, help="preset or path (default: the default)")
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
    for _ in range(args.cli_reps):
        for name in cli:
            cli[name].append(run_kcolor(paths[name], root / f"out-{name}", args.model))
    load_mid = os.getloadavg()
    runs = in_process(paths, folder_files, root, args.model, args.reps)
    load_after = os.getloadavg()
    dl = mean_abs_dl(paths["big"], root / "out-big" / paths["big"].name)

    def med(values):
        return statistics.median(values)

    print(
        f"load average (1, 5, 15 min): before {load_before}, after the CLI part "
        f"{load_mid}, after the in-process part {load_after}; {os.cpu_count()} CPUs"
    )
    print(
        "\nIn-process (`Colorizer.colorize_files`, what `kcolor colorize` runs), medians of "
        f"{args.reps} interleaved repetitions; per photo = (run - 64x64 run) / photos:\n"
    )
    print(
        "| input | Pillow decode+encode | kcolor per photo | ratio | median paired ratio "
        "| of which network | per photo without the network | ratio without the network |"
    )
    print("|---|---|---|---|---|---|---|---|")
    small = runs["small"]
    for name, label, n in (("big", "4000x3000 JPEG", 1), ("folder", "24 x 768x512 JPEG", 24)):
        r = runs[name]
        per = [(s - s0) / n for (s, _, _), (s0, _, _) in zip(r, small, strict=False)]
        net = [(w - w0) / n for (_, w, _), (_, w0, _) in zip(r, small, strict=False)]
        fl = [f / n for _, _, f in r]
        rest = [p - w for p, w in zip(per, net, strict=False)]
        print(
            f"| {label} | {med(fl) * 1e3:.0f} ms | {med(per) * 1e3:.0f} ms "
            f"| {med(per) / med(fl):.1f}x | {med([p / f for p, f in zip(per, fl, strict=False)]):.1f}x "
            f"| {med(net) * 1e3:.0f} ms | {med(rest) * 1e3:.0f} ms "
            f"| {med(rest) / med(fl):.1f}x |"
        )
    print(
        f"\n`python -m kcolor colorize INPUT -o OUT -q` ({args.cli_reps} process(es) each; "
        "wall time includes start-up and model loading):\n"
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
    print(f"\n12-MP output: mean |dL| against the input (skimage rgb2lab) {dl:.3f}")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
