"""Measure colourisers on a folder of colour photos, against the grey baseline.

:func:`evaluate` is what ``kcolor evaluate`` runs. It composes three parts:
:func:`iter_eval_batches` (steps 1-3: the photos, a batch at a time), the models, and
:func:`score_batch` (step 4: per-image metrics, a pure function of the colourised photos and
the originals).

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
   chroma, and (``semantic=True``) whether a frozen ImageNet classifier, the *judge*
   (EfficientNet-Lite1 by default, see :mod:`kcolor.judges`; not the fusion model's own
   Lite0 backbone), gives the colourised photo the original's top-1 class.

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
* ``vivid_recall``: the share of strongly coloured true pixels (Lab chroma >= 30) that the
  colourised photo colours vividly (chroma >= 15) with the right hue (within 45 degrees),
  pooled over all photos (:func:`kcolor.metrics.vivid_recall`; grey scores 0);
* ``semantic_agreement`` (``semantic=True``): share of photos whose top-1 class agrees
  (the judge's name is in ``summary.attrs["judge"]``);
* ``frechet_distance`` (``semantic=True`` with a judge that has ``features``, as the default
  one does): the Fréchet distance between the judge's pooled features of the colourised
  photos and of the originals (FID's formula on EfficientNet-Lite1 features, not
  Inception's; biased upwards for small ``n``: compare at the same ``n``, which is in
  ``summary.attrs["frechet_n"]``).

Example:
    >>> from kcolor.evaluation import evaluate
    >>> summary = evaluate("photos/bsds500/test", "beta-photos", out_dir="eval/")  # doctest: +SKIP
    >>> print(summary.round(3))                                                  # doctest: +SKIP
"""

from __future__ import annotations

import html
import itertools
import math
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from kcolor import color
from kcolor import io as kio
from kcolor import metrics as M
from kcolor.errors import DataError, ImageReadError, KcolorError
from kcolor.formatting import format_table, format_value, plural
from kcolor.io import atomic_write_bytes

__all__ = [
    "DEFAULT_JUDGE",
    "GREY",
    "PER_IMAGE_METRICS",
    "SUMMARY_COLUMNS",
    "EvalBatch",
    "Tally",
    "evaluate",
    "find_photos",
    "format_summary",
    "grey_version",
    "iter_eval_batches",
    "prepare",
    "score_batch",
    "truth_statistics",
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
    "vivid_recall",
    "semantic_agreement",
    "frechet_distance",
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
    "vivid_hits",
    "vivid_pixels",
    "semantic_agree",
)
#: The classifier that judges semantic agreement unless told otherwise (see :mod:`kcolor.judges`).
DEFAULT_JUDGE = "efficientnet_lite1"
#: How the photos are brought to ``size x size`` (stated in the report).
GEOMETRY = "resize-to-fill + centre crop"
_BETTER = {
    "semantic_agreement": "max",
    "delta_colorfulness": "min",
    "vivid_recall": "max",
    "frechet_distance": "min",
}
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
            f"model {name!r} returned shape {out.shape} for a batch of {plural(n, 'photo')} {shape}"
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
    from kcolor.inference.colorizer import Colorizer

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


# ---------------------------------------------------------------- photo batches
@dataclass
class EvalBatch:
    """One batch of evaluation photos.

    Attributes:
        files: the photos' paths.
        truth: the photos as evaluated, uint8 RGB ``(N, size, size, 3)``.
        grey: their grey versions (:func:`grey_version`), what the models see; uint8.
    """

    files: list
    truth: np.ndarray
    grey: np.ndarray

    def __iter__(self):  # files, truth, grey = batch
        return iter((self.files, self.truth, self.grey))

    def __len__(self) -> int:
        return len(self.files)


@dataclass
class Tally:
    """What :func:`iter_eval_batches` left out: grey photos and unreadable or missing files."""

    n_grey: int = 0
    skipped: list = field(default_factory=list)  # [(path, reason)]


def _inputs(data_dir_or_files) -> list:
    if isinstance(data_dir_or_files, (str, os.PathLike)):
        return [data_dir_or_files]
    return list(data_dir_or_files)


