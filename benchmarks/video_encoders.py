"""libx264 presets at one crf on the same coloured frames (a table of benchmarks/video.py,
which runs it unless ``--no-speed``): CPU per frame, file size, PSNR against the
uncompressed frames."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np


def psnr(a, b) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / max(mse, 1e-10)))


#: libx264 presets compared by encoder_table (kcolor.video.io.DEFAULT_PRESET is one).
ENCODER_PRESETS = ("medium", "faster", "veryfast", "superfast", "ultrafast")


def encoder_table(colorizer, greys, crf=18):
    """libx264 presets at one crf on the same colour frames: CPU per frame, size, PSNR
    against the uncompressed frames (what the preset costs in quality)."""
    import av

    from kcolor.video import colorize_frames

    frames = list(colorize_frames(colorizer, greys))
    h, w = frames[0].shape[:2]
    print(
        f"\nlibx264 presets at crf {crf}, {len(frames)} coloured 480p frames ({w}x{h}); CPU time "
        "(all threads) per frame of RGB to yuv420p and encoding; PSNR (RGB) of the decoded "
        "frames against the uncompressed ones"
    )
    print("| preset | CPU ms/frame | wall ms/frame | size (kB) | PSNR (dB) |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for preset in ENCODER_PRESETS:
            path = Path(tmp) / f"{preset}.mp4"
            t, c = time.perf_counter(), time.process_time()
            with av.open(os.fspath(path), "w") as out:
                v = out.add_stream("libx264", rate=24)
                v.width, v.height, v.pix_fmt = w, h, "yuv420p"
                v.options = {"crf": str(crf), "preset": preset}
                for f in frames:
                    vf = av.VideoFrame.from_ndarray(f, format="rgb24").reformat(
                        format="yuv420p", dst_colorspace="itu709", dst_color_range="MPEG"
                    )
                    for packet in v.encode(vf):
                        out.mux(packet)
                for packet in v.encode():
                    out.mux(packet)
            wall, cpu = time.perf_counter() - t, time.process_time() - c
            with av.open(os.fspath(path)) as inp:
                decoded = [f.to_ndarray(format="rgb24") for f in inp.decode(video=0)]
            q = np.mean([psnr(a, b) for a, b in zip(decoded, frames, strict=True)])
            n = len(frames)
            print(
                f"| {preset} | {1000 * cpu / n:.0f} | {1000 * wall / n:.0f} | "
                f"{path.stat().st_size / 1e3:.0f} | {q:.2f} |",
                flush=True,
            )
