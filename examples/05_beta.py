"""Beta version: the encoder/decoder learns colourisation from many photos, with augmentation.

The article's second step ("Beta version", in Emil Wallner's "Colorize B&W Photos with a
100-line Neural Network"): the deeper :func:`kcolor.models.beta` (3.9M parameters) is
trained on a folder of photos with Keras's ``ImageDataGenerator`` augmentation (shear,
zoom, rotation, horizontal flip), here :class:`kcolor.datasets.ImageFolderDataset` with
``augment=True``. Wallner suggests faces first (one kind of picture is easier); broad sets
(``tiny-imagenet-val/images``, ``bsds500/train``) make a general colouriser.

The article trains on plain MSE, which gives its "mostly brown" results: where a colour is
uncertain the average of the candidates is the MSE optimum, and averages are grey-brown.
``--loss saturation`` (:class:`kcolor.losses.SaturationMSE`) adds a penalty on lost chroma;
``--loss perceptual`` (:class:`kcolor.losses.PerceptualLoss`) compares EfficientNet-Lite0
features. The run holds out ``--val-split`` of the photos (never augmented) and measures the
trained model on them against the grey baseline: PSNR, SSIM, AuC, colourfulness, ΔCF and
chroma ratio (``metrics.json``), which is how the shipped presets' loss was chosen.

Writes ``--out`` (default ``runs/05_beta``)::

    config.json  history.csv  previews/  metrics.json  compare.png  report.html
    model.weights.h5

and with ``--save-preset NAME`` the float16 preset ``kcolor/weights/NAME.weights.h5``.

Usage:
    python examples/05_beta.py                                   # faces, 64 px
    python examples/05_beta.py --data ../shared/data/photos/tiny-imagenet-val/images \\
        ../shared/data/photos/bsds500/train --loss saturation --epochs 2
    python examples/05_beta.py --smoke                           # seconds, no shared data
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

import kcolor
from kcolor import color, io, losses, metrics, presets, reports
from kcolor.callbacks import ColorizationPreview, PandasLogger, TimeBudget
from kcolor.datasets import ImageFolderDataset

import keras  # noqa: E402  isort: skip  (after kcolor: the torch backend)

SHARED = Path(
    os.environ.get("KCOLOR_SHARED", Path(__file__).resolve().parents[2] / "shared" / "data")
)
SMOKE_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "retina")


def smoke_folder(folder: Path) -> Path:
    """Write a few of scikit-image's colour sample photos as PNG into ``folder`` (no download)."""
    from skimage import data

    folder.mkdir(parents=True, exist_ok=True)
    for name in SMOKE_PHOTOS:
        target = folder / f"{name}.png"
        if not target.exists():
            io.save_image(target, getattr(data, name)()[..., :3])
    return folder


def colour_photos(sources):
    """(readable colour photos of ``sources``, number of grey ones dropped).

    The scan decodes every photo once; its result is cached in ``~/.cache/kcolor/`` (keyed
    by the file list, sizes and dates) so that repeated runs on the same folders skip it.
    """
    import hashlib

    files, _ = io.find_images([str(s) for s in sources])
    stamp = [(str(f), f.stat().st_size, int(f.stat().st_mtime)) for f in files]
    key = hashlib.sha256(json.dumps(stamp).encode()).hexdigest()[:20]
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "kcolor"
    cached = cache / f"colour_photos_{key}.json"
    if cached.is_file():
        record = json.loads(cached.read_text())
        return [Path(p) for p in record["colour"]], record["grey"]
    probe = ImageFolderDataset(files, size=8, drop_grey=True)
    grey = sum(1 for _, reason in probe.skipped if "grey" in str(reason))
    try:
        cache.mkdir(parents=True, exist_ok=True)
        cached.write_text(json.dumps({"colour": [str(p) for p in probe.paths], "grey": grey}))
    except OSError:
        pass
    return list(probe.paths), grey


def split_photos(sources, val_split, max_images, seed):
    """Readable colour photos of ``sources``, split into (train, held-out) path lists."""
    paths, grey = colour_photos(sources)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(paths))
    n_val = int(round(val_split * len(paths))) if len(paths) > 1 else 0
    n_val = min(n_val, len(paths) - 1)
    val = sorted(paths[i] for i in order[:n_val])
    train = [paths[i] for i in order[n_val:]]
    if max_images:
        train = train[:max_images]
    return sorted(train), val, grey


def evaluate_set(preds, truths) -> dict:
    """Mean per-photo PSNR, SSIM, AuC, colourfulness; ΔCF and chroma ratio over the set."""
    preds, truths = list(preds), list(truths)
    per = [metrics.evaluate_pair(p, t) for p, t in zip(preds, truths, strict=True)]
    return {
        "psnr": float(np.mean([r["psnr"] for r in per if np.isfinite(r["psnr"])])),
        "ssim": float(np.nanmean([r["ssim"] for r in per])),
        "auc": float(np.mean([r["auc"] for r in per])),
        "colorfulness": float(np.mean([r["colorfulness"] for r in per])),
        "colorfulness_truth": float(np.mean([r["colorfulness_truth"] for r in per])),
        "delta_colorfulness": metrics.delta_colorfulness(preds, truths),
        "chroma_ratio": metrics.chroma_ratio(preds, truths),
        "photos": len(preds),
    }


