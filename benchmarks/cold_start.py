"""One photo in one second: the exported graph (kcolor.fast) against Keras and the floors.

Every row is measured side by side in one run, interleaved rep by rep, medians of
``--reps`` (at least 3):

* **cold colorize**: a fresh ``python -m kcolor colorize one.jpg`` (500x500) process on the
  default engine (the preset's ``model.onnx``) and with ``--engine keras``, against a bare
  ``python -c "import numpy, PIL.Image"`` (target: <= 8x the bare one);
* **serve**: ``python -m kcolor serve`` started, then ``POST /api/colorize`` polled until
  the first photo comes back: seconds from start to that answer (target: <= 3 s);
* **folder**: ``kcolor colorize`` of 24 photos at 768x512, whole process, default engine
  against ``--engine keras`` (target: >= 2x), and in one process (models loaded): seconds
  per photo;
* **12 MP**: a 4000x3000 still, in one process, against the Pillow floor (decode and
  re-encode the same JPEG; target: <= 3x), and the peak RSS (``os.wait4``) of the whole
  ``kcolor colorize`` process (target: <= 600 MB). In-process times are those of
  ``benchmarks/fullres.py``: a run's time less a 64x64 photo's (one call's fixed cost);
* **graph options**: the network alone (one call at 128x128 and at 352x512) with
  onnxruntime (float32; int8 dynamic quantisation) and torch eager (the Keras model), and
  the max |delta ab| of int8 against float32 on the folder's photos.

The machine may be shared (here: 2 cores, with a training job that has priority): quote
ratios, which the interleaving keeps fair, rather than seconds.

Usage:
    python benchmarks/cold_start.py [--reps 3] [--model unet-lite0-photos] [--skip-int8]
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable


def make_photos(root: Path) -> dict[str, Path]:
    """one.jpg (500x500), folder/ (24 at 768x512), big.jpg (4000x3000), tiny.jpg (64x64),
    all grey JPEGs."""
    from skimage import data

    base = Image.fromarray(data.astronaut()).convert("L")
    paths = {"one": root / "one.jpg", "big": root / "big.jpg", "folder": root / "folder"}
    paths["tiny"] = root / "tiny.jpg"
    base.resize((64, 64), Image.BICUBIC).save(paths["tiny"], quality=92)
    base.resize((500, 500), Image.BICUBIC).save(paths["one"], quality=92)
    base.resize((4000, 3000), Image.BICUBIC).save(paths["big"], quality=92)
    paths["folder"].mkdir()
    for i in range(24):
        crop = base.crop((i * 4, i * 3, 512 - i * 2, 512 - i * 5)).resize((768, 512))
        crop.save(paths["folder"] / f"p{i:02d}.jpg", quality=92)
    return paths


def run_process(cmd, env=None) -> tuple[float, float]:
    """``(wall seconds, peak RSS MB)`` of one process, which must succeed."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed: {err[-800:]}")
    return wall, usage.ru_maxrss / 1024


