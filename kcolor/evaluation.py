"""Measure colourisers on a folder of colour photos, against the grey baseline.

:func:`evaluate` is what ``kcolor evaluate`` runs:

1. every photo is read (:func:`kcolor.io.load_image`) and brought to ``size x size`` by
   **resize-to-fill + centre crop** (:func:`kcolor.datasets.augment.resize_fill`: the aspect
   ratio is kept, the short side is scaled to ``size``, the overhang of the long side is cut
   evenly; the same geometry as the training pipeline's validation images);
2. photos without colour are dropped (:func:`kcolor.datasets.folder.is_grey`: 99% of the
   pixels under 3 units of Lab chroma) and counted, as are unreadable files;
3. each photo's grey version is made: its own L with ``a = b = 0``
   (:func:`kcolor.color.rgb_to_gray`, rounded to uint8). This is what the models see, and it
   is also the **grey baseline**: the "colourisation" that adds no colour at all;
4. every model colours the grey versions, a batch at a time, and every colourised photo is
   compared with its original by :mod:`kcolor.metrics`: PSNR, SSIM, AuC, colourfulness,
   chroma, and (``semantic=True``) whether EfficientNet-Lite0's top-1 ImageNet class of the
   colourised photo is the original's.

Only the running results and the best and worst few examples stay in memory, so folders of
any size can be measured.

The summary has one row per model plus ``"grey baseline"``:

* ``psnr``, ``ssim``, ``auc``: means of the per-image values (PSNR in dB on RGB; AuC is
  Zhang et al.'s raw accuracy, thresholds 0-150 ab units);
* ``colorfulness``: mean Hasler-Süsstrunk colourfulness of the colourised photos (the
  originals' mean is in ``summary.attrs["colorfulness_truth"]``);
* ``delta_colorfulness``: ``|mean CF(colourised) - mean CF(originals)|`` (lower is better);
* ``chroma_ratio``: mean Lab chroma of the colourised photos over the originals' (1 = as
  saturated as the originals; the grey baseline is 0);
* ``semantic_agreement`` (``semantic=True``): share of photos whose top-1 class agrees.

Example:
    >>> from kcolor.evaluation import evaluate
    >>> summary = evaluate("photos/bsds500/test", "beta-photos", out_dir="eval/")  # doctest: +SKIP
    >>> print(summary.round(3))                                                  # doctest: +SKIP
"""

from __future__ import annotations

import html
import math
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from kcolor import color
from kcolor import metrics as M
from kcolor.errors import DataError, ImageReadError, KcolorError

__all__ = [
    "GREY",
    "SUMMARY_COLUMNS",
    "PER_IMAGE_METRICS",
    "evaluate",
    "grey_version",
    "prepare",
    "write_report",
]

#: Name of the grey baseline (a = b = 0) in the summary and in per-image column names.
GREY = "grey baseline"
#: Columns of the summary table (``semantic_agreement`` only with ``semantic=True``).
SUMMARY_COLUMNS = (
    "psnr",
    "ssim",
    "auc",
    "colorfulness",
    "delta_colorfulness",
    "chroma_ratio",
    "semantic_agreement",
)
#: Per-image metrics of each model, as ``"<model>/<metric>"`` columns of the per-image table.
PER_IMAGE_METRICS = (
    "psnr",
    "ssim",
    "auc",
    "colorfulness",
    "delta_colorfulness",
    "chroma",
    "chroma_ratio",
    "semantic_agree",
)
#: How the photos are brought to ``size x size`` (stated in the report).
GEOMETRY = "resize-to-fill + centre crop"
_BETTER = {"semantic_agreement": "max", "delta_colorfulness": "min"}
_RANK_DIRECTION = {"auc": "max", "psnr": "max", "ssim": "max", "delta_colorfulness": "min"}


# ---------------------------------------------------------------- preprocessing
def prepare(rgb, size) -> np.ndarray:
    """A photo as evaluated: uint8 RGB ``(size, size, 3)`` by resize-to-fill + centre crop."""
    from kcolor.datasets.augment import resize_fill

    return np.ascontiguousarray(resize_fill(np.asarray(rgb, dtype=np.uint8), size))


