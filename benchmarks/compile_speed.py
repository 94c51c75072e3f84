"""torch.compile'd kcolor against eager kcolor and the pure-PyTorch loop, side by side.

Issue 18, item 3. For each configuration, in one process, interleaved (order alternating
each repetition, after the compiles and one warm-up repetition):

Training (``--steps`` steps per repetition, RMSprop with Keras' defaults, MSE):
    torch           the hand-written NCHW beta (``_beta_torch.py``), eager loop.
    torch-compiled  the same module through ``torch.compile`` (the "by hand" reference).
    keras           ``model.fit`` of ``kcolor.models.beta``, eager.
    keras-compiled  ``model.fit`` of beta after ``model.compile(..., jit_compile=True)``
                    (a ``kcolor.models.ColorModel``: its network runs through
                    ``kcolor.backend.compile_model``; Keras' loop stays eager).
Inference (``--steps`` forward passes per repetition, ``torch.inference_mode``):
    torch, torch-compiled, keras (``model(x, training=False)``) and keras-compiled
    (``kcolor.backend.CompiledForward``, what ``Colorizer(compile=True)`` runs).

Compile time is reported apart: the wall seconds of each compiled contender's first call
(its first ``fit`` step, or first forward pass) minus a later call's. By default the
inductor cache is a fresh temporary folder, so the compile is cold (``--warm-cache`` uses
torch's usual cache instead).

``--model unet`` times the U-Net (``kcolor.models.unet``, regression head, random weights)
in place of beta, Keras contenders only (there is no hand-written torch U-Net).

Usage:
    python benchmarks/compile_speed.py                         # beta, 128px b8, 5 reps x 2 steps
    python benchmarks/compile_speed.py --configs 128x8 --reps 7 --steps 2 --threads 1 --clock cpu
    python benchmarks/compile_speed.py --model unet --configs 128x8 --reps 3 --steps 1
    python benchmarks/compile_speed.py --quick                 # smoke run (32px b2, 2 reps x 1)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

if "--warm-cache" not in sys.argv and "TORCHINDUCTOR_CACHE_DIR" not in os.environ:
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="kcolor-inductor-")

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
    torch_train_loop,
)
from _common import parse_configs, start_run  # noqa: E402

import kcolor  # noqa: E402

TARGET = 1.15


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _keras_model(kind: str, size: int):
    import keras

    if kind == "beta":
        return kcolor_beta(size)[0]
    from kcolor.models import unet

    model = unet((size, size, 1), backbone_weights=None, head="regression")
    model.compile(optimizer=keras.optimizers.RMSprop(), loss="mse")
    return model


def bench(kind: str, size: int, batch: int, steps: int, reps: int, warmup: int, clock: str):
    """``(train, infer, compile_seconds)``: img/s per repetition per contender, and seconds."""
    import keras
    import numpy as np
    import torch

    from kcolor.backend import CompiledForward

    device = kcolor.device()
    x, y = make_batch(batch * steps, size, seed=size)
    x_nchw = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    y_nchw = torch.from_numpy(np.ascontiguousarray(y.transpose(0, 3, 1, 2)))
    xb_infer = torch.from_numpy(x[:batch]).to(device)

    eager = _keras_model(kind, size)
    compiled = keras.models.clone_model(eager)
    compiled.set_weights(eager.get_weights())
    # What a user writes: a ColorModel compiled with jit_compile=True runs its network
    # through kcolor.backend.compile_model (Keras' loop stays eager).
    compiled.compile(optimizer=keras.optimizers.RMSprop(), loss="mse", jit_compile=True)
    assert compiled.compile_stats is not None, "jit_compile=True did not compile the network"
    infer_model = _keras_model(kind, size)
    infer_model.set_weights(eager.get_weights())
    forward = CompiledForward(infer_model)

    def fit(model):
        def run():
            model.fit(x, y, batch_size=batch, epochs=1, shuffle=False, verbose=0)
            sync(device)

        return run

    def torch_loop(module, opt):
        return torch_train_loop(
            module, opt, x_nchw, y_nchw, batch=batch, steps=steps, device=device
        )

    def infer(fn):
        def run():
            with torch.inference_mode():
                for _ in range(steps):
                    fn()
            sync(device)

        return run

    train_runs = {"keras": fit(eager), "keras-compiled": fit(compiled)}
    infer_runs = {
        "keras": infer(lambda: infer_model(xb_infer, training=False)),
        "keras-compiled": infer(lambda: forward(xb_infer)),
    }
    if kind == "beta":
        ref, ref_c = TorchBeta().to(device), TorchBeta().to(device)
        copy_keras_to_torch(eager, ref)
        copy_keras_to_torch(eager, ref_c)
        ref_c_fn = torch.compile(ref_c)
        train_runs = {
            "torch": torch_loop(ref, torch_rmsprop(ref)),
            "torch-compiled": torch_loop(ref_c_fn, torch_rmsprop(ref_c)),
            **train_runs,
        }
        ref_i = TorchBeta().to(device).eval()
        copy_keras_to_torch(eager, ref_i)
        ref_i_c = torch.compile(ref_i)
        xb_nchw = x_nchw[:batch].to(device)
        infer_runs = {
            "torch": infer(lambda: ref_i(xb_nchw)),
            "torch-compiled": infer(lambda: ref_i_c(xb_nchw)),
            **infer_runs,
        }

    # Compile time: the first call of a compiled contender minus its second call.
    compile_seconds = {}
    for part, runs in (("train", train_runs), ("infer", infer_runs)):
        for name, run in runs.items():
            if name.endswith("compiled"):
                first = _timed(run)
                compile_seconds[f"{part} {name}"] = first - _timed(run)
                print(f"    {part} {name}: first call {first:.1f} s", file=sys.stderr, flush=True)
    if kind == "beta":
        with torch.inference_mode():
            diff = (forward(xb_infer) - infer_model(xb_infer, training=False)).abs().max()
        print(f"    inference compiled vs eager max |diff| {float(diff):.2e}", file=sys.stderr)

    out = {}
    for part, runs in (("train", train_runs), ("infer", infer_runs)):
        for _ in range(warmup):
            for run in runs.values():
                run()
        print(f"  {part}:", file=sys.stderr, flush=True)
        times = interleaved(runs, reps, clock)
        out[part] = {name: [batch * steps / t for t in ts] for name, ts in times.items()}
    return out["train"], out["infer"], compile_seconds


def _table(part: str, ips: dict, config: str, clock: str, batch: int):
    med = {n: statistics.median(v) for n, v in ips.items()}
    base = "torch" if "torch" in med else "keras"
    rows = []
    for name, value in med.items():
        paired = statistics.median(a / b for a, b in zip(ips[name], ips[base], strict=True))
        rows.append(
            [
                config,
                part,
                name,
                f"{value:.2f}",
                f"{value / batch:.3f}",
                f"{value / med[base]:.2f}x",
                f"{paired:.2f}x",
                ("yes" if value / med[base] >= TARGET else "NO")
                if name.endswith("compiled")
                else "",
            ]
        )
    return rows, base


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", choices=("beta", "unet"), default="beta")
    parser.add_argument("--configs", default="128x8", help="SIZExBATCH,... (default 128x8)")
    parser.add_argument("--reps", type=int, default=5, help="timed repetitions (default 5)")
    parser.add_argument("--steps", type=int, default=2, help="steps per repetition (default 2)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed repetitions (default 1)")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    parser.add_argument(
        "--warm-cache",
        action="store_true",
        help="use torch's usual inductor cache (default: a fresh one: cold compiles)",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 32x2, 2 reps x 1 step")
    args = parser.parse_args(argv)
    if args.quick:
        args.configs, args.reps, args.steps = "32x2", 2, 1

    cache = os.environ.get("TORCHINDUCTOR_CACHE_DIR", "default")
    start_run(
        args,
        "steps/rep",
        prefix=f"model={args.model} ",
        suffix=f" load={os.getloadavg()[0]:.2f} inductor cache={cache}",
    )
    rows, compiles = [], []
    for size, batch in parse_configs(args.configs):
        train, infer, seconds = bench(
            args.model, size, batch, args.steps, args.reps, args.warmup, args.clock
        )
        config = f"{size}px b{batch}"
        for part, ips in (("train", train), ("infer", infer)):
            part_rows, base = _table(part, ips, config, args.clock, batch)
            rows += part_rows
        compiles += [[config, k, f"{v:.1f}"] for k, v in seconds.items()]
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    print()
    print_table(
        [
            "config",
            "part",
            "contender",
            f"img/{args.clock}-s",
            f"steps/{args.clock}-s",
            f"vs {base} (medians)",
            "median paired",
            f">= {TARGET}x",
        ],
        rows,
    )
    print()
    print_table(["config", "compiled contender", "compile s (first call - second)"], compiles)


if __name__ == "__main__":
    main()