def find_photos(data_dir_or_files, recursive: bool = False):
    """The image files of a folder, a file or a list of them, and the skipped paths.

    Returns:
        ``(paths, skipped)`` as :func:`kcolor.io.find_images` gives them.

    Raises:
        DataError: nothing exists there, or no image is found.
    """
    inputs = _inputs(data_dir_or_files)
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
    return paths, list(skipped)


def iter_eval_batches(
    data_dir_or_files,
    size: int = 256,
    batch_size: int = 8,
    drop_grey: bool = True,
    *,
    limit: int | None = None,
    recursive: bool = False,
    grey_threshold: float = 3.0,
    tally: Tally | None = None,
    progress: bool = False,
):
    """Yield the photos of a folder as :class:`EvalBatch` ``(files, truth, grey)``, in file order.

    Every photo is read, brought to ``size x size`` (:func:`prepare`) and, with ``drop_grey``,
    left out when it has no colour; unreadable files are left out too. ``tally`` (a
    :class:`Tally`) counts both.

    Args:
        data_dir_or_files: a folder of colour photos, an image file, or a list of them.
        size: the side photos are brought to.
        batch_size: photos per batch (the last batch may be smaller).
        drop_grey: leave out photos without colour (:func:`kcolor.datasets.folder.is_grey`).
        limit: yield at most this many photos.
        recursive: also use photos in sub-folders.
        grey_threshold: Lab chroma under which a photo counts as grey.
        tally: filled with the grey photos dropped and the files skipped (path, reason).
        progress: a tqdm progress bar on stderr.

    Raises:
        DataError: nothing exists there, or no image is found.

    Example:
        >>> for files, truth, grey in iter_eval_batches("photos/", size=64):  # doctest: +SKIP
        ...     print(len(files), truth.shape, grey.dtype)
    """
    from kcolor.datasets.folder import is_grey

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    tally = Tally() if tally is None else tally
    paths, skipped = find_photos(data_dir_or_files, recursive=recursive)
    tally.skipped.extend(skipped)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        total = len(paths) if limit is None else min(limit, len(paths))
        # disable=None: no bar when stderr is not a terminal (a log gets no bar lines).
        bar = tqdm(total=total, unit="img", file=sys.stderr, desc="evaluate", disable=None)
    files, truths, n_yielded = [], [], 0
    try:
        for path in paths:
            if limit is not None and n_yielded + len(files) >= limit:
                break
            try:
                rgb = prepare(kio.load_image(path), size)
            except ImageReadError as err:
                tally.skipped.append((path, err.reason))
                if bar is not None and limit is None:
                    bar.update(1)
                continue
            if drop_grey and is_grey(rgb, grey_threshold):
                tally.n_grey += 1
                if bar is not None and limit is None:
                    bar.update(1)
                continue
            files.append(path)
            truths.append(rgb)
            if bar is not None:
                bar.update(1)
            if len(files) == batch_size:
                truth = np.stack(truths)
                yield EvalBatch(files, truth, grey_version(truth))
                n_yielded += len(files)
                files, truths = [], []
        if files:
            truth = np.stack(truths)
            yield EvalBatch(files, truth, grey_version(truth))
    finally:
        if bar is not None:
            bar.close()


# ---------------------------------------------------------------- scoring
def _chroma(images: np.ndarray) -> np.ndarray:
    """Per-image mean Lab chroma of a uint8 batch."""
    ab = color.rgb_to_lab(images)[..., 1:]
    return np.hypot(ab[..., 0], ab[..., 1]).mean(axis=(1, 2))


def _top1(judge, images: np.ndarray) -> np.ndarray:
    probs = np.asarray(judge(images.astype(np.float32) / 255.0))
    return probs.argmax(axis=-1)


def truth_statistics(truth, judge=None) -> dict[str, np.ndarray]:
    """What :func:`score_batch` needs of the originals: per-image colourfulness, chroma and
    (with ``judge``) top-1 class. Compute it once per batch when scoring several models."""
    truth = np.asarray(truth)
    stats = {
        "colorfulness_truth": np.atleast_1d(M.colorfulness(truth)),
        "chroma_truth": _chroma(truth),
    }
    if judge is not None:
        stats["top1_truth"] = _top1(judge, truth)
    return stats


