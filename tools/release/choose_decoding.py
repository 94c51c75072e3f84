"""Choose a colour-class preset's inference size and temperature on validation photos.

A colour-class U-Net is trained at a few crop sizes and decoded by the annealed mean; how
large the network runs at inference and at which temperature are choices, made here on
**validation** photos only (never on ``bsds500/test``). Every (input size, temperature)
pair colours the same photos through :func:`kcolor.evaluation.evaluate` (with the
semantic judge); the pair that meets the most of issue 17's targets wins, ties broken by
PSNR:

* PSNR >= the grey photo's + 0.5 dB
* ΔCF <= 8
* chroma ratio in [0.7, 1.1]
* semantic agreement >= the grey photo's + 0.03

With ``--write`` the choice goes into the preset's ``config.json`` (``input_size``,
``temperature``) and the whole table into ``metadata.json`` (``decoding_choice``).

Usage::

    python tools/release/choose_decoding.py runs/unet-lite0-mixed runs/val-photos \\
        --sizes 128 192 256 --temperatures 0.2 0.38 0.6 -o runs/choose --write
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import kcolor  # noqa: F401  (sets the Keras backend before keras is imported)


def targets_met(row, grey) -> int:
    return (
        int(row["psnr"] >= grey["psnr"] + 0.5)
        + int(row["delta_colorfulness"] <= 8)
        + int(0.7 <= row["chroma_ratio"] <= 1.1)
        + int(row["semantic_agreement"] >= grey["semantic_agreement"] + 0.03)
    )


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
    p.add_argument("-o", "--output", required=True, help="folder for the evaluation files")
    p.add_argument("--write", action="store_true", help="record the choice in the preset")
    args = p.parse_args(argv)

    from kcolor import presets
    from kcolor.evaluation import GREY, evaluate
    from kcolor.inference.colorizer import Colorizer

    systems = {
        f"{size}px T={t:g} a={a:g}": Colorizer.from_preset(
            args.preset, input_size=size, temperature=t, prior_correction=a
        )
        for size in args.sizes
        for t in args.temperatures
        for a in args.priors
    }
    summary = evaluate(
        args.data, systems, size=256, out_dir=args.output, limit=args.limit, semantic=True
    )
    grey = summary.loc[GREY]
    table = summary.drop(index=GREY).copy()
    table["targets_met"] = [targets_met(row, grey) for _, row in table.iterrows()]
    table = table.sort_values(["targets_met", "psnr"], ascending=False)
    print(table.round(3).to_string())
    print(f"grey: psnr {grey['psnr']:.2f}, agreement {grey['semantic_agreement']:.3f}")
    best = table.index[0]
    size = int(best.split("px")[0])
    temperature = float(best.split("T=")[1].split()[0])
    prior = float(best.split("a=")[1])
    print(f"chosen: {best} ({table.loc[best, 'targets_met']} of 4 targets on {args.data})")
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
            "rule": "most of issue 17's targets met, then PSNR",
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
