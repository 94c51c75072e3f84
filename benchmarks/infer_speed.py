"""Inference speed of kcolor's beta model, Colorizer-style, against a pure PyTorch forward.

kcolor runs the forward the way :class:`kcolor.colorizer.Colorizer` does:
``model(x, training=False)`` on an NHWC torch tensor under ``torch.inference_mode()``.
The reference is the hand-written NCHW ``nn.Module`` (see _beta_torch.py) under
``torch.no_grad()``, with the same weights. Both run in the same process,
interleaved (order alternating), after a warm-up; each repetition is a fixed
number of forward passes. Before timing, the outputs are checked to agree.

Contenders:
    kcolor          kcolor layers with their torch fast path (the default).
    torch           NCHW eager module, ``torch.no_grad()``.
    --extra adds:
    keras-plain     the kcolor forward with the fast path switched off (stock Keras on torch).
    torch-cl        the torch module and input in ``channels_last`` memory.
    colorizer       ``Colorizer.colorize`` on uint8 RGB photos of the same size, end to end
                    (Lab conversion, resizing, decoding): not comparable, for scale only.

Usage:
    python benchmarks/infer_speed.py                 # 256px b8 and 128px b16, 5 reps x 3 passes
    python benchmarks/infer_speed.py --reps 7 --extra
    python benchmarks/infer_speed.py --quick
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _beta_torch import (  # noqa: E402
    TorchBeta,
    copy_keras_to_torch,
    interleaved,
    kcolor_beta,
    make_batch,
    print_table,
    sync,
)

import kcolor  # noqa: E402
from kcolor import layers as klayers  # noqa: E402

TARGET = 1.4


def bench_config(size, batch, passes, reps, warmup, extra, clock="wall"):
    import numpy as np
    import torch

    device = kcolor.device()
    model, source = kcolor_beta(size)
    ref = TorchBeta().to(device).eval()
    copy_keras_to_torch(model, ref)
    x, _ = make_batch(batch, size, seed=size)
    x_nhwc = torch.from_numpy(x).to(device)
    x_nchw = x_nhwc.permute(0, 3, 1, 2).contiguous()

    def kcolor_forward():
        with torch.inference_mode():
            for _ in range(passes):
                y = model(x_nhwc, training=False)
        sync(device)
        return y

    def torch_forward(module, inp):
        def run():
            with torch.no_grad():
                for _ in range(passes):
                    y = module(inp)
            sync(device)
            return y

        return run

    # Same weights -> same outputs.
    diff = float((kcolor_forward().permute(0, 3, 1, 2) - torch_forward(ref, x_nchw)()).abs().max())
    if diff > 1e-4:
        raise SystemExit(
            f"outputs differ by {diff:.2e} at {size}px: the comparison would be meaningless"
        )

    runs = {"kcolor": kcolor_forward, "torch": torch_forward(ref, x_nchw)}
    if extra:

        def plain():
            previous = klayers.set_fast_path(False)
            try:
                return kcolor_forward()
            finally:
                klayers.set_fast_path(previous)

        ref_cl = TorchBeta().to(device).eval().to(memory_format=torch.channels_last)
        copy_keras_to_torch(model, ref_cl)
        runs["keras-plain"] = plain
        runs["torch-cl"] = torch_forward(
            ref_cl, x_nchw.contiguous(memory_format=torch.channels_last)
        )
        try:
            from kcolor.colorizer import Colorizer

            colorizer = Colorizer(model, batch_size=batch)
            rgb = (np.random.default_rng(0).uniform(0, 255, (batch, size, size, 3))).astype("uint8")

            def colorize():
                for _ in range(passes):
                    colorizer.colorize(rgb)

            runs["colorizer"] = colorize
        except ImportError:
            pass

    for _ in range(warmup):
        for run in runs.values():
            run()
    times = interleaved(runs, reps, clock)
    ips = {name: [batch * passes / t for t in ts] for name, ts in times.items()}
    return source, ips, diff


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--configs", default="256x8,128x16", help="SIZExBATCH,... (default 256x8,128x16)"
    )
    parser.add_argument(
        "--reps", type=int, default=5, help="timed repetitions per contender (default 5)"
    )
    parser.add_argument(
        "--steps", type=int, default=3, help="forward passes per repetition (default 3)"
    )
    parser.add_argument(
        "--warmup", type=int, default=1, help="untimed repetitions first (default 1)"
    )
    parser.add_argument(
        "--extra", action="store_true", help="also stock Keras, channels_last torch, Colorizer"
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 64x4, 2 reps x 1 pass")
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="wall-clock seconds (default) or process CPU seconds (robust on a shared CPU; use --threads 1)",
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.configs, args.reps, args.steps = "64x4", 2, 1

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"device={kcolor.device()} torch={torch.__version__} threads={torch.get_num_threads()} "
        f"clock={args.clock} reps={args.reps} passes/rep={args.steps} warmup={args.warmup}"
    )
    rows = []
    extra_names = ["keras-plain", "torch-cl", "colorizer"]
    for item in args.configs.split(","):
        size, batch = (int(v) for v in item.lower().split("x"))
        source, ips, diff = bench_config(
            size, batch, args.steps, args.reps, args.warmup, args.extra, args.clock
        )
        med = {name: statistics.median(v) for name, v in ips.items()}
        paired = statistics.median(k / t for k, t in zip(ips["kcolor"], ips["torch"], strict=True))
        ratio = med["kcolor"] / med["torch"]
        row = [
            f"{size}px b{batch}",
            f"{med['kcolor']:.2f}",
            f"{med['torch']:.2f}",
            f"{ratio:.2f}x",
            f"{paired:.2f}x",
        ]
        if args.extra:
            row += [f"{med[n]:.2f}" if n in med else "-" for n in extra_names]
        row.append("yes" if ratio >= TARGET else "NO")
        rows.append(row)
        spread = {n: f"{min(v):.1f}-{max(v):.1f}" for n, v in ips.items()}
        print(
            f"  {size}px b{batch}: model from {source}; max |kcolor - torch| {diff:.1e}; img/s range {spread}"
        )
    headers = [
        "config",
        f"kcolor img/{args.clock}-s",
        f"torch img/{args.clock}-s",
        "ratio (medians)",
        "median paired ratio",
    ]
    if args.extra:
        headers += [f"{n} img/{args.clock}-s" for n in extra_names]
    headers.append(f">= {TARGET}x")
    print()
    print_table(headers, rows)


if __name__ == "__main__":
    main()
