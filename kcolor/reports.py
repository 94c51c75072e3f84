"""Figures and one-page HTML reports for colourisation runs.

Every function returns a :class:`matplotlib.figure.Figure` built without
``pyplot`` (no global state, no display: it renders with Agg), so it is safe
in scripts, tests and servers. Save one with ``fig.savefig("x.png")``.

* :func:`plot_history`: loss and metrics per epoch, train against val.
* :func:`compare_grid` (from :mod:`kcolor.figures`): rows of images, columns
  such as grey / model A / model B / truth, with titles.
* :func:`metrics_table`: a table of metrics with the best value per column
  highlighted (:func:`metrics_styler` gives the same as a pandas ``Styler``);
  numbers are formatted by :mod:`kcolor.formatting` (PSNR 2 decimals, SSIM/AuC 3...).
* :func:`build_report`: one self-contained HTML page for a training run.

Run-directory layout
--------------------
A training run (``kcolor train`` writes this; any script can) is a folder::

    run_dir/
      config.json        the model's configuration (builder and arguments); optional
      train_config.json  the training configuration (kcolor.training.TrainConfig); optional
      metadata.json      how it was made (command, data, seed, wall time...); optional
      history.csv        kcolor.callbacks.PandasLogger, one row per epoch
      previews/          kcolor.callbacks.ColorizationPreview: preview_epoch_000.png, ...
      metrics.csv        final evaluation: one row per model/split, one column per
      (or metrics.json)  metric; a flat {"metric": value} json is one row; optional
      report.html        written by build_report (self-contained, images embedded)
      history.png        written by build_report
      metrics.png        written by build_report (when there are metrics)

Anything else in the folder (checkpoints, weights) is ignored. When
``history.csv`` is absent, :func:`build_report` uses any other ``*.csv`` that
has an ``epoch`` column; previews are also looked for directly in ``run_dir``.

Example:
    >>> from kcolor import reports
    >>> fig = reports.plot_history("runs/demo/history.csv")   # doctest: +SKIP
    >>> fig.savefig("history.png")                            # doctest: +SKIP
    >>> reports.build_report("runs/demo")                     # doctest: +SKIP
    PosixPath('runs/demo/report.html')
"""

from __future__ import annotations

import base64
import datetime
import html
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, MaxNLocator

from kcolor.callbacks import BOOKKEEPING_COLUMNS
from kcolor.errors import DataError
from kcolor.figures import compare_grid, figure_to_png
from kcolor.formatting import format_value
from kcolor.io import atomic_write_bytes

__all__ = [
    "build_report",
    "compare_grid",
    "figure_to_png",
    "history_caption",
    "html_page",
    "img_tag",
    "metrics_html",
    "metrics_styler",
    "metrics_table",
    "plot_history",
]

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


# ---------------------------------------------------------------- helpers
def _load_history(frame_or_csv) -> pd.DataFrame:
    if isinstance(frame_or_csv, pd.DataFrame):
        return frame_or_csv.copy()
    if hasattr(frame_or_csv, "frame") and isinstance(frame_or_csv.frame, pd.DataFrame):
        return frame_or_csv.frame  # a PandasLogger
    path = Path(frame_or_csv)
    try:
        return pd.read_csv(path)
    except FileNotFoundError:
        raise DataError(f"{path}: no such training log") from None
    except Exception as exc:  # noqa: BLE001
        raise DataError(f"{path}: cannot read the training log: {exc}") from exc


def _history_metrics(frame: pd.DataFrame) -> list[str]:
    """Base metric names (``loss``, ``mae``...) in log order, from train and ``val_`` columns."""
    names = []
    for col in frame.columns:
        if col in BOOKKEEPING_COLUMNS or not pd.api.types.is_numeric_dtype(frame[col]):
            continue
        base = col[4:] if col.startswith("val_") else col
        if base not in names and not base.startswith("learning_rate"):
            names.append(base)
    # loss first, as everyone expects
    return sorted(names, key=lambda n: (n != "loss", names.index(n)))


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