def grey_of(rgb: np.ndarray) -> np.ndarray:
    """The grey version of uint8 photos (same L, a = b = 0)."""
    return color.to_uint8(color.rgb_to_gray(np.asarray(rgb, np.float32) / 255.0))


def make_loss(name: str, penalty: float):
    """(loss, packed): the Keras loss, and whether the targets must carry L (pack_l)."""
    if name == "mse":
        return "mse", False
    if name == "saturation":
        return losses.SaturationMSE(penalty=penalty), False
    if name == "perceptual":
        return losses.PerceptualLoss(layers=("block0", "block2"), mse_weight=1.0), True
    raise ValueError(f"unknown loss {name!r}")


def add_common_arguments(parser, default_out):
    """The arguments examples 05 and 06 share."""
    parser.add_argument("--data", nargs="+", default=None,
                        help="image folder(s) or files (default: ../shared/data/photos/faces, as "
                        "Wallner suggests; with --smoke: scikit-image's sample photos)")  # fmt: skip
    parser.add_argument(
        "--size", type=int, default=64, help="training side in pixels (multiple of 8)"
    )
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (cosine decay)")
    parser.add_argument("--loss", choices=("mse", "saturation", "perceptual"), default="mse",
                        help="mse: the article's; saturation: MSE + lost-chroma penalty; "
                        "perceptual: EfficientNet-Lite0 features + MSE")  # fmt: skip
    parser.add_argument("--penalty", type=float, default=1.0, help="SaturationMSE penalty")
    parser.add_argument("--val-split", type=float, default=0.05,
                        help="share of the photos held out (un-augmented) to measure on")  # fmt: skip
    parser.add_argument(
        "--val-max", type=int, default=256, help="at most this many held-out photos"
    )
    parser.add_argument(
        "--max-images", type=int, default=0, help="train on at most N photos (0: all)"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="each photo this many times per epoch"
    )
    parser.add_argument("--minutes", type=float, default=0,
                        help="train for this many minutes: the epochs that fit (at most --epochs) "
                        "and a cosine decay fitted to them (callbacks.TimeBudget)")  # fmt: skip
    parser.add_argument("--workers", type=int, default=1,
                        help="data-loading processes (more than 1: multiprocessing)")  # fmt: skip
    parser.add_argument("--init", help="start from these weights (.weights.h5 or a preset name)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=default_out, help="run folder")
    parser.add_argument("--save-preset", metavar="NAME",
                        help="write kcolor/weights/NAME.weights.h5 (float16) and print its sha256")  # fmt: skip
    parser.add_argument("--smoke", action="store_true",
                        help="seconds: 32 px, a few photos, 1 epoch (scikit-image photos without ../shared)")  # fmt: skip


def prepare(args):
    """Apply --smoke, make the run folder, split the photos: (out, train paths, val paths, grey)."""
    if args.workers < 1:
        raise SystemExit(f"--workers must be at least 1, got {args.workers}")
    if args.minutes < 0:
        raise SystemExit(f"--minutes must be positive (0: no time budget), got {args.minutes}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.smoke:
        args.size, args.epochs, args.batch_size, args.val_max = 32, 1, 4, 2
        if args.data is None:
            args.data = [str(smoke_folder(out / "smoke_photos"))]
            args.val_split = 2 / len(SMOKE_PHOTOS)
        else:
            args.max_images = args.max_images or 8
    args.data = args.data or [str(SHARED / "photos" / "faces")]
    missing = [d for d in args.data if not Path(d).exists()]
    if missing:
        raise SystemExit(f"no such image folder: {', '.join(missing)} (pass --data, or --smoke)")
    keras.utils.set_random_seed(args.seed)
    train, val, grey = split_photos(args.data, args.val_split, args.max_images, args.seed)
    val = val[: args.val_max] if args.val_max else val
    return out, train, val, grey


def schedule(args, steps_per_epoch):
    return keras.optimizers.schedules.CosineDecay(
        args.lr, max(1, args.epochs * steps_per_epoch), alpha=0.05
    )


def training_data(args, train_paths, val_paths):
    """(augmented training set, un-augmented held-out set or None) for ``args``."""
    train = ImageFolderDataset(train_paths, size=args.size, batch_size=args.batch_size,
                               augment=True, seed=args.seed, repeat=args.repeat,
                               workers=args.workers, use_multiprocessing=args.workers > 1)  # fmt: skip
    val = (
        ImageFolderDataset(val_paths, size=args.size, batch_size=args.batch_size)
        if val_paths
        else None
    )
    return train, val


def run_config(args, example, section, model, train_paths, val_paths, grey) -> dict:
    """What a run of example 05 or 06 records in ``config.json``."""
    return {
        "example": example,
        "article_section": section,
        "model": model,
        "data": [str(d) for d in args.data],
        "train_images": len(train_paths),
        "val_images": len(val_paths),
        "grey_dropped": grey,
        "size": args.size,
        "epochs": args.epochs,
        "minutes": args.minutes or None,
        "batch_size": args.batch_size,
        "repeat": args.repeat,
        "loss": args.loss if args.loss != "saturation" else f"saturation (penalty {args.penalty})",
        "optimizer": f"Adam, lr {args.lr}, cosine decay to 5%",
        "init": args.init,
        "device": str(kcolor.device()),
        "torch_threads": __import__("torch").get_num_threads(),
        "workers": args.workers,
    }


def fit_callbacks(args, out, sched, preview=None):
    """PandasLogger, previews of ``preview = (x, y)`` (if given) and the time budget."""
    callbacks = [PandasLogger(out / "history.csv")]
    if preview is not None:
        every = max(1, args.epochs // 4) if not args.minutes else 5
        callbacks.append(ColorizationPreview(*preview, out / "previews", every=every))
    if args.minutes:
        callbacks.append(TimeBudget(args.minutes * 60, sched))
    return callbacks


def finish(args, out, model, colorizer, val_rgb, names, config, wall, history):
    """Measure on the held-out photos, write metrics, grid, report and (maybe) the preset."""
    preds = colorizer.colorize(list(val_rgb)) if len(val_rgb) else []
    table = {}
    if len(val_rgb):
        table[f"{config['model']} (held out)"] = evaluate_set(preds, val_rgb)
        table["grey baseline (held out)"] = evaluate_set(grey_of(val_rgb), val_rgb)
        (out / "metrics.json").write_text(json.dumps(table, indent=2))
        k = min(6, len(val_rgb))
        fig = reports.compare_grid(
            {"grey": grey_of(val_rgb[:k]), config["model"]: preds[:k], "truth": val_rgb[:k]},
            row_titles=[Path(n).stem[:14] for n in names[:k]],
            title=f"{config['model']} on held-out photos",
        )
        fig.savefig(out / "compare.png", dpi=80)
    final = {k: float(v[-1]) for k, v in history.history.items() if v}
    epochs_run = len(history.history.get("loss", []))
    config.update({"wall_seconds": round(wall, 1), "epochs_run": epochs_run, "final": final})
    (out / "config.json").write_text(json.dumps(config, indent=2))
    model.save_weights(out / "model.weights.h5")
    reports.build_report(out, title=f"{config['example']}: {config['model']}")
    print(f"trained {epochs_run} epochs in {wall / 60:.1f} min; final: "
          + ", ".join(f"{k} {v:.5g}" for k, v in final.items()))  # fmt: skip
    for row, values in table.items():
        print(f"{row:32s} " + "  ".join(
            f"{k} {v:.4g}" for k, v in values.items() if k != "colorfulness_truth"))  # fmt: skip
    print(f"run folder: {out}")
    if args.save_preset:
        path = presets.WEIGHTS_DIR / f"{args.save_preset}.weights.h5"
        digest = save_preset_weights(model, path)
        print(f"preset weights: {path}  sha256 {digest}")
    return table


def save_preset_weights(model, path) -> str:
    """Float16 weights of ``model`` WITHOUT its optimizer state (a compiled model's
    ``save_weights`` also stores Adam's two moments: 3x the size); returns the SHA-256."""
    fresh = keras.Model.from_config(model.get_config())  # clone_model would keep the optimizer
    fresh.set_weights(model.get_weights())
    return presets.save_weights(fresh, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser, "runs/05_beta")
    args = parser.parse_args(argv)
    out, train_paths, val_paths, grey = prepare(args)

    train, val = training_data(args, train_paths, val_paths)
    val_rgb = np.concatenate([val.rgb_batch(i) for i in range(len(val))]) if val else np.zeros((0,))
    loss, packed = make_loss(args.loss, args.penalty)
    fit_train = losses.PackedLTargets(train) if packed else train
    fit_val = (losses.PackedLTargets(val) if packed else val) if val else None

    model = kcolor.models.beta((None, None, 1), weights=args.init)
    sched = schedule(args, len(train))
    model.compile(keras.optimizers.Adam(sched), loss=loss)
    config = run_config(args, "05_beta", "Beta version", "beta", train_paths, val_paths, grey)
    config["augment"] = "ImageFolderDataset(augment=True): crop, flip, rotation, zoom, shear"
    (out / "config.json").write_text(json.dumps(config, indent=2))
    preview = None
    if val:
        sx, sy = val[0]
        preview = (sx[:6], sy[:6])
    callbacks = fit_callbacks(args, out, sched, preview)
    print(f"beta: {len(train_paths)} training photos ({grey} grey dropped), {len(val_paths)} "
          f"held out, {args.size} px, {args.epochs} epochs of {len(train)} steps, loss {args.loss}",
          flush=True)  # fmt: skip
    start = time.perf_counter()
    history = model.fit(fit_train, validation_data=fit_val, epochs=args.epochs,
                        callbacks=callbacks, verbose=2)  # fmt: skip
    wall = time.perf_counter() - start
    colorizer = kcolor.Colorizer(model, input_size=args.size)
    return finish(args, out, model, colorizer, val_rgb, val_paths, config, wall, history)


if __name__ == "__main__":
    main()
