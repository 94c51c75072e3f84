"""Train the colour-class U-Net with ``model.fit``; score U-Net runs on their held-out split.

``train``: ``kcolor train --loss color_classes`` cannot run a class model yet (its
``ColorizationPreview`` expects ab outputs), so this trains one with the public pieces:
the held-out split and datasets of :mod:`kcolor.training` (same ``TrainConfig``, same
seed, so the same photos as a ``kcolor train`` run), :func:`kcolor.models.unet`, the
class weights fitted on the training photos (:func:`color_classes.make_loss`), the
backbone frozen for ``--freeze-epochs``, then fine-tuned with its batch norms frozen; the
result is a preset folder with ``train_config.json`` like a ``kcolor train`` run.

``score``: re-creates each run's held-out photos from its ``train_config.json`` (same seed, same
split) and reports PSNR, SSIM, AuC, colourfulness, ΔCF and chroma ratio
(:func:`kcolor.training.held_out_scores`), for a colour-class model at every
``--temperature``, next to the grey photo's.

Usage:
    python tools/train_unet_pilot.py train -o RUN_DIR --data DIR [DIR ...] --size 64 --epochs 1
    python tools/train_unet_pilot.py score RUN_DIR [RUN_DIR ...] --temperature 0.2 0.38 1.0
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import kcolor  # noqa: F401  (the torch backend first)
from kcolor import loading, training
from kcolor.models import color_classes


def score_run(folder, temperatures=(color_classes.DEFAULT_TEMPERATURE,), val_max=None):
    """``[{run, temperature, model: {...}, grey: {...}, photos}]`` for one run folder.

    A class model's logits are computed once; each temperature decodes them
    (:class:`~kcolor.models.color_classes.AnnealedMeanDecode`).
    """
    import numpy as np

    from kcolor import color

    config = training.TrainConfig.from_json(f"{folder}/train_config.json")
    if val_max:
        config.val_max = int(val_max)
    _, val_paths, _ = training.config_photos(config)
    _, val = training.make_datasets(config, val_paths[:1], val_paths)
    model = loading.load(str(folder)).model
    head = color_classes.class_head(model)
    outputs, xs, truths = [], [], []
    for i in range(len(val)):
        x, _ = val[i]
        outputs.append(np.asarray(model.predict(x, verbose=0)))
        xs.append(x)
        truths.append(val.rgb_batch(i))
    xs, truths = np.concatenate(xs), np.concatenate(truths)
    grey = training._set_scores(
        color.to_uint8(color.rgb_to_gray(truths.astype(np.float32) / 255.0)), truths
    )
    rows = []
    for t in temperatures if head is not None else (None,):
        if head is None:
            ab = np.concatenate(outputs)
        else:
            decode = color_classes.AnnealedMeanDecode(head.bins, t, upsample=head.output_stride)
            ab = np.concatenate([np.asarray(decode(o)) for o in outputs])
        preds = color.to_uint8(color.merge_lab(xs, ab))
        rows.append(
            {
                "run": str(folder),
                "temperature": t,
                "photos": int(len(truths)),
                "model": training._set_scores(preds, truths),
                "grey": grey,
            }
        )
    return rows


def train_classes(config: training.TrainConfig, freeze_epochs: int, weight_batches: int = 40):
    """Train ``config`` (a unet with ``head="classes"``) into ``config.output``; the model."""
    import keras

    from kcolor import presets
    from kcolor.models import set_backbone_trainable, unet

    folder = Path(config.output)
    folder.mkdir(parents=True, exist_ok=True)
    train_paths, val_paths, grey = training.config_photos(config)
    keras.utils.set_random_seed(config.seed)
    train_ds, _ = training.make_datasets(config, train_paths, [])
    args = {"input_shape": [None, None, 1], "head": "classes", **config.model_args}
    model = unet(**{**args, "freeze_backbone": freeze_epochs > 0})
    if config.init:
        from kcolor.models import load_weights

        load_weights(model, Path(config.init) / "model.weights.h5")
    loss = color_classes.make_loss(train_ds, model, max_batches=weight_batches)
    config.to_json(folder / "train_config.json")
    steps = len(train_ds)
    history = []
    start = time.perf_counter()
    phases = [(freeze_epochs, False), (config.epochs - freeze_epochs, True)]
    for epochs, fine_tune in phases:
        if epochs <= 0:
            continue
        if fine_tune:
            set_backbone_trainable(model, True)
        lr = keras.optimizers.schedules.CosineDecay(config.lr, epochs * steps, alpha=0.05)
        model.compile(keras.optimizers.Adam(lr), loss=loss)
        fit = model.fit(train_ds, epochs=epochs, verbose=2)
        history += [float(v) for v in fit.history["loss"]]
    wall = time.perf_counter() - start
    presets.save_to_preset(
        model,
        folder,
        builder="unet",
        args=args,
        input_size=config.size,
        multiple=32,
        temperature=color_classes.DEFAULT_TEMPERATURE,
        overwrite=True,
        metadata={
            "run": True,
            "train_images": len(train_paths),
            "val_images": len(val_paths),
            "grey_dropped": grey,
            "loss_history": history,
            "seconds": wall,
            "command": " ".join(sys.argv),
        },
    )
    print(f"{folder}: {config.epochs} epochs of {steps} steps in {wall:.0f} s, loss {history}")
    return model


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "train":
        return _train_main(argv[1:])
    if argv and argv[0] == "score":
        argv = argv[1:]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="kcolor train run folders")
    parser.add_argument("--temperature", type=float, nargs="+", default=[0.38])
    parser.add_argument("--val-max", type=int, default=None, help="score at most N photos")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args(argv)
    rows = []
    for run in args.runs:
        for row in score_run(run, args.temperature, args.val_max):
            m, g = row["model"], row["grey"]
            print(
                f"{row['run']}  T={row['temperature']}  photos={row['photos']}  "
                f"PSNR {m['psnr']:.2f} (grey {g['psnr']:.2f})  AuC {m['auc']:.3f} "
                f"(grey {g['auc']:.3f})  CF {m['colorfulness']:.1f}  "
                f"dCF {m['delta_colorfulness']:.1f}  chroma ratio {m['chroma_ratio']:.2f}",
                flush=True,
            )
            rows.append(row)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=1)
    return 0


def _train_main(argv) -> int:
    parser = argparse.ArgumentParser(description="train the colour-class U-Net")
    parser.add_argument("-o", "--output", required=True)
    parser.add_argument("--data", nargs="+", required=True)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-images", type=int, default=1200)
    parser.add_argument("--val-split", type=float, default=0.02)
    parser.add_argument("--val-max", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--freeze-epochs", type=int, default=1)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--init", help="start from the weights of this run folder")
    parser.add_argument("--model-arg", action="append", default=[], metavar="KEY=JSON")
    a = parser.parse_args(argv)
    model_args = {k: json.loads(v) for k, v in (arg.split("=", 1) for arg in a.model_arg)}
    config = training.TrainConfig(
        output=a.output,
        data=a.data,
        recursive=True,
        model="unet",
        model_args={"head": "classes", **model_args},
        size=a.size,
        epochs=a.epochs,
        batch_size=a.batch_size,
        lr=a.lr,
        loss="color_classes",
        val_split=a.val_split,
        val_max=a.val_max,
        max_images=a.max_images,
        freeze_epochs=a.freeze_epochs,
        seed=a.seed,
        init=a.init,
    )
    train_classes(config, a.freeze_epochs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
