"""The default colouriser's training campaign: many stretches, one resumable checkpoint.

The campaign trains the colour-class U-Net (``kcolor.models.unet(head="classes")``) with
``model.fit`` on every cleaned training photo, mostly at 128 and 224 px, in stretches that
each continue from the last checkpoint: a float16 preset folder whose ``metadata.json``
holds the **ledger** (photos seen, training hours, and the validation scores at each
checkpoint). Committing that folder at the end of a session is all the next session
needs to go on; nothing is lost when a process is stopped (SIGINT/SIGTERM save first).

Steps:

``prepare``
    Decode the training manifest's photos once into uint8 memmap caches
    (:mod:`kcolor.datasets.cache`): ``large`` (shorter side >= 192, cached at 256),
    ``medium`` (>= 112, at 128) and ``small`` (the rest, at 64).
``train``
    One stretch: load the checkpoint (or ``--init`` the first time), train for
    ``--hours``, save a checkpoint every ``--checkpoint-minutes`` (EMA of the weights,
    float16) and score it on the validation manifest (``kcolor.evaluation.evaluate``).
``score``
    Score the checkpoint (and, with ``--baseline``, another preset) on the validation
    manifest again, with the current metrics, into the ledger.
``ledger``
    Print the ledger as a table.

Usage (from a git worktree at a fixed commit, with nohup):
    python tools/release/campaign.py prepare --train data/train.csv --cache-dir data/cache
    nohup python tools/release/campaign.py train --campaign campaign/unet-lite0-photos \\
        --cache-dir data/cache --val data/val.csv --init unet-lite0-photos --hours 2.5 &
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")  # before any Keras import (kcolor's backend)

#: The batches of each size: (cache, output size, step weight, batch size). About 55 % of
#: the steps are 224 or 128 px crops of the large photos, 8 % the 128-px flowers and faces
#: and 37 % 64-px Tiny ImageNet. Stretch 2's mix gave the medium bucket (mostly flowers)
#: 26 % of the steps and left a mustard-yellow cast on the validation photos (checkpoint
#: 5); this mix, from stretch 4 on, took it away (checkpoint 7). See docs/campaign.md.
DEFAULT_MIX = "large:224:0.15:16,large:128:0.40:16,medium:128:0.08:16,small:64:0.37:32"
BUCKETS = (("large", 192, 256), ("medium", 112, 128), ("small", 0, 64))
TEMPERATURE, PRIOR_CORRECTION = 0.38, 0.5


def _log(*args):
    print(time.strftime("%H:%M:%S"), *args, file=sys.stderr, flush=True)


def _commit() -> str:
    here = Path(__file__).resolve().parent
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=here,
            text=True,
            capture_output=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


# ---------------------------------------------------------------- data
#: The training folders under the photos root, and where the validation photos come from.
FOLDERS = (
    "imagenet-sample",
    "bsds500/train",
    "bsds500/test",
    "pacs-photo",
    "caltech101",
    "flowers",
    "faces",
    "tiny-imagenet-train",
    "tiny-imagenet-val",
    "tiny-imagenet-test",
)
VAL_FOLDERS = ("imagenet-sample", "bsds500/train", "pacs-photo", "caltech101")
HELD_OUT = ("bsds500/test",)


def cmd_data(args) -> int:
    """Scan, clean (bsds500/test held out) and split into train.csv and val.csv.

    The validation split: 7 % of each folder's near-duplicate groups (``kcolor data split``,
    seed 0), kept where the folder is one of :data:`VAL_FOLDERS` and the photo's shorter
    side is at least ``--val-min-side``; the other folders' share goes back to training.
    """
    import numpy as np
    import pandas as pd

    from kcolor import curation as kdata
    from kcolor.curation.exclusion import leak_check

    root, out = Path(args.photos), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    manifest = kdata.scan([root / f for f in FOLDERS], workers=args.workers, progress=False)
    kdata.write_manifest(manifest, out / "all.csv")
    kept, dropped = kdata.clean(
        manifest, exclude=[str(root / h) for h in HELD_OUT] + list(HELD_OUT), min_side=64
    )
    found = dropped.attrs["exclusion"]
    for line in found.describe():
        _log(line)
    found.held_out.to_csv(out / "held-out.csv", index=False)
    parts = kdata.split(kept, val=0.07, test=0.0, seed=0)
    side = np.minimum(parts["width"], parts["height"])
    is_val = (
        (parts["split"] == "val") & parts["folder"].isin(VAL_FOLDERS) & (side >= args.val_min_side)
    )
    val = parts[is_val].drop(columns="split").reset_index(drop=True)
    train = parts[~is_val].drop(columns="split").reset_index(drop=True)
    leaks = pd.concat([leak_check(train, val), leak_check(train, found.held_out)])
    train = train[~train["path"].isin(leaks["path"])].reset_index(drop=True)
    if len(leak_check(val, found.held_out)):
        raise SystemExit("validation photos near-duplicate held-out ones: refusing")
    kdata.write_manifest(train, out / "train.csv")
    kdata.write_manifest(val, out / "val.csv")
    _log(
        f"train {len(train)}, val {len(val)} (shorter side >= {args.val_min_side}: "
        f"{val['folder'].value_counts().to_dict()}), held out {len(found.held_out)}, "
        f"{len(leaks)} leaking training rows dropped"
    )
    return 0


# ---------------------------------------------------------------- prepare
def cmd_prepare(args) -> int:
    import numpy as np

    from kcolor.curation.manifest import read_manifest
    from kcolor.datasets.cache import build_photo_cache

    df = read_manifest(args.train)
    side = np.minimum(df["width"].to_numpy(float), df["height"].to_numpy(float))
    taken = np.zeros(len(df), bool)
    for name, at_least, cached_side in BUCKETS:
        rows = (side >= at_least) & ~taken
        taken |= rows
        paths = df["path"][rows].tolist()
        t = time.perf_counter()
        cache = build_photo_cache(
            paths, Path(args.cache_dir) / name, side=cached_side, workers=args.workers
        )
        _log(
            f"{name}: {len(cache)} photos at {cached_side} px "
            f"({cache.images.nbytes / 2**20:.0f} MiB) in {time.perf_counter() - t:.0f} s"
        )
    return 0


# ---------------------------------------------------------------- model
class _EMA:
    """An exponential moving average of the trainable weights and of the batch norms'
    moving statistics (torch, in place), as timm's ModelEmaV2 averages every buffer.

    Stretches 5's checkpoints averaged the trainable weights only, so each checkpoint paired
    averaged weights with the live model's batch-norm statistics of its last ~100 steps
    (whatever sizes and photo sets those were): its validation scores swung from a chroma
    ratio of 1.1 to 2.9 between checkpoints while the loss kept falling.
    """

    def __init__(self, model, decay: float):
        import torch

        self.decay = float(decay)
        moving = [
            v
            for v in model.non_trainable_variables
            if v.path.rsplit("/", 1)[-1] in ("moving_mean", "moving_variance")
        ]
        self.vars = list(model.trainable_variables) + moving
        with torch.no_grad():
            self.shadow = [v.value.detach().clone() for v in self.vars]

    def update(self):
        import torch

        with torch.no_grad():
            for s, v in zip(self.shadow, self.vars, strict=True):
                s.lerp_(v.value.detach(), 1.0 - self.decay)

    def swap(self):
        """Swap the model's weights and the averages (call twice to undo)."""
        import torch

        with torch.no_grad():
            for s, v in zip(self.shadow, self.vars, strict=True):
                tmp = v.value.detach().clone()
                v.value.copy_(s)
                s.copy_(tmp)