def grey_version(rgb) -> np.ndarray:
    """The grey photo the models see, and the grey baseline: same L, ``a = b = 0``, uint8.

    Works on one image ``(H, W, 3)`` or a batch ``(N, H, W, 3)``.
    """
    return color.to_uint8(color.rgb_to_gray(np.asarray(rgb, dtype=np.uint8)))


# ---------------------------------------------------------------- models
@dataclass
class _System:
    """A named colouriser: ``fn(grey uint8 (N, H, W, 3)) -> colour uint8 (N, H, W, 3)``."""

    name: str
    fn: Callable


def _as_uint8_batch(out, n: int, shape, name: str) -> np.ndarray:
    if isinstance(out, (list, tuple)):
        out = np.stack([np.asarray(o) for o in out])
    out = np.asarray(out)
    if out.shape != (n, *shape):
        raise KcolorError(
            f"model {name!r} returned shape {out.shape} for a batch of {n} photos {shape}"
        )
    if out.dtype != np.uint8:
        if not np.issubdtype(out.dtype, np.floating):
            raise KcolorError(f"model {name!r} returned {out.dtype}; expected uint8 or float RGB")
        out = color.to_uint8(out)
    return out


def _spec_name(spec) -> str:
    if isinstance(spec, (str, os.PathLike)):
        path = Path(os.fspath(spec))
        if path.suffix == ".keras":
            return path.stem if path.stem != "model" else path.parent.name or path.stem
        return path.name or os.fspath(spec)
    for attr in ("name", "__name__"):
        value = getattr(spec, attr, None)
        if isinstance(value, str) and value:
            return value
    if getattr(spec, "model", None) is not None and isinstance(
        getattr(spec.model, "name", None), str
    ):
        return spec.model.name
    return type(spec).__name__


def _system(spec, name: str | None, batch_size: int) -> _System:
    """A preset name / .keras file / run folder / Colorizer / keras Model / callable."""
    from kcolor.colorizer import Colorizer

    if spec is None:
        from kcolor import presets

        spec = presets.DEFAULT_PRESET
    name = name or _spec_name(spec)
    if isinstance(spec, (str, os.PathLike)):
        colorizer = Colorizer.load(spec, batch_size=batch_size)
    elif isinstance(spec, Colorizer):
        colorizer = spec
    elif hasattr(spec, "inputs") and hasattr(spec, "predict"):  # a keras Model
        colorizer = Colorizer(spec, batch_size=batch_size)
    elif callable(spec):
        return _System(name, spec)
    else:
        raise TypeError(
            f"cannot evaluate {spec!r}: pass a preset name, a .keras file, a run folder, a "
            "Colorizer, a keras Model or a callable (grey uint8 batch -> colour batch)"
        )
    return _System(name, lambda greys, c=colorizer: c.colorize(np.asarray(greys)))


def _systems(model_spec, batch_size: int) -> list[_System]:
    if isinstance(model_spec, Mapping):
        items = list(model_spec.items())
    elif isinstance(model_spec, Sequence) and not isinstance(model_spec, (str, bytes)):
        items = [(None, s) for s in model_spec]
    else:
        items = [(None, model_spec)]
    if not items:
        raise ValueError("evaluate: no model given")
    systems, seen = [], {GREY}
    for name, spec in items:
        system = _system(spec, None if name is None else str(name), batch_size)
        base = system.name.replace("/", "_") or "model"
        unique, k = base, 2
        while unique in seen:
            unique, k = f"{base}_{k}", k + 1
        seen.add(unique)
        system.name = unique
        systems.append(system)
    return systems


# ---------------------------------------------------------------- metrics
def _chroma(images: np.ndarray) -> np.ndarray:
    """Per-image mean Lab chroma of a uint8 batch."""
    ab = color.rgb_to_lab(images)[..., 1:]
    return np.hypot(ab[..., 0], ab[..., 1]).mean(axis=(1, 2))


