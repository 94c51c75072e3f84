"""Metrics tables with the best value of each column marked: a figure, a Styler, HTML.

* :func:`metrics_table`: a matplotlib table figure;
* :func:`metrics_styler`: a pandas ``Styler`` (notebooks);
* :func:`metrics_html`: a plain HTML ``<table>`` for :func:`kcolor.report.html.page`.

Which way is better is guessed from a column's name (``loss``, ``mae``, ``lpips`` ...
lower; ``psnr``, ``ssim``, ``acc``, ``auc`` ... higher) unless ``better`` says; numbers are
formatted by :mod:`kcolor.formatting` (PSNR 2 decimals, SSIM/AuC 3...).

Example:
    >>> import pandas as pd
    >>> from kcolor.report.tables import metrics_html
    >>> metrics_html(pd.DataFrame({"psnr": [22.1, 24.3]}, index=["grey", "beta"]))[:7]
    '<table>'
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from kcolor.errors import DataError
from kcolor.formatting import format_value
from kcolor.report.html import escape

__all__ = ["metrics_html", "metrics_styler", "metrics_table"]

_HIGHLIGHT = "#d9f2d0"
_LOWER_IS_BETTER = (
    "loss",
    "mse",
    "mae",
    "rmse",
    "error",
    "lpips",
    "ciede",
    "delta_e",
    "fid",
    "seconds",
    "time",
)
_HIGHER_IS_BETTER = (
    "psnr",
    "ssim",
    "acc",
    "auc",
    "images_per_s",
    "precision",
    "recall",
    "iou",
    "f1",
    "score",
)


def _direction(name: str):
    """'min', 'max' or None for a metric name, by its usual meaning."""
    n = name.lower()
    n = n[4:] if n.startswith("val_") else n
    if n.startswith(("delta", "d_")) or "loss" in n or "error" in n:
        return "min"  # delta_colorfulness, val_loss, ...
    if any(t in n for t in _HIGHER_IS_BETTER):
        return "max"
    if any(t in n for t in _LOWER_IS_BETTER):
        return "min"
    return None  # colorfulness, chroma_ratio (best near the truth's): no winner


def _metrics_frame(data) -> pd.DataFrame:
    """Rows = models/runs, columns = metrics, from a DataFrame, Series or dict."""
    if isinstance(data, pd.DataFrame):
        frame = data.copy()
    elif isinstance(data, pd.Series):
        frame = data.to_frame().T
    elif isinstance(data, Mapping):
        values = list(data.values())
        if values and all(isinstance(v, Mapping) for v in values):
            frame = pd.DataFrame.from_dict(data, orient="index")  # {model: {metric: value}}
        else:
            frame = pd.DataFrame([data])  # {metric: value}
    else:
        raise TypeError(f"metrics must be a DataFrame or a dict, got {type(data).__name__}")
    if frame.empty:
        raise DataError("metrics table: no metrics")
    return frame


def _best_rows(frame: pd.DataFrame, better=None) -> dict:
    """{column: index label of the best row} for numeric columns with a known direction
    (a column whose best value is shared by several rows has no winner)."""
    better = dict(better or {})
    best = {}
    for col in frame.columns:
        direction = better.get(col, _direction(str(col)))
        series = pd.to_numeric(frame[col], errors="coerce")
        if direction not in ("min", "max") or series.notna().sum() < 2:
            continue
        top = series.min() if direction == "min" else series.max()
        if (series == top).sum() == 1:
            best[col] = series.idxmin() if direction == "min" else series.idxmax()
    return best


def _fmt(column, value, fmt=None) -> str:
    """A cell: :func:`kcolor.formatting.format_value` by column, or ``fmt`` when given."""
    if fmt is None or isinstance(value, bool):
        return format_value(column, value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return "" if pd.isna(value) else fmt.format(value)
    return str(value)


def metrics_table(data, better=None, fmt=None, title=None) -> Figure:
    """A table figure of metrics with the best value of each column in bold on green.

    Args:
        data: a DataFrame (rows = models or runs, columns = metrics), a dict
            ``{model: {metric: value}}``, or a flat dict ``{metric: value}``.
        better: ``{column: "min" | "max"}`` to say which way is better; other
            columns are guessed from their names (``loss``, ``mae``, ``lpips``
            ... lower; ``psnr``, ``ssim``, ``accuracy``, ``auc`` ... higher) and
            left plain when unknown. Only columns with two or more values are marked.
        fmt: one ``str.format`` spec for every number; ``None`` formats each column by its
            name (:func:`kcolor.formatting.format_value`: PSNR 2 decimals, SSIM/AuC 3...).
        title: figure title.

    Returns:
        A Figure holding one table axes.

    Example:
        >>> fig = metrics_table({"alpha": {"psnr": 20.1, "mae": 0.09},
        ...                      "beta": {"psnr": 22.4, "mae": 0.07}})
        >>> len(fig.axes)
        1
    """
    frame = _metrics_frame(data)
    best = _best_rows(frame, better)
    cells = [
        [_fmt(c, v, fmt) for c, v in zip(frame.columns, row, strict=True)]
        for row in frame.itertuples(index=False)
    ]
    row_labels = [str(i) for i in frame.index]
    show_index = not isinstance(frame.index, pd.RangeIndex)
    col_labels = [str(c) for c in frame.columns]
    width_chars = max([len(c) for c in col_labels] + [len(x) for r in cells for x in r] + [4])
    label_chars = max([len(r) for r in row_labels] + [1]) if show_index else 0
    width = min(16.0, 0.5 + 0.11 * (width_chars + 2) * len(col_labels) + 0.11 * label_chars)
    height = 0.45 + 0.3 * (len(frame) + 1) + (0.35 if title else 0.0)
    fig = Figure(figsize=(max(width, 3.0), height), layout="constrained")
    ax = fig.add_subplot()
    ax.axis("off")
    table = ax.table(
        cellText=cells,
        colLabels=col_labels,
        rowLabels=row_labels if show_index else None,
        loc="center",
        cellLoc="center",
    )
    table.auto_set_font_size(False)
    table.set_fontsize(10)
    table.scale(1.0, 1.35)
    for (r, c), cell in table.get_celld().items():
        cell.set_edgecolor("#bbbbbb")
        if r == 0 or c == -1:
            cell.set_text_props(fontweight="bold")
            cell.set_facecolor("#f0f0f0")
    positions = {label: k for k, label in enumerate(frame.index)}
    for j, col in enumerate(frame.columns):
        if col in best:
            cell = table[positions[best[col]] + 1, j]
            cell.set_facecolor(_HIGHLIGHT)
            cell.set_text_props(fontweight="bold")
    if title:
        ax.set_title(title)
    return fig


def metrics_styler(data, better=None, fmt=None):
    """The metrics as a :class:`pandas.io.formats.style.Styler` (for notebooks and HTML),
    best value per column in bold on green (same rules as :func:`metrics_table`)."""
    frame = _metrics_frame(data)
    best = _best_rows(frame, better)

    def mark(col):
        return [
            f"font-weight: bold; background-color: {_HIGHLIGHT}"
            if col.name in best and label == best[col.name]
            else ""
            for label in col.index
        ]

    styler = frame.style.apply(mark, axis=0)
    for c in frame.columns:
        if pd.api.types.is_numeric_dtype(frame[c]):
            styler = styler.format(lambda v, c=c: _fmt(c, v, fmt), subset=[c])
    return styler


def metrics_html(frame: pd.DataFrame, better=None, fmt=None) -> str:
    """A metrics frame as a plain HTML ``<table>``, the best value per column marked.

    The cells of the best rows get ``class="best"`` (bold in :func:`kcolor.report.html.page`'s
    style). A non-default index is shown as a first header column.

    Args:
        frame: rows (e.g. models) by metrics, as :func:`metrics_table` takes.
        better: ``{column: "min" | "max"}`` overriding the direction guessed from
            the column names (``loss``/``mse`` lower is better, ``psnr``/``ssim`` higher).
        fmt: one format for every numeric cell; ``None`` formats each column by its name
            (:func:`kcolor.formatting.format_value`).

    Example:
        >>> import pandas as pd
        >>> from kcolor.report.tables import metrics_html
        >>> metrics_html(pd.DataFrame({"psnr": [22.1, 24.3]}, index=["grey", "beta"]))[:7]
        '<table>'
    """
    best = _best_rows(frame, better)
    show_index = not isinstance(frame.index, pd.RangeIndex)
    head = "".join(f"<th>{escape(str(c))}</th>" for c in frame.columns)
    body = []
    for label, row in frame.iterrows():
        cells = "".join(
            f'<td class="{"best" if best.get(c) == label else ""}">{escape(_fmt(c, v, fmt))}</td>'
            for c, v in row.items()
        )
        lead = f"<th>{escape(str(label))}</th>" if show_index else ""
        body.append(f"<tr>{lead}{cells}</tr>")
    corner = "<th></th>" if show_index else ""
    return f"<table><thead><tr>{corner}{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