def _mix(text, caches, batch_scale: int = 1):
    sources = []
    for part in text.split(","):
        name, size, weight, batch = part.split(":")
        sources.append((caches[name], int(size), float(weight), int(batch) * int(batch_scale)))
    return sources


def score_preset(folder, val_manifest, limit=None, temperature=None, prior=None, judge=True):
    """``evaluate`` the preset ``folder`` on the validation photos at 256 px: a dict."""
    from kcolor import Colorizer, evaluation
    from kcolor.curation.manifest import manifest_paths

    files = [os.fspath(p) for p in manifest_paths(val_manifest)][: limit or None]
    kwargs = {}
    if temperature is not None:
        kwargs["temperature"] = temperature
    if prior is not None:
        kwargs["prior_correction"] = prior
    colorizer = Colorizer.load(os.fspath(folder), **kwargs)
    summary = evaluation.evaluate(
        files, {"model": colorizer}, size=256, progress=False, semantic=judge, batch_size=8
    )
    out = {"photos": int(summary.attrs["n_images"])}
    for row in summary.index:
        key = "model" if row != evaluation.GREY else "grey"
        out[key] = {k: float(v) for k, v in summary.loc[row].items() if v == v}
    return out


# ---------------------------------------------------------------- train
def _read_meta(folder: Path) -> dict:
    try:
        return json.loads((folder / "metadata.json").read_text())
    except (OSError, ValueError):
        return {}


