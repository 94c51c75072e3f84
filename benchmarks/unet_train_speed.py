"""Training rate of the default colouriser (the colour-class U-Net) and of its data pipeline.

Contenders, timed interleaved in one process (each repetition runs ``--steps`` training
steps of each in turn, the order alternating), on the same network and batches:

    kcolor          ``model.fit`` on the cached-crop dataset (what the campaign runs:
                    ``tools/release/campaign.py``), Adam, the rebalanced class loss.
    torch           a hand-written PyTorch loop over the *same* module (a Keras model on
                    the torch backend is a ``torch.nn.Module``): ``model(x)``, the same
                    loss, ``backward``, ``torch.optim.Adam``; batches already in memory.
    --backbones adds, for each backbone after the first:
    fit <name>      ``model.fit`` of the same U-Net on another EfficientNet-Lite
                    (issue 26: Lite0 or Lite2?), with its ratio to the first's rate.
    --extra adds:
    torch-bf16      the torch loop under ``torch.autocast("cpu"/"cuda", torch.bfloat16)``.
    keras-plain     ``model.fit`` with kcolor's layer fast path off (stock Keras on torch).

and the data pipeline alone (``CachedCrops``: crop, resize, flip, Lab split; one thread),
in photos/s, with its ratio to the kcolor training rate (the target: >= 3x).

Usage:
    python benchmarks/unet_train_speed.py --configs 128x16,224x16 --reps 5 --steps 2
    python benchmarks/unet_train_speed.py --backbones efficientnet_lite0,efficientnet_lite2
    python benchmarks/unet_train_speed.py --quick          # a smoke run (64 px, 2 reps x 1 step)
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _beta_torch import print_table, sync  # noqa: E402
from _common import images_per_second, speed_parser, start_run, without_fast_path  # noqa: E402

import kcolor  # noqa: E402, F401  (the torch backend first)

TARGET_PIPELINE = 3.0  # issue 26: the data pipeline at >= 3x the training rate
DEFAULT_BACKBONE = "efficientnet_lite0"


def _cache(n: int, side: int = 256):
    """A synthetic photo cache of ``n`` smooth colour photos (no data folder needed)."""
    import numpy as np
    from PIL import Image

    from kcolor.datasets.cache import build_photo_cache

    folder = tempfile.mkdtemp(prefix="kcolor-bench-")
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        small = rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)
        im = Image.fromarray(small).resize((side + 40, side), Image.Resampling.BICUBIC)
        paths.append(f"{folder}/{i}.jpg")
        im.save(paths[-1], quality=90)
    return build_photo_cache(paths, f"{folder}/cache", side=side, workers=1, progress=False)


def _compiled_unet(data, backbone):
    """The colour-class U-Net on ``backbone``, its class weights fitted on ``data``, compiled
    as the campaign compiles it; returns ``(model, loss)``."""
    import keras

    from kcolor import training
    from kcolor.models import color_classes

    config = training.TrainConfig(
        output="-",
        model="unet",
        model_args={"head": "classes", "backbone": backbone},
        loss="color_classes",
        data=["-"],
    )
    model = training.build(config)
    head = color_classes.class_head(model)
    weights = color_classes.fit_class_weights(data, head.bins, max_batches=2)
    color_classes.set_class_weights(model, weights)
    training.set_backbone_trainable(model, True)
    loss = color_classes.ColorClassLoss(head.bins, weights)
    model.compile(keras.optimizers.Adam(1e-4), loss=loss)
    return model, loss


def short_name(backbone: str) -> str:
    """``efficientnet_lite2`` -> ``lite2``."""
    return backbone.rsplit("_", 1)[-1]


def bench_config(size, batch, steps, reps, warmup, extra, clock, backbones=(DEFAULT_BACKBONE,)):
    import numpy as np
    import torch

    from kcolor.datasets.cache import CachedCrops

    device = kcolor.device()
    cache = _cache(max(32, batch * 2), side=max(256, size))
    data = CachedCrops([(cache, size, 1.0, batch)], steps=steps, seed=0)
    model, loss = _compiled_unet(data, backbones[0])
    others = {short_name(b): _compiled_unet(data, b)[0] for b in backbones[1:]}
    batches = [data[i] for i in range(steps)]
    xs = [torch.as_tensor(x).to(device) for x, _ in batches]
    ys = [torch.as_tensor(y).to(device) for _, y in batches]
    params = [v.value for v in model.trainable_variables]
    opt = torch.optim.Adam(params, lr=1e-4)

    def fit():
        model.fit(data, epochs=1, verbose=0, shuffle=False)
        sync(device)

    def torch_loop(dtype=None):
        def run():
            for x, y in zip(xs, ys, strict=True):
                opt.zero_grad(set_to_none=True)
                if dtype is None:
                    out = model(x, training=True)
                else:
                    with torch.autocast(torch.device(device).type, dtype=dtype):
                        out = model(x, training=True)
                value = loss(y, out.float())
                value.backward()
                opt.step()
            sync(device)

        return run

    runs = {"kcolor": fit, "torch": torch_loop()}
    for name, other in others.items():

        def fit_other(other=other):
            other.fit(data, epochs=1, verbose=0, shuffle=False)
            sync(device)

        runs[f"fit {name}"] = fit_other
    if extra:
        runs["torch-bf16"] = torch_loop(torch.bfloat16)
        runs["keras-plain"] = without_fast_path(fit)
    ips = images_per_second(runs, images=batch * steps, reps=reps, warmup=warmup, clock=clock)

    import time

    pipe = CachedCrops([(cache, size, 1.0, batch)], steps=1000, seed=1)
    rates = []
    for rep in range(reps):
        start = time.perf_counter()
        for i in range(steps * 4):
            pipe[rep * steps * 4 + i]
        rates.append(batch * steps * 4 / (time.perf_counter() - start))
    return ips, float(np.median(rates))


def main(argv=None):
    parser = speed_parser(
        __doc__,
        default_steps=2,
        step="step",
        steps="training steps",
        extra_help="also time bf16 autocast and stock Keras",
    )
    parser.set_defaults(configs="128x16,224x16")
    parser.add_argument(
        "--backbones",
        default=DEFAULT_BACKBONE,
        help="comma-separated EfficientNet-Lite variants; the first is timed against the "
        "torch loop, the others by model.fit beside it (default efficientnet_lite0)",
    )
    args = parser.parse_args(argv)
    backbones = [b.strip() for b in args.backbones.split(",") if b.strip()]
    other_names = [short_name(b) for b in backbones[1:]]
    if args.quick:
        args.configs, args.reps, args.steps = "64x4", 2, 1
    start_run(args, "steps/rep")
    rows = []
    extra_names = ["torch-bf16", "keras-plain"] if args.extra else []
    for item in args.configs.split(","):
        size, batch = (int(v) for v in item.lower().split("x"))
        ips, pipeline = bench_config(
            size, batch, args.steps, args.reps, args.warmup, args.extra, args.clock, backbones
        )
        med = {name: statistics.median(v) for name, v in ips.items()}
        paired = statistics.median(k / t for k, t in zip(ips["kcolor"], ips["torch"], strict=True))
        rows.append(
            [
                f"{size}x{batch}",
                f"{med['kcolor']:.2f}",
                f"{med['torch']:.2f}",
                f"{med['kcolor'] / med['torch']:.2f}x",
                f"{paired:.2f}x",
                *(f"{med[n]:.2f}" for n in extra_names),
                *(
                    f"{med['fit ' + n]:.2f} ({med['fit ' + n] / med['kcolor']:.2f}x)"
                    for n in other_names
                ),
                f"{pipeline:.0f}",
                f"{pipeline / med['kcolor']:.0f}x",
                "yes" if pipeline / med["kcolor"] >= TARGET_PIPELINE else "NO",
            ]
        )
    print_table(
        [
            "size x batch",
            "kcolor fit photos/s",
            "torch loop photos/s",
            "ratio",
            "paired",
            *(f"{n} photos/s" for n in extra_names),
            *(f"fit {n} photos/s (x {short_name(backbones[0])})" for n in other_names),
            "pipeline photos/s",
            "pipeline / fit",
            f">= {TARGET_PIPELINE:.0f}x",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
