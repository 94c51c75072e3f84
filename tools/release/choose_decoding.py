"""Choose a colour-class preset's inference size and temperature on validation photos.

A colour-class U-Net is trained at a few crop sizes and decoded by the annealed mean; how
large the network runs at inference and at which temperature are choices, made here on
**validation** photos only (never on ``bsds500/test``). Every (input size, temperature)
pair colours the same photos through :func:`kcolor.evaluation.evaluate` (with the
semantic judge and the Fréchet distance); the decoding that meets the most of issue 26's
targets wins, ties broken by PSNR:

* PSNR >= the grey photo's + 1.0 dB
* ΔCF <= 6
* chroma ratio in [0.85, 1.05]
* semantic agreement >= the grey photo's + 0.05
* vivid recall >= 0.40

The network runs once per photo and size: every (temperature, alpha) of that size decodes
the same cached class logits, so a sweep costs little more than one evaluation per size.
``--compare`` adds other systems (the shipped default, say) to the same table.

With ``--write`` the choice goes into the preset's ``config.json`` (``input_size``,
``temperature``) and the whole table into ``metadata.json`` (``decoding_choice``).
``--summaries`` chooses from sweeps already run (their ``summary.csv`` files, e.g. two
sweeps over different alphas), without colouring the photos again.

Usage::

    python tools/release/choose_decoding.py runs/unet-lite0-mixed runs/val-photos \\
        --sizes 128 192 256 --temperatures 0.2 0.38 0.6 -o runs/choose --write
        --compare unet-lite0-photos
    python tools/release/choose_decoding.py runs/ckpt26 runs/val-photos --write \\
        --summaries runs/sweep-a/summary.csv runs/sweep-b/summary.csv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import kcolor  # noqa: F401  (sets the Keras backend before keras is imported)

#: How many of issue 26's validation targets :func:`targets_met` counts.
TARGETS = 5


def targets_met(row, grey) -> int:
    return (
        int(row["psnr"] >= grey["psnr"] + 1.0)
        + int(row["delta_colorfulness"] <= 6)
        + int(0.85 <= row["chroma_ratio"] <= 1.05)
        + int(row["semantic_agreement"] >= grey["semantic_agreement"] + 0.05)
        + int(row.get("vivid_recall", 0.0) >= 0.40)
    )


def shared_logits(colorizers) -> None:
    """Let colorizers of one preset and input size share the network's class logits.

    Each colorizer's ``_predict`` is replaced by one that runs the class model once per
    distinct input batch (the most recent few are kept) and decodes the cached logits with
    the colorizer's own :class:`AnnealedMeanDecode` layer: the same layers and weights as
    its ab model, so the output equals the uncached path.
    """
    import hashlib

    import torch

    from kcolor.models.color_classes.decoding import AnnealedMeanDecode

    cache: dict = {}
    for c in colorizers:
        if c.class_model is None or c.fusion:
            continue
        decode = [layer for layer in c.model.layers if isinstance(layer, AnnealedMeanDecode)]
        if len(decode) != 1:
            continue

        def predict(x, model=None, forward=None, c=c, decode=decode[0]):
            if model is not None and model is not c.model:  # another vividness: uncached
                return type(c)._predict(c, x, model, forward)
            key = hashlib.sha1(x.detach().cpu().numpy().tobytes()).hexdigest()
            if key not in cache:
                while len(cache) >= 4:
                    cache.pop(next(iter(cache)))
                cache[key] = c.class_model(x, training=False)
            y = decode(cache[key])
            if not isinstance(y, torch.Tensor):
                y = torch.as_tensor(np.asarray(y))
            return y.float()

        c._predict = predict


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("preset", help="the preset or run folder")
    p.add_argument("data", help="validation photos (a folder)")
    p.add_argument("--sizes", type=int, nargs="+", default=[128, 192, 256])
    p.add_argument("--temperatures", type=float, nargs="+", default=[0.2, 0.38, 0.6])
    p.add_argument(
        "--priors", type=float, nargs="+", default=[0.0], help="prior corrections (alpha) to try"
    )
    p.add_argument("--limit", type=int, default=None)
    p.add_argument(
        "--compare", nargs="*", default=[], help="other presets to score beside (not chosen)"
    )
    p.add_argument("-o", "--output", help="folder for the evaluation files")
    p.add_argument("--write", action="store_true", help="record the choice in the preset")
    p.add_argument(
        "--summaries",
        nargs="+",
        metavar="CSV",
        help="choose from these sweeps' summary.csv files instead of colouring again",
    )
    args = p.parse_args(argv)
    if args.summaries:
        summary = read_summaries(args.summaries)
        compared = [name for name in summary.index if str(name).startswith("compare: ")]
    elif not args.output:
        p.error("-o/--output is required (unless --summaries)")
    else:
        summary, compared = sweep(args)
    return choose(summary, compared, args, argv)


def read_summaries(paths):
    """Sweeps' ``summary.csv`` tables as one, indexed by system; one grey row kept.

    Example:
        >>> import os, tempfile
        >>> d = tempfile.mkdtemp()
        >>> for name, psnr in (("a", 23.0), ("b", 22.5)):
        ...     with open(os.path.join(d, name), "w") as f:
        ...         _ = f.write(f"model,psnr\\n128px T=0.5 a={name},{psnr}\\ngrey baseline,21.9\\n")
        >>> read_summaries([os.path.join(d, "a"), os.path.join(d, "b")])["psnr"].to_dict()
        {'128px T=0.5 a=a': 23.0, 'grey baseline': 21.9, '128px T=0.5 a=b': 22.5}
    """
    import pandas as pd

    tables = [pd.read_csv(path, index_col=0) for path in paths]
    table = pd.concat(tables)
    return table[~table.index.duplicated(keep="first")]


def sweep(args):
    """Colour the validation photos with every decoding; the evaluation's summary table."""
    from kcolor.evaluation import evaluate
    from kcolor.inference.colorizer import Colorizer

    systems = {}
    for size in args.sizes:
        of_size = {
            f"{size}px T={t:g} a={a:g}": Colorizer.from_preset(
                args.preset, input_size=size, temperature=t, prior_correction=a
            )
            for t in args.temperatures
            for a in args.priors
        }
        shared_logits(list(of_size.values()))
        systems.update(of_size)
    compared = {f"compare: {name}": Colorizer.from_preset(name) for name in args.compare}
    summary = evaluate(
        args.data,
        {**systems, **compared},
        size=256,
        out_dir=args.output,
        limit=args.limit,
        semantic=True,
    )
    return summary, list(compared)


