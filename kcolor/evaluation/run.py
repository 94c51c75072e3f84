"""``kcolor evaluate``: measure colourisers on a folder of colour photos, against the grey baseline.

:func:`evaluate` composes the parts of this package:

1. the photos, a batch at a time (:mod:`kcolor.evaluation.photos`: read, brought to
   ``size x size`` by resize-to-fill + centre crop, grey ones dropped, each one's grey
   version made: what the models see and the grey baseline);
2. the systems compared (:mod:`kcolor.evaluation.systems`: presets, ``.keras`` files,
   models, callables), each colouring the grey versions;
3. the per-image metrics of every colourised photo against its original
   (:mod:`kcolor.evaluation.scoring`, on :mod:`kcolor.metrics.headline`: PSNR, SSIM, AuC,
   colourfulness, chroma, vivid recall and, with ``semantic=True``, whether a frozen
   ImageNet classifier, the *judge* (EfficientNet-Lite1 by default, see
   :mod:`kcolor.evaluation.judges`; not the fusion model's own Lite0 backbone), gives the
   colourised photo the original's top-1 class);
4. the summary, and the files (:mod:`kcolor.evaluation.report`).

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

import itertools
import os
from pathlib import Path

import pandas as pd

from kcolor.errors import DataError
from kcolor.evaluation.judges import DEFAULT_JUDGE, resolve_judge
from kcolor.evaluation.photos import GEOMETRY, EvalBatch, Tally, as_inputs, iter_eval_batches
from kcolor.evaluation.report import RANK_DIRECTION, Examples, write_outputs
from kcolor.evaluation.scoring import frechet_distances, score_batch, summarize, truth_statistics
from kcolor.evaluation.systems import GREY, colourise, systems_of

__all__ = ["evaluate"]


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
        images[system.name] = colourise(system, batch)
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
        judge: the classifier of ``semantic``: a name of :data:`kcolor.evaluation.judges.JUDGES`
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
    if rank_by not in RANK_DIRECTION:
        raise ValueError(f"rank_by must be one of {sorted(RANK_DIRECTION)}, got {rank_by!r}")
    inputs = as_inputs(data_dir_or_files)
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
    examples = Examples(n_examples, RANK_DIRECTION[rank_by] == "max")
    try:  # (closing the generator closes its progress bar, also when a model fails)
        first_batch = next(batches, None)  # the photos are checked before any model loads
        systems = systems_of(model_spec, batch_size)
        judge_fn, judge_name = resolve_judge(embedder if embedder is not None else judge, semantic)
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
    frechet = frechet_distances(feats) if semantic and feats else None
    summary = summarize(per_image, names, semantic, frechet)
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
        write_outputs(Path(out_dir), per_image, summary, examples, names, inputs)
    return summary
