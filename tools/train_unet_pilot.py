"""Score ``kcolor train`` runs of the U-Net on their own held-out split; sweep the temperature.

The runs themselves are trained with ``kcolor train`` (see the README); this script
re-creates each run's held-out photos from its ``train_config.json`` (same seed, same
split) and reports PSNR, SSIM, AuC, colourfulness, ΔCF and chroma ratio
(:func:`kcolor.training.held_out_scores`), for a colour-class model at every
``--temperature``, next to the grey photo's.

Usage:
    python tools/train_unet_pilot.py RUN_DIR [RUN_DIR ...] --temperature 0.2 0.38 0.6 1.0
"""

from __future__ import annotations

import argparse
import json
import sys

import kcolor  # noqa: F401  (the torch backend first)
from kcolor import loading, training
from kcolor.models import color_classes


def score_run(folder, temperatures=(color_classes.DEFAULT_TEMPERATURE,), val_max=None):
    """``[{run, temperature, model: {...}, grey: {...}, photos}]`` for one run folder."""
    config = training.TrainConfig.from_json(f"{folder}/train_config.json")
    if val_max:
        config.val_max = int(val_max)
    _, val_paths, _ = training.config_photos(config)
    _, val = training.make_datasets(config, val_paths[:1], val_paths)
    model = loading.load(str(folder)).model
    rows = []
    for t in temperatures if color_classes.is_class_model(model) else (None,):
        ab_model = color_classes.to_ab_model(model, t) if t is not None else model
        scores = training.held_out_scores(ab_model, val)
        rows.append({"run": str(folder), "temperature": t, **scores})
    return rows


def main(argv=None) -> int:
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


if __name__ == "__main__":
    sys.exit(main())