def _top1(embedder, images: np.ndarray) -> np.ndarray:
    probs = np.asarray(embedder(images.astype(np.float32) / 255.0))
    return probs.argmax(axis=-1)


def _batch_metrics(pred, truth, cf_t, chroma_t, top_t, embedder) -> dict[str, np.ndarray]:
    cf = np.atleast_1d(M.colorfulness(pred))
    chroma = _chroma(pred)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(chroma_t > 0.01, chroma / chroma_t, np.nan)
    out = {
        "psnr": np.atleast_1d(M.psnr(pred, truth)),
        "ssim": np.atleast_1d(M.ssim(pred, truth)),
        "auc": np.atleast_1d(M.auc(pred, truth)),
        "colorfulness": cf,
        "delta_colorfulness": np.abs(cf - cf_t),
        "chroma": chroma,
        "chroma_ratio": ratio,
    }
    if embedder is not None:
        out["semantic_agree"] = (_top1(embedder, pred) == top_t).astype(np.float64)
    return out


@dataclass
class _Examples:
    """The ``k`` best and ``k`` worst photos by a score, with their images."""

    k: int
    higher_is_better: bool
    items: list = field(default_factory=list)  # (score, order, file, {column: image})

    def offer(self, scores, files, columns: dict[str, np.ndarray], start: int):
        if self.k <= 0:
            return
        for i, (s, f) in enumerate(zip(scores, files, strict=True)):
            if math.isnan(s):
                continue
            self.items.append((float(s), start + i, f, {c: im[i] for c, im in columns.items()}))
        self.items.sort(key=lambda t: (-t[0] if self.higher_is_better else t[0], t[1]))
        if len(self.items) > 2 * self.k:
            self.items = self.items[: self.k] + self.items[-self.k :]

    def _split(self) -> int:
        # With fewer than 2k photos, the better half are "best" and the rest "worst".
        return min(self.k, math.ceil(len(self.items) / 2))

    def best(self):
        return self.items[: self._split()]

    def worst(self):
        n = min(self.k, len(self.items) - self._split())
        return list(reversed(self.items[len(self.items) - n :])) if n > 0 else []