def score_batch(pred, truth, judge=None, *, truth_stats=None) -> dict[str, np.ndarray]:
    """Per-image metrics of a batch of colourised photos against their originals.

    Args:
        pred: colourised photos, uint8 RGB ``(N, H, W, 3)`` (at least 11 x 11).
        truth: the originals, same shape.
        judge: for semantic agreement, a classifier (float RGB ``(N, H, W, 3)`` in ``[0, 1]``
            -> class scores ``(N, C)``, e.g. :func:`kcolor.judges.get_judge`); ``None`` leaves
            ``semantic_agree`` out.
        truth_stats: :func:`truth_statistics` of ``truth`` with the same judge, when already
            computed.

    Returns:
        ``{metric: (N,) float array}`` for :data:`PER_IMAGE_METRICS` (``semantic_agree`` only
        with a judge: 1.0 where the top-1 class of the colourised photo is the original's).

    Example:
        >>> import numpy as np
        >>> truth = np.random.default_rng(0).integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
        >>> scores = score_batch(truth, truth)
        >>> scores["auc"].tolist(), scores["chroma_ratio"].tolist()
        ([1.0, 1.0], [1.0, 1.0])
    """
    pred, truth = np.asarray(pred), np.asarray(truth)
    if pred.shape != truth.shape or pred.ndim != 4:
        raise ValueError(
            f"pred and truth must be batches of one shape, got {pred.shape} and {truth.shape}"
        )
    stats = truth_stats if truth_stats is not None else truth_statistics(truth, judge)
    cf = np.atleast_1d(M.colorfulness(pred))
    chroma = _chroma(pred)
    chroma_t = stats["chroma_truth"]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(chroma_t > 0.01, chroma / chroma_t, np.nan)
    out = {
        "psnr": np.atleast_1d(M.psnr(pred, truth)),
        "ssim": np.atleast_1d(M.ssim(pred, truth)),
        "auc": np.atleast_1d(M.auc(pred, truth)),
        "colorfulness": cf,
        "delta_colorfulness": np.abs(cf - stats["colorfulness_truth"]),
        "chroma": chroma,
        "chroma_ratio": ratio,
    }
    hits, strong = M.vivid_counts(pred, truth)
    out["vivid_hits"], out["vivid_pixels"] = np.atleast_1d(hits), np.atleast_1d(strong)
    if judge is not None:
        top_t = stats.get("top1_truth")
        if top_t is None:
            top_t = _top1(judge, truth)
        out["semantic_agree"] = (_top1(judge, pred) == top_t).astype(np.float64)
    return out


# ---------------------------------------------------------------- evaluate
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


def _colourise(system: _System, batch: EvalBatch) -> np.ndarray:
    try:
        out = system.fn(batch.grey)
        return _as_uint8_batch(out, len(batch), batch.grey.shape[1:], system.name)
    except KcolorError:
        raise
    except Exception as err:  # noqa: BLE001 - say which model failed, and on what
        raise KcolorError(
            f"model {system.name!r} failed on {os.fspath(batch.files[0])} ...: "
            f"{type(err).__name__}: {err}"
        ) from err


