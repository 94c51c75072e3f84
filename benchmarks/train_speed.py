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

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _beta_torch import (  # noqa: E402
    TorchBeta,
    copy_keras_to_torch,
    kcolor_beta,
    make_batch,
    sync,
    torch_rmsprop,
    torch_train_loop,
)
from _common import images_per_second, run_speed, speed_parser, without_fast_path  # noqa: E402

import kcolor  # noqa: E402
from kcolor import layers as klayers  # noqa: E402

TARGET = 1.0  # issue 18: eager model.fit at least as fast as the pure-torch loop (an earlier issue asked 1.15x)


def bench_config(
    size: int, batch: int, steps: int, reps: int, warmup: int, extra: bool, clock="wall"
):
    import numpy as np
    import torch

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
        return torch_train_loop(
            module,
            opt,
            x_nchw,
            y_nchw,
            batch=batch,
            steps=steps,
            device=device,
            memory_format=memory_format,
        )

    ref = TorchBeta().to(device)
    copy_keras_to_torch(model, ref)
    runs = {"kcolor": fit, "torch": torch_loop(ref, torch_rmsprop(ref), None)}
    if extra:
        ref_cl = TorchBeta().to(device).to(memory_format=torch.channels_last)
        copy_keras_to_torch(model, ref_cl)
        runs["keras-plain"] = without_fast_path(fit)
        runs["torch-cl"] = torch_loop(ref_cl, torch_rmsprop(ref_cl), torch.channels_last)

    ips = images_per_second(runs, images=batch * steps, reps=reps, warmup=warmup, clock=clock)
    used = klayers.fast_path_calls()["Conv2D"]
    return source, ips, f"fast-path conv calls {used}"


def main(argv=None):
    parser = speed_parser(
        __doc__,
        default_steps=2,
        step="step",
        steps="training steps",
        extra_help="also time stock Keras and channels_last torch",
    )
    run_speed(
        parser.parse_args(argv),
        bench_config,
        target=TARGET,
        extra_names=["keras-plain", "torch-cl"],
        steps_label="steps/rep",
    )


if __name__ == "__main__":
    main()
