"""Peak memory training beta: kcolor ``model.fit`` against the hand-written PyTorch loop.

Each configuration runs in a fresh Python subprocess that imports everything,
builds the model, trains a few steps and reports its peak resident set size
(``VmHWM`` from /proc/self/status, else ``ru_maxrss``), plus the RSS right after
the imports (the interpreter + torch + Keras baseline). On CUDA the peak
allocated GPU memory is reported too.

Usage:
    python benchmarks/memory.py                      # 256px batch 8, 3 steps
    python benchmarks/memory.py --size 128 --batch 16 --extra
    python benchmarks/memory.py --quick
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
LIMIT_GIB = 1.5


def _rss_kib(field: str) -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def child(kind: str, size: int, batch: int, steps: int) -> dict:
    sys.path.insert(0, HERE)
    import numpy as np
    import torch
    import torch.nn.functional as F
    from _beta_torch import TorchBeta, kcolor_beta, make_batch, torch_rmsprop

    import kcolor
    from kcolor import layers as klayers

    base = _rss_kib("VmRSS")
    device = kcolor.device()
    x, y = make_batch(batch * steps, size)
    if kind in ("kcolor", "keras-plain"):
        klayers.set_fast_path(kind == "kcolor")
        model, _ = kcolor_beta(size)
        model.fit(x, y, batch_size=batch, epochs=1, shuffle=False, verbose=0)
    else:
        module = TorchBeta().to(device)
        opt = torch_rmsprop(module)
        xs = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        ys = np.ascontiguousarray(y.transpose(0, 3, 1, 2))
        for i in range(steps):
            xb = torch.from_numpy(xs[i * batch : (i + 1) * batch]).to(device)
            yb = torch.from_numpy(ys[i * batch : (i + 1) * batch]).to(device)
            opt.zero_grad(set_to_none=True)
            F.mse_loss(module(xb), yb).backward()
            opt.step()
    out = {"base_kib": base, "peak_kib": _rss_kib("VmHWM")}
    if device.type == "cuda":
        out["gpu_peak_bytes"] = torch.cuda.max_memory_allocated()
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--extra", action="store_true", help="also stock Keras (fast path off)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 64px batch 4, 1 step")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.size, args.batch, args.steps = 64, 4, 1
    if args.child:
        print("RESULT " + json.dumps(child(args.child, args.size, args.batch, args.steps)))
        return

    sys.path.insert(0, HERE)
    from _beta_torch import print_table

    kinds = ["kcolor", "torch"] + (["keras-plain"] if args.extra else [])
    rows = []
    for kind in kinds:
        cmd = [sys.executable, os.path.abspath(__file__), "--child", kind]
        cmd += ["--size", str(args.size), "--batch", str(args.batch), "--steps", str(args.steps)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if proc.returncode or not lines:
            raise SystemExit(f"{kind} run failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
        res = json.loads(lines[-1][len("RESULT ") :])
        peak = res["peak_kib"] / 2**20
        row = [
            kind,
            f"{args.size}px b{args.batch}",
            f"{res['base_kib'] / 2**20:.2f}",
            f"{peak:.2f}",
            f"{peak - res['base_kib'] / 2**20:.2f}",
        ]
        row.append(f"{res['gpu_peak_bytes'] / 2**30:.2f}" if "gpu_peak_bytes" in res else "-")
        row.append(("yes" if peak <= LIMIT_GIB else "NO") if kind == "kcolor" else "")
        rows.append(row)
    print(f"peak RSS of a fresh process training beta for {args.steps} steps (GiB)")
    print_table(
        [
            "contender",
            "config",
            "RSS after imports",
            "peak RSS",
            "peak - imports",
            "GPU peak alloc",
            f"<= {LIMIT_GIB} GiB",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
