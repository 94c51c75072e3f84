"""The HTML report of ``kcolor data clean``: what the rules dropped, so a person can check them.

One self-contained page (figures embedded as PNG): the table of rules, histograms of the
shorter side, file size, chroma and colourfulness (kept and dropped stacked), and a
contact sheet per rule of the photos it dropped: for ``grey`` the most colourful ones
first (those nearest the threshold), beside the least colourful photos kept; for
``duplicates`` each photo next to the original it copies, least similar pairs first;
for ``small`` the smallest first; for ``errors`` a table of files and reasons.
"""

from __future__ import annotations

import io as pyio
import os
from pathlib import Path

import numpy as np

from kcolor import io
from kcolor.curation.cleaning import RULES
from kcolor.curation.duplicates import _popcount, hash_values
from kcolor.errors import ImageReadError
from kcolor.report.html import escape, img_tag, page

__all__ = ["contact_sheet", "histograms", "write_report"]


def _png(fig) -> bytes:
    """The figure as PNG bytes (fast compression: the report is for looking, not archiving)."""
    import matplotlib.pyplot as plt

    buf = pyio.BytesIO()
    fig.savefig(buf, format="png", dpi=100, pil_kwargs={"compress_level": 1})
    plt.close(fig)
    return buf.getvalue()


