"""The shipped presets on the article's test photos, side by side (and measured).

The article ends by colouring photos the networks never saw. This example loads every
preset that ships with kcolor (:mod:`kcolor.presets`: the alpha, beta and full versions,
trained by examples 04-06) through :meth:`kcolor.Colorizer.from_preset` and colours the
article's test photos (``../shared/data/article/test``), writing one comparison grid
(:func:`kcolor.report.compare_grid`): grey | each preset | truth.

``--evaluate DIR`` measures presets on a folder of colour photos (grey ones dropped, each
resized to fill ``--eval-size`` and centre-cropped): PSNR, SSIM, AuC, colourfulness, ΔCF
and chroma ratio (:mod:`kcolor.metrics`) against the grey baseline (the photo's own L,
no colour), printed as a table and written to ``metrics.json`` / ``metrics.csv``.

Usage:
    python examples/07_pretrained.py                              # grid of the article's test photos
    python examples/07_pretrained.py --docs                       # ... and docs/article_test_grid.png
    python examples/07_pretrained.py --evaluate ../shared/data/photos/bsds500/test \\
        --presets beta-photos fusion-lite0-photos
    python examples/07_pretrained.py --smoke                      # seconds, no shared data
"""

from __future__ import annotations

import argparse
import io as _io
import json
import os
import time
from pathlib import Path

import numpy as np
from _load import load_example  # examples/_load.py, beside this script

import kcolor
from kcolor import io, metrics, presets
from kcolor import report as reports
from kcolor.datasets.augment import resize_fill
from kcolor.datasets.folder import is_grey
from kcolor.formatting import format_table, plural

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("KCOLOR_SHARED", REPO.parent / "shared" / "data"))
DOCS_GRID = REPO / "docs" / "article_test_grid.png"
DOCS_EVAL_GRID = REPO / "docs" / "eval_grid.png"
EVAL_GRID_ROWS = 6
MAX_DOCS_BYTES = 400_000


beta_example = load_example("05_beta.py")  # the smoke photos, grey_of
grey_of = beta_example.grey_of


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


def smoke_photos(n=3, size=64):
    """A few of scikit-image's colour photos, resized to ``size`` (no shared data needed)."""
    from skimage import data

    names = beta_example.SMOKE_PHOTOS[:n]
    return [resize_fill(getattr(data, k)()[..., :3], size) for k in names], list(names)


def load_folder(folder, size=None, drop_grey=False):
    """(photos, names, number of grey photos dropped) of a folder; resized to fill ``size``."""
    photos, names, grey = [], [], 0
    for path, rgb in io.iter_images(folder):
        if drop_grey and is_grey(rgb):
            grey += 1
            continue
        photos.append(resize_fill(rgb, size) if size else rgb)
        names.append(Path(path).stem)
    if not photos:
        raise SystemExit(f"{folder}: no colour photos")
    return photos, names, grey


def colorizers(names, smoke=False):
    """name -> Colorizer for each requested preset that is available."""
    out = {}
    for name in names:
        if not presets.is_installed(name):
            print(f"skipping preset {name!r}: no weights installed")
            continue
        out[name] = kcolor.Colorizer.from_preset(name)
    if not out and smoke:  # a fresh checkout without weights: still run end to end
        out["beta (untrained)"] = kcolor.Colorizer(
            kcolor.models.beta((None, None, 1)), input_size=32
        )
    if not out:
        raise SystemExit("no preset has weights installed: nothing to show")
    return out


def save_small_png(fig, path: Path, max_bytes: int) -> int:
    """Save ``fig`` as PNG; if it is over ``max_bytes``, quantise to a 256-colour palette."""
    from PIL import Image

    buf = _io.BytesIO()
    fig.savefig(buf, format="png", dpi=72)
    data = buf.getvalue()
    if len(data) > max_bytes:
        image = Image.open(_io.BytesIO(data)).convert("RGB").quantize(256, dither=Image.NONE)
        buf = _io.BytesIO()
        image.save(buf, format="png", optimize=True)
        data = buf.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return len(data)


def save_grid(columns, names, title, path: Path, docs_path: Path | None = None) -> Path:
    """``reports.compare_grid`` of ``columns`` saved to ``path`` (and a small ``docs_path`` copy)."""
    fig = reports.compare_grid(columns, row_titles=names, cell_size=1.6, title=title)
    size = save_small_png(fig, path, 10**9)
    print(f"grid: {path} ({size / 1000:.0f} KB)")
    if docs_path is not None:
        size = save_small_png(fig, docs_path, MAX_DOCS_BYTES)
        print(f"docs copy: {docs_path} ({size / 1000:.0f} KB)")
    return path


