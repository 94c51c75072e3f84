"""The held-out scores of a trained network, against the grey baseline.

Example:
    >>> from kcolor.training.scores import TEMPERATURES, held_out_scores
    >>> scores = held_out_scores(model, val)                   # doctest: +SKIP
    >>> scores["model"]["psnr"] > scores["grey"]["psnr"]       # doctest: +SKIP
    True
"""

from __future__ import annotations

import numpy as np

from kcolor import metrics

#: Annealed-mean temperatures tried on the held-out photos for a colour-class model.
TEMPERATURES = (0.1, 0.2, 0.38, 0.6)


def held_out_scores(model, val, embedder=None, temperature: float | None = None) -> dict:
    """Mean PSNR, SSIM, AuC, colourfulness, ΔCF and chroma ratio on the held-out photos,
    for the model and for the grey baseline (the photo's L with no colour).

    A colour-class model is decoded by the annealed mean at ``temperature`` (default 0.38).
    """
    from kcolor import color, io
    from kcolor.models import color_classes

    if color_classes.is_class_model(model):  # a colour-class head: decode to ab first
        model = color_classes.to_ab_model(model, 0.38 if temperature is None else temperature)
    preds, truths = [], []
    for i in range(len(val)):
        x, _ = val[i]
        inputs = (x, np.asarray(embedder(x), "float32")) if embedder is not None else x
        y = np.asarray(model.predict(inputs, verbose=0))
        preds.append(color.to_uint8(color.merge_lab(x, y)))
        truths.append(val.rgb_batch(i))
    preds, truths = np.concatenate(preds), np.concatenate(truths)
    grey = io.grey_version(truths.astype(np.float32) / 255.0)
    return {
        "model": _set_scores(preds, truths),
        "grey": _set_scores(grey, truths),
        "photos": int(len(truths)),
    }


def _set_scores(preds, truths) -> dict:
    # The one definition of the headline scores, the same as `kcolor evaluate`'s.
    return metrics.headline_scores(preds, truths)