def _thumb(path, side=96):
    """The photo fitted into a white ``side`` x ``side`` square (small photos enlarged)."""
    from PIL import Image

    try:
        rgb = io.load_image(path, draft_size=side)
    except ImageReadError:
        return np.full((side, side, 3), 200, np.uint8)
    im = Image.fromarray(rgb)
    scale = side / max(im.size)
    im = im.resize(
        (max(1, round(im.width * scale)), max(1, round(im.height * scale))),
        Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.NEAREST,
    )
    canvas = Image.new("RGB", (side, side), (255, 255, 255))
    canvas.paste(im, ((side - im.width) // 2, (side - im.height) // 2))
    return np.asarray(canvas)


def histograms(kept, dropped):
    """A matplotlib figure: shorter side, bytes, chroma and colourfulness; kept vs dropped."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(10, 6.5))
    specs = [
        ("shorter side (pixels)", lambda d: np.minimum(d["width"], d["height"]), True),
        ("file size (bytes)", lambda d: d["bytes"], True),
        ("chroma (99th percentile, thumbnail)", lambda d: d["chroma"], False),
        ("colourfulness (Hasler & Suesstrunk)", lambda d: d["colourfulness"], False),
    ]
    for ax, (title, get, log) in zip(axes.ravel(), specs, strict=False):
        series = []
        for frame in (kept, dropped):
            try:
                v = np.asarray(get(frame), dtype=float)
            except KeyError:
                v = np.zeros(0)
            series.append(v[np.isfinite(v)] if v.size else v)
        both = np.concatenate(series)
        if not both.size:
            ax.set_axis_off()
            continue
        lo, hi = float(both.min()), float(both.max())
        if log and lo > 0:
            bins = np.geomspace(lo, max(hi, lo * 1.01), 40)
            ax.set_xscale("log")
        else:
            bins = np.linspace(lo, max(hi, lo + 1e-6), 40)
        ax.hist(
            series,
            bins=bins,
            stacked=True,
            label=["kept", "dropped"],
            color=["tab:blue", "tab:red"],
        )
        ax.set_title(title, fontsize=10)
        ax.set_ylabel("photos")
    axes[0, 0].legend()
    fig.tight_layout()
    return fig


def contact_sheet(paths, captions, title: str, columns: int = 8, side: int = 112):
    """A matplotlib figure: the photos of ``paths`` in a grid, each with its caption."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    n = max(1, len(paths))
    rows = (n + columns - 1) // columns
    cell_w, cell_h = side + 8, side + 30  # room for a two-line caption above each photo
    mosaic = np.full((rows * cell_h, columns * cell_w, 3), 255, np.uint8)
    for k, path in enumerate(paths):
        r, c = divmod(k, columns)
        y, x = r * cell_h + 26, c * cell_w + 4
        mosaic[y : y + side, x : x + side] = _thumb(path, side)
    dpi = 100
    fig = plt.figure(figsize=(mosaic.shape[1] / dpi, mosaic.shape[0] / dpi + 0.3), dpi=dpi)
    ax = fig.add_axes((0, 0, 1, mosaic.shape[0] / (mosaic.shape[0] + 30)))
    ax.imshow(mosaic, interpolation="nearest")
    ax.set_axis_off()
    for k, caption in enumerate(captions[: len(paths)]):
        r, c = divmod(k, columns)
        ax.text(
            c * cell_w + 4 + side / 2,
            r * cell_h + 24,
            caption,
            fontsize=5.5,
            ha="center",
            va="bottom",
        )
    fig.suptitle(title, fontsize=10)
    return fig


def _short(path, width=24) -> str:
    """``folder/name``, cut to ``width`` characters (a caption over a 112-pixel photo)."""
    name = "/".join(Path(path).parts[-2:])
    return name if len(name) <= width else name[: width - 11] + "..." + name[-8:]


def _sheets(kept, dropped, per_rule: int):
    """``[(title, figure)]``: one contact sheet per rule that dropped photos."""
    out = []
    present = set(dropped["reason"]) if len(dropped) else set()
    for rule in [r for r in ("excluded", "leak", *RULES) if r in present]:
        rows = dropped[dropped["reason"] == rule]
        if rule == "errors":
            continue
        if rule == "grey" and "chroma" in rows.columns:
            rows = rows.sort_values("chroma", ascending=False)
            paths = rows["path"].tolist()[:per_rule]
            caps = [
                f"{_short(p)}\nchroma {c:.1f}" for p, c in zip(paths, rows["chroma"], strict=False)
            ]
            out.append(
                (
                    f"grey: dropped, most colourful first ({len(rows)} in all)",
                    contact_sheet(paths, caps, "grey (dropped)"),
                )
            )
            near = kept.dropna(subset=["chroma"]).sort_values("chroma").head(per_rule // 2)
            if len(near):
                caps = [
                    f"{_short(p)}\nchroma {c:.1f}"
                    for p, c in zip(near["path"], near["chroma"], strict=False)
                ]
                out.append(
                    (
                        "grey: kept, least colourful first (just above the threshold)",
                        contact_sheet(near["path"].tolist(), caps, "kept, nearly grey"),
                    )
                )
        elif rule in ("duplicates", "leak") and "duplicate_of" in rows.columns:
            a, _ = hash_values(rows["hash"])
            originals = (
                rows["duplicate_of"].where(rows["duplicate_of"] != "", rows["group"])
                if "group" in rows.columns
                else rows["duplicate_of"]
            )
            originals = originals.where(originals != "", rows["path"])
            lookup = dict(zip(dropped["path"], dropped["hash"], strict=False))
            lookup.update(zip(kept["path"], kept["hash"], strict=False))
            b, _ = hash_values([lookup.get(o, "") for o in originals])
            dist = _popcount(a ^ b).astype(int)
            order = np.argsort(-dist, kind="stable")[: per_rule // 2]
            paths, caps = [], []
            for k in order:
                copy, orig = rows["path"].iloc[k], originals.iloc[k]
                paths += [copy, orig]
                caps += [f"{_short(copy)}\ndropped, d={dist[k]}", f"{_short(orig)}\noriginal"]
            out.append(
                (
                    f"{rule}: each photo beside the one it copies, least similar first "
                    f"({len(rows)} in all)",
                    contact_sheet(paths, caps, rule),
                )
            )
        else:
            if {"width", "height"} <= set(rows.columns):
                rows = rows.assign(_side=np.minimum(rows["width"], rows["height"]))
                rows = rows.sort_values("_side")
            paths = rows["path"].tolist()[:per_rule]
            caps = [
                f"{_short(p)}\n{w}x{h}"
                for p, w, h in zip(
                    paths,
                    rows.get("width", [""] * len(paths)),
                    rows.get("height", [""] * len(paths)),
                    strict=False,
                )
            ]
            out.append((f"{rule} ({len(rows)} in all)", contact_sheet(paths, caps, rule)))
    return out


def write_report(
    path, kept, dropped, summary, *, per_rule: int = 32, title="kcolor data clean", png_dir=None
) -> Path:
    """Write the one-page HTML report of a cleaning to ``path``.

    Args:
        path: the ``.html`` file to write.
        kept, dropped: what :func:`kcolor.curation.clean` returned.
        summary: :func:`kcolor.curation.cleaning.summary_table`.
        per_rule: photos per contact sheet.
        title: the page title.
        png_dir: also save each figure there as a PNG file.

    Returns:
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figures = [("sizes, chroma and colourfulness", histograms(kept, dropped))]
    figures += _sheets(kept, dropped, per_rule)
    parts = [
        f"<p>{len(kept) + len(dropped)} rows: {len(kept)} kept, {len(dropped)} dropped.</p>",
        summary.to_html(index=False),
    ]
    if png_dir is not None:
        os.makedirs(png_dir, exist_ok=True)
    for k, (caption, fig) in enumerate(figures):
        png = _png(fig)
        if png_dir is not None:
            Path(png_dir, f"figure_{k}.png").write_bytes(png)
        parts.append(f"<h2>{escape(caption)}</h2>{img_tag(png, caption)}")
    errors = dropped[dropped["reason"] == "errors"] if len(dropped) else dropped
    if len(errors):
        parts.append(f"<h2>errors ({len(errors)})</h2>")
        parts.append(errors[["path", "error"]].head(500).to_html(index=False))
    return io.atomic_write_bytes(path, page(title, "\n".join(parts)).encode("utf-8"))