def grid(photos, names, cols, out: Path, docs: bool):
    columns = {"grey": [grey_of(p) for p in photos]}
    for name, colorizer in cols.items():
        columns[name] = colorizer.colorize(list(photos))
    columns["truth"] = photos
    return save_grid(
        columns,
        names,
        "kcolor presets on the article's test photos",
        out / "test_grid.png",
        DOCS_GRID if docs else None,
    )


def evaluate(folder, cols, size, out: Path, smoke=False, docs=False):
    """Measure each colouriser and the grey baseline on the colour photos of ``folder``.

    Also saves ``eval_grid.png``: the first photos (spread over the folder's sorted order)
    as grey | each colouriser | truth (with ``docs``, a copy in ``docs/eval_grid.png``).
    """
    if smoke and folder is None:
        truths, names = smoke_photos(4, size)
        grey = 0
    else:
        truths, names, grey = load_folder(folder, size, drop_grey=True)
    rows = sorted(
        {
            round(i * (len(truths) - 1) / max(1, EVAL_GRID_ROWS - 1))
            for i in range(min(EVAL_GRID_ROWS, len(truths)))
        }
    )
    greys = [grey_of(t) for t in truths]
    table = {"grey baseline": evaluate_set(greys, truths)}
    columns = {"grey": [greys[i] for i in rows]}
    seconds = {}
    for name, colorizer in cols.items():
        start = time.perf_counter()
        preds = colorizer.colorize(list(truths))
        seconds[name] = time.perf_counter() - start
        table[name] = evaluate_set(preds, truths)
        columns[name] = [preds[i] for i in rows]
    columns["truth"] = [truths[i] for i in rows]
    where = folder or "scikit-image photos"
    title = "kcolor presets on " + "/".join(Path(str(where)).parts[-2:])
    row_names = [names[i][:14] for i in rows]
    save_grid(columns, row_names, title, out / "eval_grid.png", DOCS_EVAL_GRID if docs else None)
    (out / "metrics.json").write_text(json.dumps(table, indent=2))
    import pandas as pd

    frame = pd.DataFrame(table).T.drop(columns=["colorfulness_truth"])
    frame.to_csv(out / "metrics.csv")
    reports.metrics_table(frame.drop(columns=["photos"])).savefig(out / "metrics.png", dpi=80)
    print(f"{plural(len(truths), 'colour photo')} of {where} ({grey} grey dropped), {size}x{size}:")
    # Every number through kcolor.formatting (the decimals of its metric), as in example 05.
    print(format_table(frame).to_string())
    for name, s in seconds.items():
        print(f"  {name}: coloured in {s:.1f} s")
    return table


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--presets",
        nargs="+",
        default=None,
        help="presets to show (default: every registered one with weights)",
    )
    parser.add_argument(
        "--photos",
        default=str(SHARED / "article" / "test"),
        help="folder of test photos (default: the article's)",
    )
    parser.add_argument("--out", default="runs/07_pretrained", help="output folder")
    parser.add_argument(
        "--docs",
        action="store_true",
        help=f"also write {DOCS_GRID.relative_to(REPO)} (and, with --evaluate, "
        f"{DOCS_EVAL_GRID.relative_to(REPO)})",
    )
    parser.add_argument(
        "--evaluate", metavar="DIR", help="measure the presets on this photo folder"
    )
    parser.add_argument("--eval-size", type=int, default=256, help="side photos are measured at")
    parser.add_argument("--no-grid", action="store_true", help="skip the test-photo grid")
    parser.add_argument("--smoke", action="store_true", help="seconds: scikit-image photos, 64 px")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cols = colorizers(args.presets or list(presets.list_presets()), smoke=args.smoke)
    if not args.no_grid:
        if args.smoke:
            photos, names = smoke_photos()
        else:
            photos, names, _ = load_folder(args.photos)
        grid(photos, names, cols, out, args.docs and not args.smoke)
    if args.evaluate or args.smoke:
        size = 64 if args.smoke else args.eval_size
        return evaluate(args.evaluate, cols, size, out, args.smoke, args.docs and not args.smoke)
    return None


if __name__ == "__main__":
    main()