# ---------------------------------------------------------------- plot_history
def plot_history(frame_or_csv, metrics=None, log_scale=False, title=None) -> Figure:
    """Loss and metrics per epoch: one subplot per metric, train against validation.

    Train is a solid blue line with circles, validation a dashed orange line with squares
    (markers only up to 30 epochs; a single epoch is a circle and a square); each subplot has
    a legend, and :func:`history_caption` says the same in words. The x axis has integer
    epoch ticks.

    Args:
        frame_or_csv: a DataFrame (such as ``PandasLogger.frame`` or
            ``pd.DataFrame(history.history)``), a :class:`PandasLogger`, or the
            path of its CSV.
        metrics: base names to plot (``"loss"``, ``"mae"``...; the ``val_``
            twin is added when present). Default: every logged metric, loss first.
        log_scale: log y axis (for subplots whose values are all positive).
        title: figure title.

    Returns:
        A Figure with one axes per metric.

    Example:
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"epoch": [0, 1, 2], "loss": [1.0, 0.5, 0.3],
        ...                       "val_loss": [1.1, 0.7, 0.6]})
        >>> len(plot_history(frame).axes)
        1
    """
    frame = _load_history(frame_or_csv)
    if frame.empty:
        raise DataError("plot_history: the training log has no rows yet")
    available = _history_metrics(frame)
    if metrics is None:
        metrics = available
        lr = frame.get("learning_rate")
        if lr is not None and lr.notna().any() and lr.nunique(dropna=True) > 1:
            metrics = metrics + ["learning_rate"]  # a schedule or ReduceLROnPlateau: show it
    else:
        metrics = [metrics] if isinstance(metrics, str) else list(metrics)
        missing = [m for m in metrics if m not in frame.columns and f"val_{m}" not in frame.columns]
        if missing:
            raise DataError(
                f"plot_history: no column for {missing}; the log has {list(frame.columns)}"
            )
    if not metrics:
        raise DataError(f"plot_history: no numeric metric columns in {list(frame.columns)}")

    x = frame["epoch"].to_numpy() if "epoch" in frame.columns else np.arange(len(frame))
    ncols = min(3, len(metrics))
    nrows = math.ceil(len(metrics) / ncols)
    fig = Figure(figsize=(4.4 * ncols, 3.3 * nrows + (0.4 if title else 0)), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    with_markers = len(frame) <= 30
    for ax, name in zip(axes, metrics, strict=False):
        values = []
        for col, (label, style, color, marker) in ((name, _TRAIN), (f"val_{name}", _VAL)):
            if col in frame.columns:
                y = frame[col].to_numpy(dtype=float)
                ax.plot(
                    x,
                    y,
                    style,
                    color=color,
                    marker=marker if with_markers else None,
                    markersize=4,
                    linewidth=1.6,
                    label=label,
                )
                values.append(y[np.isfinite(y)])
        values = np.concatenate(values) if values else np.array([])
        if (log_scale or name == "learning_rate") and values.size and (values > 0).all():
            ax.set_yscale("log")
        ax.set_title(name)
        ax.set_xlabel("epoch")
        _epoch_axis(ax, x)
        ax.grid(True, alpha=0.3)
        if name != "learning_rate":
            ax.legend(frameon=False, fontsize="small")
    for ax in axes[len(metrics) :]:
        fig.delaxes(ax)
    if title:
        fig.suptitle(title)
    return fig


#: (legend label, line style, colour, marker) of the train and validation curves.
_TRAIN = ("train", "-", "C0", "o")
_VAL = ("validation", "--", "C1", "s")


def _epoch_axis(ax, x) -> None:
    """Integer epoch ticks; a single epoch gets one tick in the middle of a unit-wide axis."""
    finite = np.asarray(x, dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size and finite.min() == finite.max():
        ax.set_xlim(finite[0] - 1.0, finite[0] + 1.0)
        ax.xaxis.set_major_locator(FixedLocator([finite[0]]))
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def history_caption(frame_or_csv) -> str:
    """What :func:`plot_history` draws for this log, in words (for a figure caption).

    Example:
        >>> import pandas as pd
        >>> history_caption(pd.DataFrame({"epoch": [0], "loss": [0.1], "val_loss": [0.2]}))
        '1 epoch: blue circle = train, orange square = validation.'
    """
    frame = _load_history(frame_or_csv)
    has_val = any(str(c).startswith("val_") for c in frame.columns)
    n = len(frame)
    if n == 1:
        text = "1 epoch: blue circle = train"
        return text + (", orange square = validation." if has_val else ".")
    if n <= 30:
        text = f"{n} epochs: solid blue line with circles = train"
        return text + (", dashed orange line with squares = validation." if has_val else ".")
    text = f"{n} epochs: solid blue = train"
    return text + (", dashed orange = validation." if has_val else ".")


# ---------------------------------------------------------------- metrics tables
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

    The cells of the best rows get ``class="best"`` (bold in :func:`html_page`'s
    style). A non-default index is shown as a first header column.

    Args:
        frame: rows (e.g. models) by metrics, as :func:`metrics_table` takes.
        better: ``{column: "min" | "max"}`` overriding the direction guessed from
            the column names (``loss``/``mse`` lower is better, ``psnr``/``ssim`` higher).
        fmt: one format for every numeric cell; ``None`` formats each column by its name
            (:func:`kcolor.formatting.format_value`).

    Example:
        >>> import pandas as pd
        >>> from kcolor.reports import metrics_html
        >>> metrics_html(pd.DataFrame({"psnr": [22.1, 24.3]}, index=["grey", "beta"]))[:7]
        '<table>'
    """
    best = _best_rows(frame, better)
    show_index = not isinstance(frame.index, pd.RangeIndex)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for label, row in frame.iterrows():
        cells = "".join(
            f'<td class="{"best" if best.get(c) == label else ""}">{html.escape(_fmt(c, v, fmt))}</td>'
            for c, v in row.items()
        )
        lead = f"<th>{html.escape(str(label))}</th>" if show_index else ""
        body.append(f"<tr>{lead}{cells}</tr>")
    corner = "<th></th>" if show_index else ""
    return f"<table><thead><tr>{corner}{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


# ---------------------------------------------------------------- build_report
def _find_history(run_dir: Path):
    preferred = run_dir / "history.csv"
    if preferred.exists():
        return preferred
    for path in sorted(run_dir.glob("*.csv")):
        if path.name == "metrics.csv" or path.name.endswith(".batches.csv"):
            continue
        try:
            if "epoch" in pd.read_csv(path, nrows=0).columns:
                return path
        except Exception:  # noqa: BLE001 - not a CSV we can read: not a history
            continue
    return None


def _read_metrics(run_dir: Path):
    csv, js = run_dir / "metrics.csv", run_dir / "metrics.json"
    try:
        if csv.exists():
            frame = pd.read_csv(csv)
            first = frame.columns[0]
            if not pd.api.types.is_numeric_dtype(frame[first]):
                frame = frame.set_index(first)
            return frame, csv
        if js.exists():
            return _metrics_frame(json.loads(js.read_text())), js
    except (DataError, TypeError, ValueError, OSError) as exc:
        raise DataError(f"{csv if csv.exists() else js}: cannot read the metrics: {exc}") from exc
    return None, None


def img_tag(png: bytes, alt: str) -> str:
    """An ``<img>`` tag holding ``png`` inline (base64), so a page needs no side files.

    Example:
        >>> from kcolor.reports import img_tag
        >>> img_tag(b"PNG", "a grid")
        '<img src="data:image/png;base64,UE5H" alt="a grid">'
    """
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'


_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #222;
       max-width: 1100px; margin: 24px auto; padding: 0 16px; line-height: 1.4; }
h1 { font-size: 1.7em; margin-bottom: 0.1em; }
h2 { font-size: 1.25em; border-bottom: 1px solid #ddd; padding-bottom: 4px; margin-top: 1.6em; }
.sub { color: #666; margin-top: 0; }
img { max-width: 100%; height: auto; display: block; margin: 8px 0; }
figure { margin: 0 0 18px 0; }
figcaption { color: #555; font-size: 0.9em; }
table { border-collapse: collapse; margin: 8px 0; font-size: 0.95em; }
th, td { border: 1px solid #ccc; padding: 4px 10px; text-align: right; }
th { background: #f3f3f3; }
td.best { background: #d9f2d0; font-weight: bold; }
.kv th { text-align: left; }
.kv td { text-align: left; font-family: ui-monospace, Menlo, Consolas, monospace; }
.row { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
.row figure { flex: 0 1 340px; min-width: 220px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 8px 14px; min-width: 120px; }
.card .v { font-size: 1.3em; font-weight: bold; }
.card .k { color: #666; font-size: 0.85em; }
"""


def html_page(title: str, sections, subtitle=()) -> str:
    """One self-contained HTML page in kcolor's report style.

    Args:
        title: the page title and ``<h1>`` (plain text, escaped here).
        sections: HTML fragments (e.g. ``"<h2>..</h2>"`` + :func:`metrics_html` or
            :func:`img_tag`), in order.
        subtitle: plain-text parts of the line under the title (escaped here);
            the current date and time is added at the end.

    Returns:
        The page as a string, ready to write as UTF-8.

    Example:
        >>> from kcolor.reports import html_page
        >>> page = html_page("Run 3", ["<h2>Loss</h2><p>0.01</p>"], subtitle=["runs/3"])
        >>> page.startswith("<!DOCTYPE html>") and "<h1>Run 3</h1>" in page
        True
    """
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    sub = " &middot; ".join(html.escape(str(part)) for part in (*subtitle, stamp))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f'<h1>{html.escape(title)}</h1><p class="sub">{sub}</p>'
        + "".join(sections)
        + "</body></html>\n"
    )


def _summary_cards(history: pd.DataFrame) -> str:
    cards = [("epochs", str(len(history)))]
    for col in ("loss", "val_loss"):
        if col in history.columns and history[col].notna().any():
            cards.append((f"last {col}", format_value(col, history[col].dropna().iloc[-1])))
            if col == "val_loss":
                k = history[col].idxmin()
                epoch = history["epoch"][k] if "epoch" in history.columns else k
                best = format_value(col, history[col][k])
                cards.append(("best val_loss", f"{best} (epoch {format_value('epoch', epoch)})"))
    if "seconds" in history.columns:
        cards.append(("training time", f"{format_value('seconds', history['seconds'].sum())} s"))
    if "images_per_s" in history.columns and history["images_per_s"].notna().any():
        cards.append(("images / s", format_value("images_per_s", history["images_per_s"].median())))
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card"><div class="v">{html.escape(v)}</div><div class="k">{html.escape(k)}</div></div>'
            for k, v in cards
        )
        + "</div>"
    )