def _batch_rows(batch: EvalBatch, systems, judge, stats) -> tuple[list[dict], dict]:
    """The per-image rows of one batch and its images by column (grey, each model, truth)."""
    rows = [
        {"file": os.fspath(f), "colorfulness_truth": c, "chroma_truth": h}
        for f, c, h in zip(
            batch.files, stats["colorfulness_truth"], stats["chroma_truth"], strict=True
        )
    ]
    images = {"grey": batch.grey}
    for system in systems:
        images[system.name] = _colourise(system, batch)
    for name, pred in [*((s.name, images[s.name]) for s in systems), (GREY, batch.grey)]:
        for metric, values in score_batch(pred, batch.truth, judge, truth_stats=stats).items():
            for row, v in zip(rows, values, strict=True):
                row[f"{name}/{metric}"] = float(v)
    images["truth"] = batch.truth
    return rows, images


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
    judge=DEFAULT_JUDGE,
    embedder=None,
    rank_by: str = "auc",
    n_examples: int = 4,
    grey_threshold: float = 3.0,
) -> pd.DataFrame:
    """Measure one or more colourisers on colour photos, next to the grey baseline.

    Composes :func:`iter_eval_batches` (the photos), the models and :func:`score_batch`
    (the per-image metrics), then aggregates and, with ``out_dir``, writes the files.

    Args:
        data_dir_or_files: a folder of colour photos, an image file, or a list of them.
        model_spec: what colours the grey photos: a preset name, a preset or run folder or a
            ``.keras`` file (all through :meth:`kcolor.Colorizer.load`; ``None`` is the
            default preset), a :class:`~kcolor.Colorizer`, a keras ``Model``, or a callable
            taking grey uint8 RGB ``(N, H, W, 3)`` and returning colour RGB ``(N, H, W, 3)``
            (uint8, or floats in ``[0, 1]``). A list of these, or a dict ``{name: spec}``,
            compares several models.
        size: photos are brought to ``size x size`` by resize-to-fill + centre crop.
        out_dir: where to write ``per_image.csv``, ``summary.csv`` and ``report.html``
            (created; these three files are replaced). ``None`` writes nothing.
        batch_size: photos per model call.
        limit: evaluate at most this many (colour) photos, the first in sorted file order.
        drop_grey: leave out photos without colour (they would measure nothing).
        progress: a tqdm progress bar on stderr.
        semantic: also measure semantic agreement, judged by ``judge``.
        recursive: also use photos in sub-folders.
        judge: the classifier of ``semantic``: a name of :data:`kcolor.judges.JUDGES`
            (``"efficientnet_lite1"``, the default, or ``"efficientnet_lite0"``) or a
            callable taking float RGB ``(N, H, W, 3)`` in ``[0, 1]`` and returning class
            scores ``(N, C)``.
        embedder: the same as a callable ``judge`` (kept for callers of earlier versions).
        rank_by: per-image metric of the first model that picks the report's best and
            worst examples (``"auc"``, ``"psnr"``, ``"ssim"`` or ``"delta_colorfulness"``).
        n_examples: how many best and how many worst examples the report shows.
        grey_threshold: Lab chroma under which a photo counts as grey (see ``drop_grey``).

    Returns:
        The summary, a DataFrame with one row per model and a last row ``"grey baseline"``
        (index name ``"model"``), columns ``psnr, ssim, auc, colorfulness,
        delta_colorfulness, chroma_ratio`` (+ ``semantic_agreement``). Its ``attrs`` hold
        ``n_images``, ``n_grey_dropped``, ``n_unreadable``, ``skipped`` (``[(path, reason)]``),
        ``colorfulness_truth``, ``size``, ``geometry``, ``rank_by``, ``judge`` (the judge's
        name, ``None`` without ``semantic``) and, with ``out_dir``, the paths
        ``per_image_csv``, ``summary_csv`` and ``report``.

    Raises:
        DataError: the data folder is missing or holds no usable colour photo.
        WeightsError: a model cannot be loaded.
    """
    if size < 11:
        raise ValueError(f"size must be at least 11 (SSIM's window), got {size}")
    if rank_by not in _RANK_DIRECTION:
        raise ValueError(f"rank_by must be one of {sorted(_RANK_DIRECTION)}, got {rank_by!r}")
    inputs = _inputs(data_dir_or_files)
    tally = Tally()
    batches = iter_eval_batches(
        inputs,
        size,
        batch_size,
        drop_grey,
        limit=limit,
        recursive=recursive,
        grey_threshold=grey_threshold,
        tally=tally,
        progress=progress,
    )
    rows: list[dict] = []
    examples = _Examples(n_examples, _RANK_DIRECTION[rank_by] == "max")
    try:  # (closing the generator closes its progress bar, also when a model fails)
        first_batch = next(batches, None)  # the photos are checked before any model loads
        systems = _systems(model_spec, batch_size)
        judge_fn, judge_name = _resolve_judge(embedder if embedder is not None else judge, semantic)
        embed = getattr(judge_fn, "features", None)
        feats: dict[str, list] = {}
        for batch in itertools.chain([first_batch] if first_batch else [], batches):
            stats = truth_statistics(batch.truth, judge_fn)
            batch_rows, images = _batch_rows(batch, systems, judge_fn, stats)
            if embed is not None:
                for key, name in [
                    ("truth", "truth"),
                    *((s.name, s.name) for s in systems),
                    ("grey", GREY),
                ]:
                    feats.setdefault(name, []).append(embed(images[key]))
            scores = [row[f"{systems[0].name}/{rank_by}"] for row in batch_rows]
            examples.offer(scores, [Path(f) for f in batch.files], images, len(rows))
            rows.extend(batch_rows)
    finally:
        batches.close()
    names = [s.name for s in systems] + [GREY]

    if not rows:
        reason = f"{tally.n_grey} grey" if tally.n_grey else ""
        if tally.skipped:
            reason += (", " if reason else "") + f"{len(tally.skipped)} unreadable or missing"
        raise DataError(
            f"{', '.join(os.fspath(p) for p in inputs)}: no colour photo to evaluate"
            + (f" ({reason})" if reason else "")
        )

    per_image = pd.DataFrame(rows)
    frechet = _frechet(feats) if semantic and feats else None
    summary = _summary(per_image, names, semantic, frechet)
    summary.attrs.update(
        n_images=len(per_image),
        n_grey_dropped=tally.n_grey,
        n_unreadable=len(tally.skipped),
        skipped=[(os.fspath(p), r) for p, r in tally.skipped],
        colorfulness_truth=float(per_image["colorfulness_truth"].mean()),
        size=int(size),
        geometry=GEOMETRY,
        rank_by=rank_by,
        judge=judge_name,
        frechet_features=f"{judge_name} pooled features" if frechet else None,
        frechet_n=len(per_image) if frechet else None,
    )
    if out_dir is not None:
        _write_outputs(Path(out_dir), per_image, summary, examples, names, inputs)
    return summary


