"""Inference speed of kcolor's beta model, Colorizer-style, against a pure PyTorch forward.

kcolor runs the forward the way :class:`kcolor.inference.colorizer.Colorizer` does:
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

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _beta_torch import (  # noqa: E402
    TorchBeta,
    copy_keras_to_torch,
    kcolor_beta,
    make_batch,
    sync,
)
from _common import images_per_second, run_speed, speed_parser, without_fast_path  # noqa: E402

import kcolor  # noqa: E402

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
        ref_cl = TorchBeta().to(device).eval().to(memory_format=torch.channels_last)
        copy_keras_to_torch(model, ref_cl)
        runs["keras-plain"] = without_fast_path(kcolor_forward)
        runs["torch-cl"] = torch_forward(
            ref_cl, x_nchw.contiguous(memory_format=torch.channels_last)
        )
        try:
            from kcolor.inference.colorizer import Colorizer

            colorizer = Colorizer(model, batch_size=batch)
            rgb = (np.random.default_rng(0).uniform(0, 255, (batch, size, size, 3))).astype("uint8")

            def colorize():
                for _ in range(passes):
                    colorizer.colorize(rgb)

            runs["colorizer"] = colorize
        except ImportError:
            pass

    ips = images_per_second(runs, images=batch * passes, reps=reps, warmup=warmup, clock=clock)
    return source, ips, f"max |kcolor - torch| {diff:.1e}"


def main(argv=None):
    parser = speed_parser(
        __doc__,
        default_steps=3,
        step="pass",
        steps="forward passes",
        extra_help="also stock Keras, channels_last torch, Colorizer",
    )
    run_speed(
        parser.parse_args(argv),
        bench_config,
        target=TARGET,
        extra_names=["keras-plain", "torch-cl", "colorizer"],
        steps_label="passes/rep",
    )


if __name__ == "__main__":
    main()