def choose(summary, compared, args, argv) -> int:
    """Print the table, pick the decoding (most targets, then PSNR), and write it if asked."""
    from kcolor import presets
    from kcolor.evaluation import GREY

    grey = summary.loc[GREY]
    if compared:
        print(summary.loc[[GREY, *compared]].round(3).to_string())
    table = summary.drop(index=[GREY, *compared]).copy()
    table["targets_met"] = [targets_met(row, grey) for _, row in table.iterrows()]
    table = table.sort_values(["targets_met", "psnr"], ascending=False)
    print(table.round(3).to_string())
    print(f"grey: psnr {grey['psnr']:.2f}, agreement {grey['semantic_agreement']:.3f}")
    best = table.index[0]
    size = int(best.split("px")[0])
    temperature = float(best.split("T=")[1].split()[0])
    prior = float(best.split("a=")[1])
    print(f"chosen: {best} ({table.loc[best, 'targets_met']} of {TARGETS} targets on {args.data})")
    if args.write:
        folder = Path(args.preset)
        config = presets.read_config(folder)
        config["input_size"], config["temperature"] = size, temperature
        config["prior_correction"] = prior
        presets.write_json(folder / presets.CONFIG, config)
        meta = presets.read_metadata(folder)
        meta["decoding_choice"] = {
            "data": str(args.data),
            "chosen": {"input_size": size, "temperature": temperature, "prior_correction": prior},
            "rule": "most of issue 26's targets met, then PSNR",
            "command": "python tools/release/choose_decoding.py "
            + " ".join(sys.argv[1:] if argv is None else argv),
            "grey": {k: float(v) for k, v in grey.items()},
            "table": {
                name: {k: float(v) for k, v in row.items()} for name, row in table.iterrows()
            },
        }
        presets.write_json(folder / presets.METADATA, meta)
        print(
            f"{folder}: input_size {size}, temperature {temperature:g}, "
            f"prior_correction {prior:g} written"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