def _frechet(feats: dict) -> dict:
    """The Fréchet distance of each system's features (and the grey photos') to the truth's."""
    truth = np.concatenate(feats["truth"])
    if len(truth) < 2:
        return {}
    return {
        name: M.frechet_distance(np.concatenate(parts), truth)
        for name, parts in feats.items()
        if name != "truth"
    }


def _resolve_judge(judge, semantic: bool):
    """(callable or None, name or None) for ``evaluate``'s ``judge``/``embedder``."""
    if not semantic:
        return None, None
    if isinstance(judge, str):
        from kcolor.judges import get_judge

        return get_judge(judge), judge
    if not callable(judge):
        raise TypeError(f"judge must be a judge name or a callable classifier, got {judge!r}")
    return judge, getattr(judge, "name", None) or getattr(judge, "__name__", type(judge).__name__)


def _summary(
    per_image: pd.DataFrame, names: list[str], semantic: bool, frechet=None
) -> pd.DataFrame:
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
            # pooled over pixels: the strongly coloured pixels of all photos count alike
            "vivid_recall": (
                col["vivid_hits"].sum() / col["vivid_pixels"].sum()
                if col["vivid_pixels"].sum()
                else np.nan
            ),
        }
        if semantic:
            row["semantic_agreement"] = col["semantic_agree"].mean()
        if frechet:
            row["frechet_distance"] = frechet.get(name, np.nan)
        table[name] = row
    frame = pd.DataFrame.from_dict(table, orient="index")
    frame.index.name = "model"
    return frame


# ---------------------------------------------------------------- outputs
def _write_outputs(out: Path, per_image, summary, examples, names, inputs) -> None:
    if out.exists() and not out.is_dir():
        raise DataError(f"{out}: the output folder is a file")
    out.mkdir(parents=True, exist_ok=True)
    per_csv, sum_csv = out / "per_image.csv", out / "summary.csv"
    atomic_write_bytes(per_csv, per_image.to_csv(index=False).encode("utf-8"))
    atomic_write_bytes(sum_csv, summary.to_csv().encode("utf-8"))
    summary.attrs.update(per_image_csv=os.fspath(per_csv), summary_csv=os.fspath(sum_csv))
    report = write_report(out / "report.html", summary, examples, names, inputs)
    summary.attrs["report"] = os.fspath(report)


_RANK_LABEL = {"auc": "AuC", "psnr": "PSNR", "ssim": "SSIM", "delta_colorfulness": "ΔCF"}


