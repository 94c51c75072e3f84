"""Evaluation: measure colourisers on a folder of colour photos, against the grey baseline.

``kcolor evaluate`` runs :func:`evaluate`, which composes:

* ``kcolor.evaluation.photos``: the photos, found, read, brought to ``size x size``
  (resize-to-fill + centre crop), grey ones dropped, in batches with their grey versions;
* ``kcolor.evaluation.systems``: the systems compared (presets, ``.keras`` files, models,
  callables) and the grey baseline;
* ``kcolor.evaluation.judges``: the frozen ImageNet classifiers that judge semantic
  agreement (``kcolor.judges`` is its deprecated old path);
* ``kcolor.evaluation.scoring``: per-image metrics of a batch and the summary table, on
  the one definition of the headline metrics, :mod:`kcolor.metrics.headline`;
* ``kcolor.evaluation.report``: the CSV files, the HTML page (in
  :func:`kcolor.report.html.page`'s shell) and the text summary.

Public names:
    evaluate: measure one or more colourisers (``kcolor.evaluation.run``).
    format_summary, write_report, grid_caption: the text summary, the HTML page and its
        grid captions (``kcolor.evaluation.report``).
    score_batch, truth_statistics, PER_IMAGE_METRICS, SUMMARY_COLUMNS: the per-image
        metrics and the table columns (``kcolor.evaluation.scoring``).
    get_judge, JUDGES, DEFAULT_JUDGE: the judges of semantic agreement
        (``kcolor.evaluation.judges``).
    iter_eval_batches, find_photos, prepare, grey_version, EvalBatch, Tally: the photos
        (``kcolor.evaluation.photos``).
    GREY: the grey baseline's name in the tables (``kcolor.evaluation.systems``).

The submodules load on first use, so ``import kcolor.evaluation`` imports neither numpy nor
Keras.

Example:
    >>> from kcolor.evaluation import evaluate
    >>> summary = evaluate("photos/bsds500/test", "beta-photos", out_dir="eval/")  # doctest: +SKIP
    >>> print(summary.round(3))                                                  # doctest: +SKIP
"""

from kcolor._lazy import lazy_getattr

_LAZY = {
    "evaluate": "kcolor.evaluation.run",
    "format_summary": "kcolor.evaluation.report",
    "grid_caption": "kcolor.evaluation.report",
    "write_report": "kcolor.evaluation.report",
    "DEFAULT_JUDGE": "kcolor.evaluation.judges",
    "JUDGES": "kcolor.evaluation.judges",
    "get_judge": "kcolor.evaluation.judges",
    "PER_IMAGE_METRICS": "kcolor.evaluation.scoring",
    "SUMMARY_COLUMNS": "kcolor.evaluation.scoring",
    "score_batch": "kcolor.evaluation.scoring",
    "truth_statistics": "kcolor.evaluation.scoring",
    "EvalBatch": "kcolor.evaluation.photos",
    "GEOMETRY": "kcolor.evaluation.photos",
    "Tally": "kcolor.evaluation.photos",
    "find_photos": "kcolor.evaluation.photos",
    "grey_version": "kcolor.evaluation.photos",
    "iter_eval_batches": "kcolor.evaluation.photos",
    "prepare": "kcolor.evaluation.photos",
    "GREY": "kcolor.evaluation.systems",
    # private names that tests of earlier versions import from here
    "_grid_columns": "kcolor.evaluation.report",
}


__getattr__ = lazy_getattr(__name__, _LAZY)


__all__ = sorted(k for k in _LAZY if not k.startswith("_"))
