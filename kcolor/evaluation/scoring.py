"""Scoring: per-image metrics of a batch, and the summary table of a whole evaluation.

The headline metrics have ONE definition, :mod:`kcolor.metrics.headline`, which a
training run's held-out scores use too; this module adds what only ``kcolor evaluate``
has: the judge (semantic agreement, Fréchet distance on its features) and the table of
several systems.

* :func:`score_batch`: per-image metrics of a batch of colourised photos
  (:func:`kcolor.metrics.image_scores`, + ``semantic_agree`` with a judge);
* :func:`summarize`: the summary table (one row per system) of the per-image table,
  each row :func:`kcolor.metrics.summarize_scores` (+ ``semantic_agreement`` and
  ``frechet_distance``).

Example:
    >>> import numpy as np
    >>> from kcolor.evaluation.scoring import score_batch
    >>> truth = np.random.default_rng(0).integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
    >>> score_batch(truth, truth)["auc"].tolist()
    [1.0, 1.0]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kcolor import metrics as M

__all__ = [
    "PER_IMAGE_METRICS",
    "SUMMARY_COLUMNS",
    "frechet_distances",
    "score_batch",
    "summarize",
    "truth_statistics",
]

#: Columns of the summary table (``semantic_agreement`` and ``frechet_distance`` only with
#: ``semantic=True``).
SUMMARY_COLUMNS = (*M.HEADLINE_METRICS, "semantic_agreement", "frechet_distance")
#: Per-image metrics of each model, as ``"<model>/<metric>"`` columns of the per-image table.
PER_IMAGE_METRICS = (*M.IMAGE_SCORES, "semantic_agree")


def truth_statistics(truth, judge=None) -> dict[str, np.ndarray]:
    """What :func:`score_batch` needs of the originals: per-image colourfulness, chroma and
    (with ``judge``) top-1 class. Compute it once per batch when scoring several models.

    Example:
        >>> import numpy as np
        >>> sorted(truth_statistics(np.zeros((1, 4, 4, 3), np.uint8)))
        ['chroma_truth', 'colorfulness_truth']
    """
    truth = np.asarray(truth)
    stats = M.truth_scores(truth)
    if judge is not None:
        stats["top1_truth"] = M.top1_classes(judge, truth)
    return stats


def score_batch(pred, truth, judge=None, *, truth_stats=None) -> dict[str, np.ndarray]:
    """Per-image metrics of a batch of colourised photos against their originals.

    Args:
        pred: colourised photos, uint8 RGB ``(N, H, W, 3)`` (at least 11 x 11).
        truth: the originals, same shape.
        judge: for semantic agreement, a classifier (float RGB ``(N, H, W, 3)`` in ``[0, 1]``
            -> class scores ``(N, C)``, e.g. :func:`kcolor.evaluation.judges.get_judge`);
            ``None`` leaves ``semantic_agree`` out.
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
    out = M.image_scores(pred, truth, truth_stats=stats)
    if judge is not None:
        top_t = stats.get("top1_truth")
        if top_t is None:
            top_t = M.top1_classes(judge, truth)
        out["semantic_agree"] = (M.top1_classes(judge, pred) == top_t).astype(np.float64)
    return out


def summarize(per_image: pd.DataFrame, names, semantic: bool, frechet=None) -> pd.DataFrame:
    """The summary table of the per-image table: one row per system, index name ``"model"``.

    Args:
        per_image: the per-image table: ``colorfulness_truth``, ``chroma_truth`` and
            ``"<name>/<metric>"`` columns of :data:`PER_IMAGE_METRICS`.
        names: the systems, in row order.
        semantic: add ``semantic_agreement`` (the mean of ``semantic_agree``).
        frechet: ``{name: Fréchet distance}`` (:func:`frechet_distances`), or ``None``.

    Returns:
        A DataFrame with columns :data:`kcolor.metrics.HEADLINE_METRICS`
        (+ ``semantic_agreement``, + ``frechet_distance``).

    Example:
        >>> import numpy as np, pandas as pd
        >>> truth = np.random.default_rng(0).integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
        >>> table = pd.DataFrame(truth_statistics(truth))
        >>> for k, v in score_batch(truth, truth).items():
        ...     table[f"oracle/{k}"] = v
        >>> float(summarize(table, ["oracle"], semantic=False).loc["oracle", "chroma_ratio"])
        1.0
    """
    truth = {k: per_image[k].to_numpy() for k in ("colorfulness_truth", "chroma_truth")}
    table = {}
    for name in names:
        prefix = name + "/"
        scores = {
            c[len(prefix) :]: per_image[c].to_numpy() for c in per_image if c.startswith(prefix)
        }
        row = M.summarize_scores(scores, truth)
        if semantic:
            row["semantic_agreement"] = float(np.mean(scores["semantic_agree"]))
        if frechet:
            row["frechet_distance"] = frechet.get(name, np.nan)
        table[name] = row
    frame = pd.DataFrame.from_dict(table, orient="index")
    frame.index.name = "model"
    return frame


def frechet_distances(feats: dict) -> dict:
    """The Fréchet distance of each system's features (and the grey photos') to the truth's.

    Args:
        feats: ``{name: [feature batches (n, d)]}`` with a ``"truth"`` entry.

    Returns:
        ``{name: distance}`` for every name but ``"truth"``; empty under two photos.
    """
    truth = np.concatenate(feats["truth"])
    if len(truth) < 2:
        return {}
    return {
        name: M.frechet_distance(np.concatenate(parts), truth)
        for name, parts in feats.items()
        if name != "truth"
    }