def build_report(run_dir, title=None, max_previews=3, log_scale=False) -> Path:
    """Write ``run_dir/report.html`` (one self-contained page) and its PNG figures.

    Reads what the run left in ``run_dir`` (see the layout in this module's
    docstring): the training history, the latest ``max_previews`` preview
    grids, the metrics, ``config.json``, ``train_config.json`` and ``metadata.json``;
    sections without data are left out.
    Writes ``history.png`` (and ``metrics.png``) next to the page; every image
    is embedded in the HTML as base64, so the page can be mailed on its own.

    Args:
        run_dir: the run folder.
        title: page title (default: the folder's name).
        max_previews: how many of the latest preview grids to show.
        log_scale: plot the history on a log scale.

    Returns:
        The path of ``report.html``.

    Raises:
        DataError: the folder is missing or holds nothing to report.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise DataError(f"{run_dir}: no such run folder")
    title = title or run_dir.resolve().name
    sections = []

    history_path = _find_history(run_dir)
    history = _load_history(history_path) if history_path is not None else None
    if history is not None and not history.empty:
        fig = plot_history(history, log_scale=log_scale, title=None)
        png = figure_to_png(fig)
        atomic_write_bytes(run_dir / "history.png", png)
        sections.append(
            "<h2>Training</h2>"
            + _summary_cards(history)
            + f"<figure>{img_tag(png, 'training history')}"
            + f"<figcaption>{html.escape(history_path.name)}: "
            + f"{html.escape(history_caption(history))}</figcaption></figure>"
        )

    previews = sorted((run_dir / "previews").glob("preview_*.png")) + sorted(
        run_dir.glob("preview_*.png")
    )
    previews = sorted(previews, key=lambda p: p.name)[-max_previews:] if max_previews else []
    if previews:
        figures = "".join(
            f"<figure>{img_tag(p.read_bytes(), p.stem)}"
            f"<figcaption>{html.escape(p.name)}</figcaption></figure>"
            for p in reversed(previews)
        )
        sections.append(f'<h2>Previews (latest first)</h2><div class="row">{figures}</div>')

    metrics, metrics_path = _read_metrics(run_dir)
    if metrics is not None:
        fig = metrics_table(metrics)
        atomic_write_bytes(run_dir / "metrics.png", figure_to_png(fig))
        sections.append(
            f"<h2>Metrics</h2>{metrics_html(metrics)}"
            f'<p class="sub">From {html.escape(metrics_path.name)}; best value per column in bold.</p>'
        )

    for name, heading in _JSON_SECTIONS:
        section = _json_section(run_dir / name, heading)
        if section:
            sections.append(section)

    if not sections:
        raise DataError(
            f"{run_dir}: nothing to report (no history.csv, previews/, metrics.csv|json, "
            "config.json, train_config.json or metadata.json)"
        )
    page = html_page(title, sections, subtitle=["kcolor training report", str(run_dir)])
    out = run_dir / "report.html"
    atomic_write_bytes(out, page.encode("utf-8"))
    return out


#: The JSON files of a run shown as key/value tables, with their headings.
_JSON_SECTIONS = (
    ("config.json", "Configuration"),
    ("train_config.json", "Training configuration"),
    ("metadata.json", "Metadata"),
)


def _json_section(path: Path, heading: str) -> str | None:
    """A ``<h2>`` and a key/value table of the JSON file ``path``, or ``None`` if absent."""
    if not path.exists():
        return None
    try:
        value = json.loads(path.read_text())
    except ValueError as exc:
        raise DataError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(value, Mapping):
        return f"<h2>{heading}</h2><pre>{html.escape(json.dumps(value, indent=2))}</pre>"
    rows = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_config_value(v))}</td></tr>"
        for k, v in value.items()
    )
    return f'<h2>{heading}</h2><table class="kv">{rows}</table>'


def _config_value(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (Sequence, Mapping)):
        return json.dumps(value)
    return str(value)