def _grid_columns(items, names) -> dict[str, list]:
    """The example grid's columns, left to right: grey, each model, the original."""
    columns = {"grey input": [it[3]["grey"] for it in items]}
    for name in names:
        if name != GREY:
            columns[name] = [it[3][name] for it in items]
    columns["original"] = [it[3]["truth"] for it in items]
    return columns


def grid_caption(columns) -> str:
    """The caption of an example grid: its column titles, left to right, explained."""
    explain = {"grey input": "grey input (what the models see)", "original": "original"}
    return "Columns: " + " | ".join(explain.get(c, c) for c in columns) + "."


def _grid_png(items, columns, rank_by, title) -> bytes:
    from kcolor.figures import compare_grid, figure_to_png

    label = _RANK_LABEL[rank_by]
    rows = [f"{it[2].name}\n{label} {format_value(rank_by, it[0])}" for it in items]
    cell = 2.0 if len(columns) <= 4 else 1.6
    fig = compare_grid(columns, row_titles=rows, title=title, cell_size=cell)
    return figure_to_png(fig)


def write_report(path, summary: pd.DataFrame, examples, names, inputs) -> Path:
    """Write the self-contained HTML evaluation page (summary table, best and worst grids)."""
    from kcolor.figures import figure_to_png
    from kcolor.reports import html_page, img_tag, metrics_html, metrics_table

    path = Path(path)
    a = summary.attrs
    rank_by = a.get("rank_by", "auc")
    first = names[0]
    judged = f" Semantic agreement judged by {a['judge']}." if a.get("judge") else ""
    sections = [
        f"<h2>Summary</h2>{metrics_html(summary, better=_BETTER)}"
        f'<p class="sub">{plural(a["n_images"], "photo")}, each brought to '
        f"{a['size']}x{a['size']} ({a['geometry']}); "
        f"{plural(a['n_grey_dropped'], 'grey photo')} dropped, "
        f"{a['n_unreadable']} unreadable. Originals' mean colourfulness: "
        f"{format_value('colorfulness', a['colorfulness_truth'])}. The grey baseline is each "
        "photo's own L with a = b = 0, which is also what the models see. Best value per "
        "column in bold (colourfulness and chroma ratio are best near the originals': 1 for "
        f"the ratio).{html.escape(judged)}</p>"
    ]
    table_png = figure_to_png(metrics_table(summary, better=_BETTER))
    atomic_write_bytes(path.parent / "summary.png", table_png)
    label = _RANK_LABEL[rank_by]
    for kind, items in (("Best", examples.best()), ("Worst", examples.worst())):
        if not items:
            continue
        columns = _grid_columns(items, names)
        png = _grid_png(items, columns, rank_by, None)
        atomic_write_bytes(path.parent / f"{kind.lower()}.png", png)
        sections.append(
            f"<h2>{kind} {len(items)} by {label} of {html.escape(first)}</h2>"
            f"<figure>{img_tag(png, f'{kind.lower()} examples')}"
            f"<figcaption>{html.escape(grid_caption(columns))}</figcaption></figure>"
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
    """The summary as text for a terminal: the table (numbers by :func:`kcolor.formatting.format_value`),
    then counts, the geometry and the judge."""
    shown = format_table(summary).rename(
        columns={
            "psnr": "PSNR",
            "ssim": "SSIM",
            "auc": "AuC",
            "colorfulness": "colourfulness",
            "delta_colorfulness": "ΔCF",
            "chroma_ratio": "chroma ratio",
            "vivid_recall": "vivid recall",
            "semantic_agreement": "semantic",
            "frechet_distance": "Fréchet",
        }
    )
    text = shown.to_string()
    a = summary.attrs
    if a:
        text += (
            f"\n{plural(a['n_images'], 'photo')} at {a['size']}x{a['size']} ({a['geometry']}); "
            f"{a['n_grey_dropped']} grey dropped, {a['n_unreadable']} unreadable; "
            f"originals' colourfulness {format_value('colorfulness', a['colorfulness_truth'])}"
        )
        if a.get("judge"):
            text += f"; semantic agreement judged by {a['judge']}"
        if a.get("frechet_n"):
            text += (
                f"; Fréchet distance on {a['frechet_features']}, n = {a['frechet_n']} "
                "(lower is better; compare at the same n only)"
            )
    return text