def colorize_cmd(inp, out, *extra):
    return [PY, "-m", "kcolor", "colorize", str(inp), "-o", str(out), "-q", "--overwrite", *extra]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _multipart(path: Path) -> tuple[bytes, str]:
    boundary = "kcolorbench"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{path.name}"'
            "\r\nContent-Type: image/jpeg\r\n\r\n"
        ).encode()
        + path.read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def serve_first_answer(photo: Path, extra=(), timeout: float = 120.0) -> float:
    """Seconds from starting ``kcolor serve`` to its first colour photo."""
    port = _free_port()
    body, ctype = _multipart(photo)
    t = time.perf_counter()
    proc = subprocess.Popen(
        [PY, "-m", "kcolor", "serve", "--port", str(port), *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while time.perf_counter() - t < timeout:
            if proc.poll() is not None:
                raise RuntimeError("kcolor serve exited")
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/colorize", body, {"Content-Type": ctype}
            )
            try:
                with urllib.request.urlopen(req, timeout=timeout) as r:
                    if r.status == 200 and r.read():
                        return time.perf_counter() - t
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("no answer")
    finally:
        proc.terminate()
        proc.wait(10)


def med(xs) -> float:
    return statistics.median(xs)


def in_process(paths, model: str, reps: int) -> dict:
    """Per-photo seconds in one process (models loaded): fast and Keras on the folder, fast
    on the 12-MP still, and the Pillow floor of the still."""
    import kcolor  # noqa: F401
    from kcolor.fast import FastColorizer
    from kcolor.inference.colorizer import Colorizer

    fast, slow = FastColorizer.from_preset(model), Colorizer.from_preset(model)
    out = Path(tempfile.mkdtemp())
    rows = {k: [] for k in ("fast folder", "keras folder", "fast 12MP", "keras 12MP")}
    raw = {k: [] for k in rows}
    rows["pillow 12MP"] = raw["pillow 12MP"] = []
    for rep in range(reps + 1):  # the first is a warm-up
        for name in ["fast", "keras"] if rep % 2 == 0 else ["keras", "fast"]:
            c = fast if name == "fast" else slow
            t = time.perf_counter()
            c.colorize_files([paths["tiny"]], out / "tiny", overwrite=True, progress=False)
            fixed = time.perf_counter() - t  # one call's fixed cost (fullres.py's method)
            for key, src, n in (("folder", paths["folder"], 24), ("12MP", paths["big"], 1)):
                t = time.perf_counter()
                c.colorize_files([src], out / f"{key}-{name}", overwrite=True, progress=False)
                took = time.perf_counter() - t
                raw[f"{name} {key}"].append(took / n)
                rows[f"{name} {key}"].append((took - fixed) / n)
        t = time.perf_counter()
        with Image.open(paths["big"]) as im:
            im.load()
            im.save(io.BytesIO(), "JPEG", quality=95)
        rows["pillow 12MP"].append(time.perf_counter() - t)
    return {k: (med(raw[k][1:]), med(v[1:])) for k, v in rows.items()}


def _fp32_copy(src: Path, dst: Path) -> Path:
    """``src`` with its float16 weights (and their Cast nodes) back as float32 initializers."""
    import onnx
    from onnx import numpy_helper

    proto = onnx.load(str(src))
    g = proto.graph
    casts = {
        n.input[0]: n.output[0]
        for n in g.node
        if n.op_type == "Cast" and n.input[0].endswith("__f16")
    }
    inits = []
    for init in g.initializer:
        if init.name in casts:
            value = numpy_helper.to_array(init).astype(np.float32)
            inits.append(numpy_helper.from_array(value, casts[init.name]))
        else:
            inits.append(init)
    nodes = [n for n in g.node if not (n.op_type == "Cast" and n.input[0] in casts)]
    del g.initializer[:]
    g.initializer.extend(inits)
    del g.node[:]
    g.node.extend(nodes)
    onnx.save(proto, str(dst))
    return dst


def graph_options(model: str, paths, reps: int, int8: bool) -> list[tuple]:
    """Network-only seconds per call: onnxruntime float32 / int8, torch eager; int8's |dab|."""
    import onnxruntime as ort

    import kcolor  # noqa: F401
    from kcolor import color
    from kcolor.fast import FastColorizer
    from kcolor.fast.graph import EXPORT_FILE
    from kcolor.inference.colorizer import Colorizer
    from kcolor.presets import registry

    folder = registry.locate(model)
    tmp = Path(tempfile.mkdtemp())
    sessions = {"onnxruntime fp32": ort.InferenceSession(str(folder / EXPORT_FILE))}
    if int8:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        fp32 = _fp32_copy(folder / EXPORT_FILE, tmp / "fp32.onnx")
        quantize_dynamic(str(fp32), str(tmp / "int8.onnx"), weight_type=QuantType.QInt8)
        sessions["onnxruntime int8 (dynamic)"] = ort.InferenceSession(str(tmp / "int8.onnx"))
    slow = Colorizer.from_preset(model)
    feed_extra = {}
    names = {i.name for i in sessions["onnxruntime fp32"].get_inputs()}
    if "temperature" in names:
        d = slow.decoding()
        feed_extra = {
            "temperature": np.array(d["temperature"], np.float32),
            "prior_correction": np.array(d["prior_correction"], np.float32),
        }
    import torch

    rows = []
    for h, w in ((128, 128), (352, 512)):
        x = np.random.default_rng(0).uniform(-1, 1, (1, h, w, 1)).astype(np.float32)
        times = {k: [] for k in [*sessions, "torch eager (Keras)"]}
        for _ in range(reps + 1):  # the first is a warm-up
            for k, s in sessions.items():
                t = time.perf_counter()
                s.run(None, {"l": x, **feed_extra})
                times[k].append(time.perf_counter() - t)
            t = time.perf_counter()
            with torch.inference_mode():
                slow.model(torch.from_numpy(x), training=False)
            times["torch eager (Keras)"].append(time.perf_counter() - t)
        for k, v in times.items():
            rows.append((f"network {h}x{w}: {k}", med(v[1:])))
    if int8:  # int8 against float32, whole pipeline, ab before the quantised join
        worst = 0.0
        fast = FastColorizer.from_preset(model)
        q = FastColorizer.from_preset(model)
        q.session = sessions["onnxruntime int8 (dynamic)"]
        seen = []
        original = color.join_lightness
        color.join_lightness = lambda im, ab, **kw: seen.append(ab) or original(im, ab, **kw)
        try:
            for p in sorted(paths["folder"].iterdir())[:6]:
                seen.clear()
                fast.colorize(p)
                q.colorize(p)
                worst = max(worst, float(np.abs(seen[0] - seen[1]).max()))
        finally:
            color.join_lightness = original
        rows.append(("int8 against float32: max |delta ab| (6 photos)", worst))
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--model", default="unet-lite0-photos")
    ap.add_argument("--skip-int8", action="store_true")
    args = ap.parse_args(argv)
    reps = max(3, args.reps)
    root = Path(tempfile.mkdtemp(prefix="kcolor-cold-"))
    paths = make_photos(root)
    m = ["--model", args.model]
    procs = {
        "python -c 'import numpy, PIL.Image' (floor)": [PY, "-c", "import numpy, PIL.Image"],
        "python -c 'import torch' (torch.export's floor)": [PY, "-c", "import torch"],
        "kcolor colorize one.jpg (500x500)": colorize_cmd(paths["one"], root / "o1", *m),
        "kcolor colorize one.jpg --engine keras": colorize_cmd(
            paths["one"], root / "o2", *m, "--engine", "keras"
        ),
        "kcolor colorize folder (24 x 768x512)": colorize_cmd(paths["folder"], root / "f1", *m),
        "kcolor colorize folder --engine keras": colorize_cmd(
            paths["folder"], root / "f2", *m, "--engine", "keras"
        ),
        "kcolor colorize big.jpg (12 MP)": colorize_cmd(paths["big"], root / "b1", *m),
    }
    walls = {k: [] for k in procs}
    rss = {k: [] for k in procs}
    serve = {"auto": []}
    for rep in range(reps):
        order = list(procs) if rep % 2 == 0 else list(reversed(procs))
        for k in order:
            wall, peak = run_process(procs[k])
            walls[k].append(wall)
            rss[k].append(peak)
        serve["auto"].append(serve_first_answer(paths["one"], m))
    w = {k: med(v) for k, v in walls.items()}
    floor = w["python -c 'import numpy, PIL.Image' (floor)"]
    print(f"## Cold start and speed: {args.model}, {reps} reps (medians), {os.cpu_count()} CPUs\n")
    print("| what | seconds | ratio | peak RSS MB |")
    print("|---|---:|---:|---:|")
    for k in procs:
        ratio = w[k] / floor
        print(f"| {k} | {w[k]:.2f} | {ratio:.1f}x floor | {med(rss[k]):.0f} |")
    print(f"| kcolor serve: start to first answer | {med(serve['auto']):.2f} | | |")
    f_fast = w["kcolor colorize folder (24 x 768x512)"]
    f_keras = w["kcolor colorize folder --engine keras"]
    print(f"\nfolder, whole command: keras / fast = {f_keras / f_fast:.2f}x")
    one = w["kcolor colorize one.jpg (500x500)"]
    print(f"one photo, whole command: {one / floor:.1f}x the numpy+Pillow floor (target <= 8x)")
    inner = in_process(paths, args.model, reps)
    print("\n| in one process (model loaded), seconds | as run | less a 64x64 photo's |")
    print("|---|---:|---:|")
    for k, (whole, less) in inner.items():
        print(f"| {k}{' per photo' if 'folder' in k else ''} | {whole:.3f} | {less:.3f} |")
    floor12 = inner["pillow 12MP"][0]
    print(
        f"\nfolder per photo, as run: keras / fast = "
        f"{inner['keras folder'][0] / inner['fast folder'][0]:.2f}x; 12 MP against the "
        f"Pillow floor (target <= 3x): fast {inner['fast 12MP'][0] / floor12:.2f}x as run, "
        f"{inner['fast 12MP'][1] / floor12:.2f}x less the fixed cost; keras "
        f"{inner['keras 12MP'][0] / floor12:.2f}x as run; 12 MP process peak RSS "
        f"{med(rss['kcolor colorize big.jpg (12 MP)']):.0f} MB"
    )
    print("\n| graph option | value |")
    print("|---|---:|")
    for k, v in graph_options(args.model, paths, reps, not args.skip_int8):
        print(f"| {k} | {v:.4f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
