"""One photo in one second: the exported graph (kcolor.fast) against Keras and the floors.

Every row is measured side by side in one run, interleaved rep by rep, medians of
``--reps`` (at least 3):

* **cold colorize**: a fresh ``python -m kcolor colorize one.jpg`` (500x500) process on the
  default engine (the preset's ``model.onnx``) and with ``--engine keras``, against a bare
  ``python -c "import numpy, PIL.Image"`` (target: <= 8x the bare one);
* **serve**: ``python -m kcolor serve`` started, then ``POST /api/colorize`` polled until
  the first photo comes back: seconds from start to that answer (target: <= 3 s), and the
  server's CPU seconds by then (``/proc``: robust on a shared machine); with the cache of
  onnxruntime's optimised graph (``kcolor.fast.session_cache``) warm, and without it;
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
        [--parts procs,serve,inprocess,graph]
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


def _cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system, all threads) process ``pid`` has used so far (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def serve_first_answer(photo: Path, extra=(), timeout: float = 120.0, env=None):
    """``(wall seconds, server CPU seconds)`` from starting ``kcolor serve`` to its first
    colour photo."""
    port = _free_port()
    body, ctype = _multipart(photo)
    t = time.perf_counter()
    proc = subprocess.Popen(
        [PY, "-m", "kcolor", "serve", "--port", str(port), *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
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
                        return time.perf_counter() - t, _cpu_seconds(proc.pid)
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("no answer")
    finally:
        proc.terminate()
        proc.wait(10)


def med(xs) -> float:
    return statistics.median(xs)


def in_process(paths, model: str, reps: int) -> dict:
    """Per-photo seconds in one process (models loaded): fast and Keras on the folder and
    on the 12-MP still, and the Pillow floor of the still; wall and CPU (``process_time``,
    all threads) each: ``{row: ((wall as run, wall less the fixed cost), (cpu as run, cpu
    less the fixed cost))}``."""
    import kcolor  # noqa: F401
    from kcolor.fast import FastColorizer
    from kcolor.inference.colorizer import Colorizer

    fast, slow = FastColorizer.from_preset(model), Colorizer.from_preset(model)
    out = Path(tempfile.mkdtemp())
    keys = ("fast folder", "keras folder", "fast 12MP", "keras 12MP", "pillow 12MP")
    rows = {k: [] for k in keys}  # (wall, wall less fixed, cpu, cpu less fixed)

    def clock():
        return time.perf_counter(), time.process_time()

    for rep in range(reps + 1):  # the first is a warm-up
        for name in ["fast", "keras"] if rep % 2 == 0 else ["keras", "fast"]:
            c = fast if name == "fast" else slow
            t = clock()
            c.colorize_files([paths["tiny"]], out / "tiny", overwrite=True, progress=False)
            fixed = [b - a for a, b in zip(t, clock(), strict=True)]  # one call's fixed cost
            for key, src, n in (("folder", paths["folder"], 24), ("12MP", paths["big"], 1)):
                t = clock()
                c.colorize_files([src], out / f"{key}-{name}", overwrite=True, progress=False)
                took = [b - a for a, b in zip(t, clock(), strict=True)]
                rows[f"{name} {key}"].append(
                    (took[0] / n, (took[0] - fixed[0]) / n, took[1] / n, (took[1] - fixed[1]) / n)
                )
        t = clock()
        with Image.open(paths["big"]) as im:
            im.load()
            im.save(io.BytesIO(), "JPEG", quality=95)
        took = [b - a for a, b in zip(t, clock(), strict=True)]
        rows["pillow 12MP"].append((took[0], took[0], took[1], took[1]))
    return {
        k: (
            (med([r[0] for r in v[1:]]), med([r[1] for r in v[1:]])),
            (med([r[2] for r in v[1:]]), med([r[3] for r in v[1:]])),
        )
        for k, v in rows.items()
    }


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


PARTS = ("procs", "serve", "inprocess", "graph")


def serve_rows(paths, m, reps: int) -> dict:
    """``kcolor serve``'s first answer, with the optimised-graph cache
    (``kcolor.fast.session_cache``; primed by one start first) and without it
    (``KCOLOR_ONNX_CACHE=0``), interleaved: ``{row: [(wall, server cpu), ...]}``."""
    cache = tempfile.mkdtemp(prefix="kcolor-ortcache-")
    envs = {
        "kcolor serve: start to first answer (optimised-graph cache warm)": {
            **os.environ,
            "KCOLOR_ONNX_CACHE": cache,
        },
        "kcolor serve: start to first answer (no cache, KCOLOR_ONNX_CACHE=0)": {
            **os.environ,
            "KCOLOR_ONNX_CACHE": "0",
        },
    }
    serve_first_answer(paths["one"], m, env=envs[next(iter(envs))])  # primes the cache
    out = {k: [] for k in envs}
    for rep in range(reps):
        for k in list(envs) if rep % 2 == 0 else list(reversed(envs)):
            out[k].append(serve_first_answer(paths["one"], m, env=envs[k]))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--model", default="unet-lite0-photos")
    ap.add_argument("--skip-int8", action="store_true")
    ap.add_argument(
        "--parts",
        default=",".join(PARTS),
        help=f"comma-separated parts to run, of {','.join(PARTS)} (default: all)",
    )
    args = ap.parse_args(argv)
    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    if parts - set(PARTS):
        ap.error(f"unknown parts: {', '.join(sorted(parts - set(PARTS)))}")
    reps = max(3, args.reps)
    root = Path(tempfile.mkdtemp(prefix="kcolor-cold-"))
    paths = make_photos(root)
    m = ["--model", args.model]
    print(
        f"## Cold start and speed: {args.model}, {reps} reps (medians), {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f} at the start\n"
    )
    floor_cmd = "python -c 'import numpy, PIL.Image' (floor)"
    procs = {
        floor_cmd: [PY, "-c", "import numpy, PIL.Image"],
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
    if "procs" not in parts:
        procs = {floor_cmd: procs[floor_cmd]} if "serve" in parts else {}
    walls = {k: [] for k in procs}
    rss = {k: [] for k in procs}
    for rep in range(reps if procs else 0):
        order = list(procs) if rep % 2 == 0 else list(reversed(procs))
        for k in order:
            wall, peak = run_process(procs[k])
            walls[k].append(wall)
            rss[k].append(peak)
    w = {k: med(v) for k, v in walls.items()}
    floor = w.get(floor_cmd)
    if procs:
        print("| what (fresh process) | seconds | ratio | peak RSS MB |")
        print("|---|---:|---:|---:|")
        for k in procs:
            print(f"| {k} | {w[k]:.2f} | {w[k] / floor:.1f}x floor | {med(rss[k]):.0f} |")
    if "procs" in parts:
        f_fast = w["kcolor colorize folder (24 x 768x512)"]
        f_keras = w["kcolor colorize folder --engine keras"]
        print(f"\nfolder, whole command: keras / fast = {f_keras / f_fast:.2f}x")
        one = w["kcolor colorize one.jpg (500x500)"]
        print(f"one photo, whole command: {one / floor:.1f}x the numpy+Pillow floor (target <= 8x)")
    if "serve" in parts:
        served = serve_rows(paths, m, reps)
        print("\n| kcolor serve (fresh process) | wall s | ratio to the floor | server CPU s |")
        print("|---|---:|---:|---:|")
        for k, v in served.items():
            wall, cpu = med([a for a, _ in v]), med([b for _, b in v])
            print(f"| {k} | {wall:.2f} | {wall / floor:.1f}x | {cpu:.2f} |")
    if "inprocess" in parts:
        inner = in_process(paths, args.model, reps)
        print(
            "\n| in one process (model loaded), seconds | wall as run | wall less a 64x64 "
            "photo's | CPU as run | CPU less a 64x64 photo's |"
        )
        print("|---|---:|---:|---:|---:|")
        for k, ((ww, wl), (cw, cl)) in inner.items():
            label = f"{k}{' per photo' if 'folder' in k else ''}"
            print(f"| {label} | {ww:.3f} | {wl:.3f} | {cw:.3f} | {cl:.3f} |")
        (fw, _), (fc, _) = inner["pillow 12MP"]
        (aw, lw), (ac, lc) = inner["fast 12MP"]
        (kw, _), (kc, _) = inner["keras 12MP"]
        print(
            f"\n12 MP against the Pillow floor (target <= 3x): fast {aw / fw:.2f}x as run, "
            f"{lw / fw:.2f}x less the fixed cost (wall); {ac / fc:.2f}x and {lc / fc:.2f}x by "
            f"CPU time; keras {kw / fw:.2f}x as run (wall), {kc / fc:.2f}x (CPU). Folder per "
            f"photo, as run: keras / fast = "
            f"{inner['keras folder'][0][0] / inner['fast folder'][0][0]:.2f}x"
        )
        if "procs" in parts:
            print(f"12 MP process peak RSS {med(rss['kcolor colorize big.jpg (12 MP)']):.0f} MB")
    if "graph" in parts:
        print("\n| graph option | value |")
        print("|---|---:|")
        for k, v in graph_options(args.model, paths, reps, not args.skip_int8):
            print(f"| {k} | {v:.4f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
