"""Reports: matplotlib figures, metrics tables and the one HTML page shell.

Every figure is a :class:`matplotlib.figure.Figure` built without ``pyplot`` (no global
state, no display: it renders with Agg), so it is safe in scripts, tests, servers and
training callbacks. Nothing here imports Keras or torch, so reports can be drawn where
neither is installed or wanted.

Public names:
    page, html_page, img_tag, kv_table, escape, CSS: the one HTML page shell of every
        kcolor report, and the pieces that go in it (``kcolor.report.html``).
    compare_grid, figure_to_png, as_display: image grids (grey / model A / model B /
        truth) and PNG bytes (``kcolor.report.figures``).
    plot_history, history_caption, BOOKKEEPING_COLUMNS: training curves, train against
        validation, and their caption (``kcolor.report.history``).
    metrics_table, metrics_styler, metrics_html: metrics tables with the best value per
        column marked, as a figure, a pandas Styler or HTML (``kcolor.report.tables``).
    build_report: the one-page HTML report of a training run folder
        (``kcolor.report.run``, which also describes the run-folder layout).

The submodules load on first use, so ``import kcolor.report`` imports neither matplotlib
nor pandas. ``kcolor.reports`` and ``kcolor.figures`` are deprecated aliases of this
package and of ``kcolor.report.figures``.

Example:
    >>> from kcolor import report
    >>> text = report.page("Run 3", "<p>0.01</p>", stamp=False)
    >>> "<h1>Run 3</h1>" in text
    True
"""

from kcolor._lazy import lazy_getattr

_LAZY = {
    "CSS": "kcolor.report.html",
    "escape": "kcolor.report.html",
    "html_page": "kcolor.report.html",
    "img_tag": "kcolor.report.html",
    "kv_table": "kcolor.report.html",
    "page": "kcolor.report.html",
    "as_display": "kcolor.report.figures",
    "compare_grid": "kcolor.report.figures",
    "figure_to_png": "kcolor.report.figures",
    "BOOKKEEPING_COLUMNS": "kcolor.report.history",
    "history_caption": "kcolor.report.history",
    "plot_history": "kcolor.report.history",
    "metrics_html": "kcolor.report.tables",
    "metrics_styler": "kcolor.report.tables",
    "metrics_table": "kcolor.report.tables",
    "build_report": "kcolor.report.run",
    # private names that examples of earlier versions use through ``kcolor.reports``
    "_HIGHLIGHT": "kcolor.report.tables",
    "_direction": "kcolor.report.tables",
    "_metrics_frame": "kcolor.report.tables",
}


__getattr__ = lazy_getattr(__name__, _LAZY)


__all__ = sorted(k for k in _LAZY if not k.startswith("_"))
