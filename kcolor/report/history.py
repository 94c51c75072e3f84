"""Training curves: loss and metrics per epoch, train against validation.

* :func:`plot_history`: one subplot per metric of a training log (a ``history.csv`` of
  :class:`kcolor.callbacks.PandasLogger`, a DataFrame, or a ``PandasLogger``);
* :func:`history_caption`: what that figure draws, in words.

Example:
    >>> import pandas as pd
    >>> from kcolor.report.history import history_caption, plot_history
    >>> frame = pd.DataFrame({"epoch": [0, 1], "loss": [1.0, 0.5], "val_loss": [1.1, 0.7]})
    >>> len(plot_history(frame).axes), history_caption(frame)[:8]
    (1, '2 epochs')
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, MaxNLocator

from kcolor.errors import DataError

__all__ = ["BOOKKEEPING_COLUMNS", "history_caption", "plot_history"]

#: Columns a training log has next to the Keras log keys (the same as
#: ``kcolor.callbacks.BOOKKEEPING_COLUMNS``, kept here so that reports need no Keras).
BOOKKEEPING_COLUMNS = ("epoch", "batch", "learning_rate", "seconds", "samples", "images_per_s")


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