def rebalancing_lambda(campaign: dict, lam: float, refit: float | None) -> float | None:
    """The lambda to fit the class weights with at the start of a stretch, or ``None``.

    The first stretch (no ``campaign`` record yet) fits them at ``lam``; a later one keeps
    the checkpoint's weights unless ``refit`` asks for another lambda than the recorded one
    (``--refit-lambda``: a recipe chosen on validation after the campaign began).

    Example:
        >>> rebalancing_lambda({}, 0.5, None), rebalancing_lambda({"lambda": 0.5}, 0.5, None)
        (0.5, None)
        >>> rebalancing_lambda({"lambda": 0.5}, 0.5, 0.8), rebalancing_lambda({"lambda": 0.8}, 0.5, 0.8)
        (0.8, None)
    """
    if not campaign:
        return float(lam if refit is None else refit)
    if refit is not None and float(refit) != float(campaign.get("lambda", lam)):
        return float(refit)
    return None


def cmd_train(args) -> int:
    import keras
    import numpy as np
    import torch

    import kcolor  # noqa: F401  (torch backend)
    from kcolor import presets
    from kcolor.datasets.cache import CachedCrops, PhotoCache
    from kcolor.models import color_classes
    from kcolor.training import set_backbone_trainable

    _log(
        f"kcolor from {kcolor.__file__}, commit {_commit()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads"
    )
    if args.mixed_precision == "bf16":
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    ckpt = Path(args.campaign)
    meta = _read_meta(ckpt)
    campaign = meta.get("campaign", {})
    ledger = list(meta.get("ledger", []))
    start_from = os.fspath(ckpt) if (ckpt / "config.json").exists() else args.init
    if not start_from and not args.init_backbone:
        _log(
            f"{ckpt} holds no checkpoint: give --init PRESET or --init-backbone NAME "
            "for the first stretch"
        )
        return 2
    if start_from:
        model = presets.build_model(start_from)
        builder_args = presets.read_config(presets.locate(start_from))["args"]
    else:  # a fresh arm: the U-Net on an ImageNet backbone (e.g. to compare backbones)
        from kcolor import models

        model = models.unet(backbone=args.init_backbone, head="classes")
        builder_args = {
            "input_shape": [None, None, 1],
            "backbone": args.init_backbone,
            "head": "classes",
            "backbone_weights": None,
        }
        start_from = f"unet({args.init_backbone}, ImageNet weights)"
    _log(f"starting from {start_from}: {model.count_params():,} parameters")
    caches = {name: PhotoCache(Path(args.cache_dir) / name) for name, _, _ in BUCKETS}
    for c in caches.values():
        _log(repr(c))
    step0 = int(campaign.get("steps", 0))
    seen0 = {int(k): int(v) for k, v in campaign.get("photos_seen", {}).items()}
    hours0 = float(campaign.get("train_wall_hours", 0.0))
    cpu0 = float(campaign.get("train_cpu_hours", 0.0))
    stretch = int(campaign.get("stretches", 0)) + 1
    # Keras' enqueuer lists (and would shuffle) every index of an epoch: a bounded epoch,
    # fit(shuffle=False) (the batches are random already; batch i is a function of step i).
    data = CachedCrops(
        _mix(args.mix, caches, args.batch_scale),
        steps=200_000,
        seed=args.seed,
        start=step0,
        workers=2,
        use_multiprocessing=False,
        max_queue_size=6,
    )
    head = color_classes.class_head(model)
    lam = rebalancing_lambda(campaign, args.lam, args.refit_lambda)
    if lam is not None:  # rebalancing fitted on the campaign's own photos
        fit_data = CachedCrops(
            [(caches[n], 64, len(caches[n]), 32) for n in caches], steps=120, seed=args.seed + 1
        )
        weights = color_classes.fit_class_weights(fit_data, head.bins, lam=lam, max_batches=120)
        color_classes.set_class_weights(model, weights)
        _log(
            f"class weights fitted on 120 batches, lambda {lam}: "
            f"min {weights.min():.2f} max {weights.max():.2f}"
        )
    lam_now = lam if lam is not None else float(campaign.get("lambda", args.lam))
    weights = np.asarray(
        head.class_weights.numpy()
        if hasattr(head.class_weights, "numpy")
        else keras.ops.convert_to_numpy(head.class_weights)
    )
    loss = color_classes.ColorClassLoss(head.bins, weights)
    set_backbone_trainable(model, True)  # (its batch norms stay frozen)
    warm = max(1, int(args.warmup_steps))

    def lr(step):
        return args.lr * min(1.0, (float(step) + 1.0) / warm)

    budget_s = args.hours * 3600.0
    cpu_budget_s = args.cpu_hours * 3600.0 if args.cpu_hours else float("inf")
    every_s = args.checkpoint_minutes * 60.0

    state = {
        "stop": None,
        "t0": time.perf_counter(),
        "cpu0": time.process_time(),
        "last": time.perf_counter(),
        "losses": [],
        "step": step0,
        "saved_step": step0,
        "seen": {},
    }

    def on_signal(signum, _frame):
        state["stop"] = signal.Signals(signum).name
        model.stop_training = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def checkpoint(reason):
        wall = time.perf_counter() - state["t0"]
        cpu = time.process_time() - state["cpu0"]
        seen = dict(seen0)
        for size, n in state["seen"].items():
            seen[size] = seen.get(size, 0) + n
        entry = {
            "checkpoint": len(ledger) + 1,
            "stretch": stretch,
            "commit": _commit(),
            "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "steps": state["step"],
            "photos_seen": int(sum(seen.values())),
            "photos_seen_by_size": {str(k): int(v) for k, v in sorted(seen.items())},
            "train_wall_hours": round(hours0 + wall / 3600.0, 4),
            "train_cpu_hours": round(cpu0 + cpu / 3600.0, 4),
            "machine": args.machine,
            "device": str(kcolor.device()),
            "mixed_precision": args.mixed_precision,
            "lr": args.lr,
            "batch_scale": args.batch_scale,
            "lambda": lam_now,
            "train_loss": float(np.mean(state["losses"])) if state["losses"] else None,
            "reason": reason,
        }
        campaign_now = {
            "steps": state["step"],
            "photos_seen": entry["photos_seen_by_size"],
            "train_wall_hours": entry["train_wall_hours"],
            "train_cpu_hours": entry["train_cpu_hours"],
            "stretches": stretch,
            "mix": args.mix,
            "lambda": lam_now,
            "seed": args.seed,
            "ema": args.ema,
        }
        ema.swap()
        try:
            tmp = ckpt.with_name(ckpt.name + ".saving")
            presets.save_to_preset(
                model,
                tmp,
                builder="unet",
                args=builder_args,
                input_size=None,
                multiple=32,
                temperature=TEMPERATURE,
                prior_correction=PRIOR_CORRECTION,
                metadata={
                    "description": "the default colouriser's training campaign: "
                    "checkpoint (EMA of the weights), see ledger",
                    "campaign": campaign_now,
                    "ledger": ledger + [entry],
                },
                float16=True,
                export=False,  # checkpoints are committed: keep them ~9 MB, no model.onnx
                overwrite=True,
            )
        finally:
            ema.swap()
        if not args.no_eval and reason != "signal":
            t = time.perf_counter()
            try:
                entry["val"] = score_preset(tmp, args.val, limit=args.eval_photos or None)
                entry["val_seconds"] = round(time.perf_counter() - t, 1)
            except Exception as e:  # scoring must never cost the checkpoint
                entry["val_error"] = f"{type(e).__name__}: {e}"
            meta_now = _read_meta(tmp)
            meta_now["ledger"] = ledger + [entry]
            (tmp / "metadata.json").write_text(json.dumps(meta_now, indent=2))
        old = ckpt.with_name(ckpt.name + ".old")
        if ckpt.exists():
            if old.exists():
                import shutil

                shutil.rmtree(old)
            os.replace(ckpt, old)
        os.replace(tmp, ckpt)
        ledger.append(entry)
        state["losses"].clear()
        state["saved_step"] = state["step"]
        v = entry.get("val", {}).get("model", {})
        _log(
            f"checkpoint {entry['checkpoint']} ({reason}): step {state['step']}, "
            f"{entry['photos_seen']:,} photos, {entry['train_wall_hours']:.2f} h; "
            + ", ".join(
                f"{k} {v[k]:.3f}"
                for k in (
                    "psnr",
                    "delta_colorfulness",
                    "chroma_ratio",
                    "semantic_agreement",
                    "vivid_recall",
                )
                if k in v
            )
        )

    class Campaign(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            self.model.optimizer.learning_rate.assign(lr(state["step"] - step0))

        def on_train_batch_end(self, batch, logs=None):
            _, size, _, n = data.sources[data.source_of(state["step"])]
            state["seen"][size] = state["seen"].get(size, 0) + n
            state["step"] += 1
            ema.update()
            if logs and "loss" in logs:
                state["losses"].append(float(logs["loss"]))
            now = time.perf_counter()
            if (state["step"] - step0) % 50 == 0:
                _log(
                    f"step {state['step']}: loss {np.mean(state['losses'][-50:]):.4f}, "
                    f"{(now - state['t0']) / 3600:.2f} h"
                )
            if now - state["t0"] >= budget_s or (
                time.process_time() - state["cpu0"] >= cpu_budget_s
            ):
                self.model.stop_training = True
                return
            if now - state["last"] >= every_s:
                checkpoint("interval")
                state["last"] = time.perf_counter()

    model.compile(keras.optimizers.Adam(learning_rate=args.lr), loss=loss)
    ema = _EMA(model, args.ema)
    _log(
        f"stretch {stretch}: step {step0}, {sum(seen0.values()):,} photos seen before, "
        f"{hours0:.2f} h before; training {args.hours} h, checkpoint every "
        f"{args.checkpoint_minutes} min"
    )
    try:
        model.fit(data, epochs=1, callbacks=[Campaign()], verbose=0, shuffle=False)
    finally:
        if state["step"] > state["saved_step"] or state["stop"]:
            checkpoint("signal" if state["stop"] else "end")
    _log(
        f"stretch {stretch} done at step {state['step']}"
        + (f" (stopped by {state['stop']})" if state["stop"] else "")
    )
    return 0


def _baselines_file(campaign) -> Path:
    """Where the scores of other presets on the same validation photos are kept."""
    return Path(campaign).parent / "baselines.json"


def cmd_score(args) -> int:
    """Score the checkpoint again (into the ledger's last entry), or ``--baseline`` presets
    (into ``baselines.json`` beside the checkpoint folder)."""
    if args.baseline:
        path = _baselines_file(args.campaign)
        try:
            table = json.loads(path.read_text())
        except (OSError, ValueError):
            table = {}
        for name in args.baseline:
            table[name] = {
                "commit": _commit(),
                **score_preset(name, args.val, limit=args.eval_photos),
            }
            path.write_text(json.dumps(table, indent=2))
            print(name, json.dumps(table[name]["model"]))
        return 0
    ckpt = Path(args.campaign)
    meta = _read_meta(ckpt)
    result = score_preset(ckpt, args.val, limit=args.eval_photos)
    meta.setdefault("ledger", [{}])[-1]["val"] = result
    (ckpt / "metadata.json").write_text(json.dumps(meta, indent=2))
    print(json.dumps(result, indent=1))
    return 0


def cmd_ledger(args) -> int:
    import pandas as pd

    meta = _read_meta(Path(args.campaign))
    rows = []
    for e in meta.get("ledger", []):
        v = e.get("val", {}).get("model", {})
        rows.append(
            {
                "ckpt": e.get("checkpoint"),
                "commit": e.get("commit"),
                "photos": e.get("photos_seen"),
                "wall_h": e.get("train_wall_hours"),
                "cpu_h": e.get("train_cpu_hours"),
                "loss": e.get("train_loss"),
                **{
                    k: v.get(k)
                    for k in (
                        "psnr",
                        "delta_colorfulness",
                        "chroma_ratio",
                        "semantic_agreement",
                        "vivid_recall",
                        "frechet_distance",
                    )
                },
            }
        )
    table = pd.DataFrame(rows)
    if args.markdown:
        from kcolor.formatting import format_table

        shown = format_table(table).fillna("")
        print("| " + " | ".join(map(str, shown.columns)) + " |")
        print("|" + "|".join("---" for _ in shown.columns) + "|")
        for row in shown.itertuples(index=False):
            print("| " + " | ".join(str(v) for v in row) + " |")
    else:
        print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    return 0


_PLOTTED = (
    ("psnr", "PSNR (dB)"),
    ("vivid_recall", "vivid recall"),
    ("chroma_ratio", "chroma ratio"),
    ("delta_colorfulness", "ΔCF (lower is better)"),
    ("semantic_agreement", "semantic agreement (Lite1)"),
    ("frechet_distance", "Fréchet distance, Lite1 features"),
)


def cmd_plot(args) -> int:
    """Quality against compute: each metric of the ledger against photos seen and hours."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    meta = _read_meta(Path(args.campaign))
    entries = [e for e in meta.get("ledger", []) if "val" in e]
    if not entries:
        _log("no scored checkpoint in the ledger yet")
        return 1
    try:
        baselines = json.loads(_baselines_file(args.campaign).read_text())
    except (OSError, ValueError):
        baselines = {}
    fig, axes = plt.subplots(2, 3, figsize=(13, 7), constrained_layout=True)
    x = [e["photos_seen"] / 1000 for e in entries]
    n = entries[-1]["val"].get("photos")
    for ax, (key, label) in zip(axes.flat, _PLOTTED, strict=True):
        y = [e["val"]["model"].get(key, float("nan")) for e in entries]
        ax.plot(x, y, "o-", color="C0", label="campaign checkpoints")
        grey = entries[-1]["val"].get("grey", {}).get(key)
        if grey is not None:
            ax.axhline(grey, color="0.5", ls=":", label="grey photo")
        for i, (name, b) in enumerate(baselines.items()):
            if key in b.get("model", {}):
                ax.axhline(b["model"][key], color=f"C{i + 1}", ls="--", label=name)
        ax.set_title(label)
        ax.set_xlabel("photos seen (thousands)")
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=8)
    hours = entries[-1]["train_wall_hours"]
    fig.suptitle(
        f"kcolor training campaign: validation ({n} photos, 256 px) against compute; "
        f"{entries[-1]['photos_seen']:,} photos, {hours:.1f} h on a 2-core CPU so far"
    )
    fig.savefig(args.output, dpi=110)
    _log(f"wrote {args.output}")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("data", help="scan, clean and split the photos into train/val manifests")
    d.add_argument("--photos", required=True, help="the photos root (../shared/data/photos)")
    d.add_argument("--out", required=True, help="folder for all.csv, train.csv, val.csv")
    d.add_argument("--val-min-side", type=int, default=192)
    d.add_argument("--workers", type=int, default=2)
    a = sub.add_parser("prepare", help="decode the training photos into memmap caches")
    a.add_argument("--train", required=True, metavar="CSV")
    a.add_argument("--cache-dir", required=True)
    a.add_argument("--workers", type=int, default=2)
    t = sub.add_parser("train", help="one stretch of training from the checkpoint")
    t.add_argument("--campaign", required=True, help="the checkpoint preset folder")
    t.add_argument("--cache-dir", required=True)
    t.add_argument("--val", required=True, metavar="CSV", help="validation manifest")
    t.add_argument("--init", help="preset to start from when there is no checkpoint yet")
    t.add_argument(
        "--init-backbone",
        help="with no checkpoint and no --init: start from the U-Net on this ImageNet "
        "backbone (efficientnet_lite0/1/2), e.g. for an arm that compares backbones",
    )
    t.add_argument("--hours", type=float, default=2.5)
    t.add_argument(
        "--cpu-hours",
        type=float,
        default=None,
        help="also stop once the process has used this much CPU time (arms that run "
        "side by side then get the same compute)",
    )
    t.add_argument("--checkpoint-minutes", type=float, default=30.0)
    t.add_argument("--eval-photos", type=int, default=0, help="0: all of --val")
    t.add_argument("--no-eval", action="store_true", help="checkpoints without scores")
    t.add_argument(
        "--mixed-precision",
        choices=("none", "bf16"),
        default="none",
        help="bf16: Keras' mixed_bfloat16 policy (for a GPU)",
    )
    t.add_argument(
        "--batch-scale",
        type=int,
        default=1,
        help="multiply every batch size of --mix (e.g. 4 on a GPU: batch 64)",
    )
    t.add_argument("--mix", default=DEFAULT_MIX)
    t.add_argument("--lr", type=float, default=1e-4)
    t.add_argument("--warmup-steps", type=int, default=100)
    t.add_argument("--lam", type=float, default=0.5, help="rebalancing lambda (first stretch)")
    t.add_argument(
        "--refit-lambda",
        type=float,
        default=None,
        help="refit the class weights at this lambda when it differs from the "
        "checkpoint's (recorded in the ledger from then on)",
    )
    t.add_argument("--ema", type=float, default=0.999)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--machine", default="2-core CPU")
    s = sub.add_parser("score", help="score the checkpoint on the validation photos again")
    s.add_argument("--campaign", required=True)
    s.add_argument("--val", required=True)
    s.add_argument("--eval-photos", type=int, default=0)
    s.add_argument(
        "--baseline",
        nargs="+",
        help="score these presets instead (e.g. the old "
        "default) into baselines.json beside the checkpoint folder",
    )
    lg = sub.add_parser("ledger", help="print the ledger")
    lg.add_argument("--campaign", required=True)
    lg.add_argument("--markdown", action="store_true", help="a Markdown table (for docs/)")
    pl = sub.add_parser("plot", help="plot quality against compute from the ledger")
    pl.add_argument("--campaign", required=True)
    pl.add_argument("-o", "--output", default="docs/campaign_quality.png")
    args = p.parse_args(argv)
    return {
        "data": cmd_data,
        "prepare": cmd_prepare,
        "train": cmd_train,
        "score": cmd_score,
        "ledger": cmd_ledger,
        "plot": cmd_plot,
    }[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
