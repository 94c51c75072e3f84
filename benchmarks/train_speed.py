"""Training speed of kcolor's beta model (Keras ``model.fit``) against a hand-written PyTorch loop.

Both train Wallner's beta network with RMSprop (Keras defaults) on MSE, with the
same batch, in the same process, interleaved: each repetition runs a fixed
number of steps of each contender in turn (order alternating), after a warm-up.
Reports img/s medians and their ratio, per configuration.

Contenders:
    kcolor          ``model.fit(x, y, batch_size=B, epochs=1)`` on numpy NHWC arrays,
                    kcolor layers with their torch fast path (the default).
    torch           ``nn.Sequential``-style NCHW module, eager, ``torch.optim.RMSprop``,
                    ``zero_grad(set_to_none=True)``, batches NCHW (see _beta_torch.py).
    --extra adds:
    keras-plain     the same ``model.fit`` with the kcolor fast path switched off,
                    i.e. stock Keras-on-torch arithmetic.
    torch-cl        the torch loop with module and batches in ``channels_last`` memory.

Usage:
    python benchmarks/train_speed.py                    # 256px b8 and 128px b16, 5 reps x 2 steps
    python benchmarks/train_speed.py --reps 7 --steps 4 --extra
    python benchmarks/train_speed.py --quick            # a smoke run (64px, 2 reps x 1 step)
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
    torch_rmsprop,
)

import kcolor  # noqa: E402
from kcolor import layers as klayers  # noqa: E402

TARGET = 1.15


def parse_configs(text: str):
    out = []
    for item in text.split(","):
        size, batch = item.lower().split("x")
        out.append((int(size), int(batch)))
    return out


def bench_config(
    size: int, batch: int, steps: int, reps: int, warmup: int, extra: bool, clock="wall"
):
    import numpy as np
    import torch
    import torch.nn.functional as F

    device = kcolor.device()
    model, source = kcolor_beta(size)
    x, y = make_batch(batch * steps, size, seed=size)
    # kcolor gets numpy NHWC (what model.fit is fed in practice); torch gets NCHW arrays,
    # moved to the device batch by batch, as a DataLoader loop would.
    x_nchw = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    y_nchw = np.ascontiguousarray(y.transpose(0, 3, 1, 2))

    def fit():
        model.fit(x, y, batch_size=batch, epochs=1, shuffle=False, verbose=0)
        sync(device)

    def torch_loop(module, opt, memory_format):
        def run():
            for i in range(steps):
                xb = torch.from_numpy(x_nchw[i * batch : (i + 1) * batch]).to(device)
                yb = torch.from_numpy(y_nchw[i * batch : (i + 1) * batch]).to(device)
                if memory_format is not None:
                    xb = xb.contiguous(memory_format=memory_format)
                    yb = yb.contiguous(memory_format=memory_format)
                opt.zero_grad(set_to_none=True)
                loss = F.mse_loss(module(xb), yb)
                loss.backward()
                opt.step()
            sync(device)

        return run

    ref = TorchBeta().to(device)
    copy_keras_to_torch(model, ref)
    runs = {"kcolor": fit, "torch": torch_loop(ref, torch_rmsprop(ref), None)}
    if extra:

        def fit_plain():
            previous = klayers.set_fast_path(False)
            try:
                fit()
            finally:
                klayers.set_fast_path(previous)

        ref_cl = TorchBeta().to(device).to(memory_format=torch.channels_last)
        copy_keras_to_torch(model, ref_cl)
        runs["keras-plain"] = fit_plain
        runs["torch-cl"] = torch_loop(ref_cl, torch_rmsprop(ref_cl), torch.channels_last)

    for _ in range(warmup):
        for run in runs.values():
            run()
    klayers.fast_path_calls(reset=True)
    times = interleaved(runs, reps, clock)
    used = klayers.fast_path_calls()["Conv2D"]
    ips = {name: [batch * steps / t for t in ts] for name, ts in times.items()}
    return source, ips, used


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
        "--steps", type=int, default=2, help="training steps per repetition (default 2)"
    )
    parser.add_argument(
        "--warmup", type=int, default=1, help="untimed repetitions first (default 1)"
    )
    parser.add_argument(
        "--extra", action="store_true", help="also time stock Keras and channels_last torch"
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 64x4, 2 reps x 1 step")
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
        f"clock={args.clock} reps={args.reps} steps/rep={args.steps} warmup={args.warmup}"
    )
    rows = []
    for size, batch in parse_configs(args.configs):
        source, ips, used = bench_config(
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
            row += [f"{med['keras-plain']:.2f}", f"{med['torch-cl']:.2f}"]
        row.append("yes" if ratio >= TARGET else "NO")
        rows.append(row)
        spread = {n: f"{min(v):.2f}-{max(v):.2f}" for n, v in ips.items()}
        print(
            f"  {size}px b{batch}: model from {source}; fast-path conv calls {used}; img/s range {spread}"
        )
    headers = [
        "config",
        f"kcolor img/{args.clock}-s",
        f"torch img/{args.clock}-s",
        "ratio (medians)",
        "median paired ratio",
    ]
    if args.extra:
        headers += [f"keras-plain img/{args.clock}-s", f"torch-cl img/{args.clock}-s"]
    headers.append(f">= {TARGET}x")
    print()
    print_table(headers, rows)


if __name__ == "__main__":
    main()