# ---------------------------------------------------------------- evaluate
def evaluate(
    data_dir_or_files,
    model_spec,
    size: int = 256,
    out_dir=None,
    batch_size: int = 8,
    limit: int | None = None,
    drop_grey: bool = True,
    progress: bool = True,
    semantic: bool = False,
    *,
    recursive: bool = False,
    embedder=None,
    rank_by: str = "auc",
    n_examples: int = 4,
    grey_threshold: float = 3.0,
) -> pd.DataFrame:
    """Measure one or more colourisers on colour photos, next to the grey baseline.

    Args:
        data_dir_or_files: a folder of colour photos, an image file, or a list of them.
        model_spec: what colours the grey photos: a preset name, a ``.keras`` file or a
            ``kcolor train`` run folder (all through :meth:`kcolor.Colorizer.load`; ``None``
            is the default preset), a :class:`~kcolor.Colorizer`, a keras ``Model``, or a
            callable taking grey uint8 RGB ``(N, H, W, 3)`` and returning colour RGB
            ``(N, H, W, 3)`` (uint8, or floats in ``[0, 1]``). A list of these, or a dict
            ``{name: spec}``, compares several models.
        size: photos are brought to ``size x size`` by resize-to-fill + centre crop.
        out_dir: where to write ``per_image.csv``, ``summary.csv`` and ``report.html``
            (created; these three files are replaced). ``None`` writes nothing.
        batch_size: photos per model call.
        limit: evaluate at most this many (colour) photos, the first in sorted file order.
        drop_grey: leave out photos without colour (they would measure nothing).
        progress: a tqdm progress bar on stderr.
        semantic: also measure semantic agreement with EfficientNet-Lite0 (or ``embedder``).
        recursive: also use photos in sub-folders.
        embedder: for ``semantic``: a callable taking float RGB ``(N, H, W, 3)`` in
            ``[0, 1]`` and returning class probabilities ``(N, C)``; default
            ``get_embedder("efficientnet_lite0")``.
        rank_by: per-image metric of the first model that picks the report's best and
            worst examples (``"auc"``, ``"psnr"``, ``"ssim"`` or ``"delta_colorfulness"``).
        n_examples: how many best and how many worst examples the report shows.
        grey_threshold: Lab chroma under which a photo counts as grey (see ``drop_grey``).

    Returns:
        The summary, a DataFrame with one row per model and a last row ``"grey baseline"``
        (index name ``"model"``), columns ``psnr, ssim, auc, colorfulness,
        delta_colorfulness, chroma_ratio`` (+ ``semantic_agreement``). Its ``attrs`` hold
        ``n_images``, ``n_grey_dropped``, ``n_unreadable``, ``skipped`` (``[(path, reason)]``),
        ``colorfulness_truth``, ``size``, ``geometry`` and, with ``out_dir``, the paths
        ``per_image_csv``, ``summary_csv`` and ``report``.

    Raises:
        DataError: the data folder is missing or holds no usable colour photo.
        WeightsError: a model cannot be loaded.
    """
    from kcolor import io as kio
    from kcolor.datasets.folder import is_grey

    if size < 11:
        raise ValueError(f"size must be at least 11 (SSIM's window), got {size}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    if rank_by not in _RANK_DIRECTION:
        raise ValueError(f"rank_by must be one of {sorted(_RANK_DIRECTION)}, got {rank_by!r}")

    inputs = (
        [data_dir_or_files]
        if isinstance(data_dir_or_files, (str, os.PathLike))
        else list(data_dir_or_files)
    )
    paths, skipped = kio.find_images(inputs, recursive=recursive)
    missing = [(p, r) for p, r in skipped if r == "not found"]
    if missing and not paths:
        raise DataError(f"{missing[0][0]}: no such file or folder")
    if not paths:
        where = ", ".join(os.fspath(p) for p in inputs)
        raise DataError(
            f"{where}: no images found"
            + ("" if recursive else " (use --recursive for sub-folders)")
        )
    skipped = list(skipped)

    systems = _systems(model_spec, batch_size)
    if semantic and embedder is None:
        from kcolor.models.embedders import get_embedder

        embedder = get_embedder("efficientnet_lite0")
    emb = embedder if semantic else None

    names = [s.name for s in systems] + [GREY]
    rows: list[dict] = []
    examples = _Examples(n_examples, _RANK_DIRECTION[rank_by] == "max")
    n_grey = 0
    bar = None
    if progress:
        from tqdm.auto import tqdm

        total = len(paths) if limit is None else min(limit, len(paths))
        bar = tqdm(total=total, unit="img", file=sys.stderr, desc="evaluate")

    def run_batch(files, truths):
        truth = np.stack(truths)
        grey = grey_version(truth)
        cf_t = np.atleast_1d(M.colorfulness(truth))
        chroma_t = _chroma(truth)
        top_t = _top1(emb, truth) if emb is not None else None
        batch_rows = [
            {"file": os.fspath(f), "colorfulness_truth": c, "chroma_truth": h}
            for f, c, h in zip(files, cf_t, chroma_t, strict=True)
        ]
        images = {"grey": grey}
        for system in systems:
            try:
                pred = _as_uint8_batch(system.fn(grey), len(grey), grey.shape[1:], system.name)
            except KcolorError:
                raise
            except Exception as err:  # noqa: BLE001 - say which model failed, and on what
                raise KcolorError(
                    f"model {system.name!r} failed on {os.fspath(files[0])} ...: "
                    f"{type(err).__name__}: {err}"
                ) from err
            images[system.name] = pred
        for name, pred in [*((s.name, images[s.name]) for s in systems), (GREY, grey)]:
            values = _batch_metrics(pred, truth, cf_t, chroma_t, top_t, emb)
            for row, i in zip(batch_rows, range(len(files)), strict=True):
                for metric, v in values.items():
                    row[f"{name}/{metric}"] = float(v[i])
        first = systems[0].name
        scores = [row[f"{first}/{rank_by}"] for row in batch_rows]
        images["truth"] = truth
        examples.offer(scores, [Path(f) for f in files], images, len(rows))
        rows.extend(batch_rows)

    files, truths = [], []
    try:
        for path in paths:
            if limit is not None and len(rows) + len(files) >= limit:
                break
            try:
                rgb = prepare(kio.load_image(path), size)
            except ImageReadError as err:
                skipped.append((path, err.reason))
                if bar is not None and limit is None:
                    bar.update(1)
                continue
            if drop_grey and is_grey(rgb, grey_threshold):
                n_grey += 1
                if bar is not None and limit is None:
                    bar.update(1)
                continue
            files.append(path)
            truths.append(rgb)
            if bar is not None:
                bar.update(1)
            if len(files) == batch_size:
                run_batch(files, truths)
                files, truths = [], []
        if files:
            run_batch(files, truths)
    finally:
        if bar is not None:
            bar.close()

    if not rows:
        reason = f"{n_grey} grey" if n_grey else ""
        if skipped:
            reason += (", " if reason else "") + f"{len(skipped)} unreadable or missing"
        raise DataError(
            f"{', '.join(os.fspath(p) for p in inputs)}: no colour photo to evaluate"
            + (f" ({reason})" if reason else "")
        )

    per_image = pd.DataFrame(rows)
    summary = _summary(per_image, names, semantic)
    summary.attrs.update(
        n_images=len(per_image),
        n_grey_dropped=n_grey,
        n_unreadable=len(skipped),
        skipped=[(os.fspath(p), r) for p, r in skipped],
        colorfulness_truth=float(per_image["colorfulness_truth"].mean()),
        size=int(size),
        geometry=GEOMETRY,
        rank_by=rank_by,
    )
    if out_dir is not None:
        _write_outputs(Path(out_dir), per_image, summary, examples, names, inputs)
    return summary


def _summary(per_image: pd.DataFrame, names: list[str], semantic: bool) -> pd.DataFrame:
    cf_truth = per_image["colorfulness_truth"].mean()
    chroma_truth = per_image["chroma_truth"].mean()
    table = {}
    for name in names:
        prefix = name + "/"
        col = per_image[[c for c in per_image.columns if c.startswith(prefix)]]
        col.columns = [c[len(prefix) :] for c in col.columns]
        cf = col["colorfulness"].mean()
        row = {
            "psnr": col["psnr"].mean(),
            "ssim": col["ssim"].mean(),
            "auc": col["auc"].mean(),
            "colorfulness": cf,
            "delta_colorfulness": abs(cf - cf_truth),
            # All photos have the same size: the mean of per-image mean chromas is the pooled one.
            "chroma_ratio": col["chroma"].mean() / chroma_truth if chroma_truth > 0.01 else np.nan,
        }
        if semantic:
            row["semantic_agreement"] = col["semantic_agree"].mean()
        table[name] = row
    frame = pd.DataFrame.from_dict(table, orient="index")
    frame.index.name = "model"
    return frame


# ---------------------------------------------------------------- outputs
def _write_outputs(out: Path, per_image, summary, examples, names, inputs) -> None:
    from kcolor.callbacks import atomic_write_bytes

    if out.exists() and not out.is_dir():
        raise DataError(f"{out}: the output folder is a file")
    out.mkdir(parents=True, exist_ok=True)
    per_csv, sum_csv = out / "per_image.csv", out / "summary.csv"
    atomic_write_bytes(per_csv, per_image.to_csv(index=False).encode("utf-8"))
    atomic_write_bytes(sum_csv, summary.to_csv().encode("utf-8"))
    summary.attrs.update(per_image_csv=os.fspath(per_csv), summary_csv=os.fspath(sum_csv))
    report = write_report(out / "report.html", summary, examples, names, inputs)
    summary.attrs["report"] = os.fspath(report)


def _grid_png(items, names, rank_by, title) -> bytes:
    from kcolor.reports import compare_grid, figure_to_png

    columns = {"grey": [it[3]["grey"] for it in items]}
    for name in names:
        if name != GREY:
            columns[name] = [it[3][name] for it in items]
    columns["truth"] = [it[3]["truth"] for it in items]
    label = {"auc": "AuC", "psnr": "PSNR", "ssim": "SSIM", "delta_colorfulness": "ΔCF"}[rank_by]
    rows = [f"{it[2].name}\n{label} {it[0]:.3f}" for it in items]
    cell = 2.0 if len(columns) <= 4 else 1.6
    fig = compare_grid(columns, row_titles=rows, title=title, cell_size=cell)
    return figure_to_png(fig)


def write_report(path, summary: pd.DataFrame, examples, names, inputs) -> Path:
    """Write the self-contained HTML evaluation page (summary table, best and worst grids)."""
    from kcolor.callbacks import atomic_write_bytes
    from kcolor.reports import figure_to_png, html_page, img_tag, metrics_html, metrics_table

    path = Path(path)
    a = summary.attrs
    rank_by = a.get("rank_by", "auc")
    first = names[0]
    sections = [
        f"<h2>Summary</h2>{metrics_html(summary, better=_BETTER)}"
        f'<p class="sub">{a["n_images"]} photos, each brought to {a["size"]}x{a["size"]} '
        f"({a['geometry']}); {a['n_grey_dropped']} grey photos dropped, "
        f"{a['n_unreadable']} unreadable. Originals' mean colourfulness: "
        f"{a['colorfulness_truth']:.4g}. The grey baseline is each photo's own L with "
        "a = b = 0, which is also what the models see. Best value per column in bold "
        "(colourfulness and chroma ratio are best near the originals': 1 for the ratio).</p>"
    ]
    table_png = figure_to_png(metrics_table(summary, better=_BETTER))
    atomic_write_bytes(path.parent / "summary.png", table_png)
    label = {"auc": "AuC", "psnr": "PSNR", "ssim": "SSIM", "delta_colorfulness": "ΔCF"}[rank_by]
    for kind, items in (("Best", examples.best()), ("Worst", examples.worst())):
        if not items:
            continue
        png = _grid_png(items, names, rank_by, None)
        atomic_write_bytes(path.parent / f"{kind.lower()}.png", png)
        sections.append(
            f"<h2>{kind} {len(items)} by {label} of {html.escape(first)}</h2>"
            f"<figure>{img_tag(png, f'{kind.lower()} examples')}"
            "<figcaption>grey (what the model sees) | colourised | original</figcaption></figure>"
        )
    skipped = a.get("skipped") or []
    if skipped:
        rows = "".join(
            f"<tr><th>{html.escape(p)}</th><td>{html.escape(r)}</td></tr>" for p, r in skipped
        )
        sections.append(f'<h2>Unreadable files</h2><table class="kv">{rows}</table>')
    title = "kcolor evaluation: " + ", ".join(n for n in names if n != GREY)
    where = ", ".join(os.fspath(p) for p in inputs)
    page = html_page(title, sections, subtitle=[where, "per-image values in per_image.csv"])
    atomic_write_bytes(path, page.encode("utf-8"))
    return path


def format_summary(summary: pd.DataFrame) -> str:
    """The summary as text for a terminal: the table, then counts and the geometry."""
    shown = summary.rename(
        columns={
            "psnr": "PSNR",
            "ssim": "SSIM",
            "auc": "AuC",
            "colorfulness": "colourfulness",
            "delta_colorfulness": "ΔCF",
            "chroma_ratio": "chroma ratio",
            "semantic_agreement": "semantic",
        }
    )
    text = shown.to_string(float_format=lambda v: f"{v:.4g}")
    a = summary.attrs
    if a:
        text += (
            f"\n{a['n_images']} photos at {a['size']}x{a['size']} ({a['geometry']}); "
            f"{a['n_grey_dropped']} grey dropped, {a['n_unreadable']} unreadable; "
            f"originals' colourfulness {a['colorfulness_truth']:.4g}"
        )
    return text
