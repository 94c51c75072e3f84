"""One number format for every table kcolor prints or writes: decimals chosen by metric name.

:func:`format_value` formats one value by the name of its column, :func:`format_table` a
whole :class:`pandas.DataFrame`; the terminal summaries, the HTML tables and the table
figures all go through them, so a PSNR reads ``22.60`` everywhere.

========================================================  =====================================
column (``val_`` prefix and ``model/`` prefix ignored)     format
========================================================  =====================================
counts: ``epoch``, ``epochs``, ``batch``, ``samples``,     integer: ``12``
``steps``, ``n_*``, ``photos``, ``images``, ``size``
``psnr``                                                    2 decimals: ``22.60``
``ssim``, ``auc``, accuracies, ``semantic_agreement``,     3 decimals: ``0.873``
ratios (``chroma_ratio``), ``iou``, ``f1``, precision,
recall
colourfulness, chroma (``delta_colorfulness`` too)          2 decimals: ``31.47``
``seconds``, ``time``, ``images_per_s``                     1 decimal: ``12.3``
``learning_rate``, ``lr``                                   3 significant digits: ``0.001``
losses and anything else                                    4 significant digits: ``0.0003257``
========================================================  =====================================

``NaN`` becomes ``na_rep`` (empty by default), infinities ``inf``/``-inf``; strings and other
objects are shown as they are.

Counts in sentences go through :func:`plural` (``"1 epoch"``, ``"2 epochs"``, never
``"1 epochs"``). This module imports pandas only inside :func:`format_table`, so the
``kcolor`` command can use it before any heavy module loads.

Example:
    >>> from kcolor.formatting import format_value
    >>> format_value("psnr", 22.6), format_value("val_loss", 0.00032571), format_value("epoch", 3.0)
    ('22.60', '0.0003257', '3')
"""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["format_table", "format_value", "plural", "value_format"]

_COUNTS = frozenset(
    {"epoch", "epochs", "batch", "batches", "samples", "steps", "photos", "images", "size", "count"}
)
_THREE_DECIMALS = (
    "ssim",
    "auc",
    "accuracy",
    "acc",
    "agreement",
    "agree",
    "ratio",
    "iou",
    "f1",
    "precision",
    "recall",
)
_TWO_DECIMALS = ("psnr", "colorfulness", "colourfulness", "chroma", "cf")
_ONE_DECIMAL = ("seconds", "time", "images_per_s", "per_s")


def _base(name) -> str:
    """``"model/val_psnr"`` -> ``"psnr"``: the metric part of a column name, lower case."""
    n = str(name).strip().lower().rsplit("/", 1)[-1]
    for prefix in ("val_", "train_"):
        if n.startswith(prefix):
            n = n[len(prefix) :]
    return n.replace(" ", "_").replace("δ", "delta_")


def value_format(name) -> str:
    """The ``str.format`` spec for the column ``name`` (``"{:.2f}"`` for ``"psnr"``...)."""
    n = _base(name)
    words = set(n.split("_"))
    if n in _COUNTS or n.startswith("n_"):
        return "{:.0f}"
    if "psnr" in words:
        return "{:.2f}"
    if n in ("learning_rate", "lr"):
        return "{:.3g}"
    if words & set(_ONE_DECIMAL) or n in _ONE_DECIMAL:
        return "{:.1f}"
    if words & set(_THREE_DECIMALS) or n in _THREE_DECIMALS:
        return "{:.3f}"
    if words & set(_TWO_DECIMALS):
        return "{:.2f}"
    return "{:.4g}"


def format_value(name, value, na_rep: str = "") -> str:
    """``value`` as text, with the decimals of the column ``name`` (see the module table).

    Args:
        name: the column (metric) name, e.g. ``"psnr"``, ``"val_loss"``, ``"beta/auc"``.
        value: a number (Python, numpy or a 0-d array), or anything else (shown with ``str``).
        na_rep: the text for ``NaN`` and ``None``.

    Example:
        >>> format_value("ssim", 0.81234), format_value("samples", 20.0)
        ('0.812', '20')
    """
    if value is None:
        return na_rep
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        try:
            if getattr(value, "ndim", None) == 0:  # a numpy scalar array
                return format_value(name, value.item(), na_rep)
        except (AttributeError, ValueError):
            pass
        return str(value)
    value = float(value)
    if math.isnan(value):
        return na_rep
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    text = value_format(name).format(value)
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.00"


def plural(n, word: str, many: str | None = None) -> str:
    """``n`` and ``word``, in the plural unless ``n`` is 1: ``"1 photo"``, ``"1,024 photos"``.

    Args:
        n: the count (an int, or a whole float / numpy integer).
        word: the singular.
        many: the plural when it is not ``word + "s"`` (e.g. ``"batches"``).

    Example:
        >>> plural(1, "epoch"), plural(2, "epoch"), plural(0, "batch", "batches")
        ('1 epoch', '2 epochs', '0 batches')
    """
    n = int(n)
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def format_table(frame: pd.DataFrame, na_rep: str = "") -> pd.DataFrame:
    """A copy of ``frame`` with every cell formatted by :func:`format_value` for its column.

    Index and column labels are kept; every cell becomes a string.

    Example:
        >>> import pandas as pd
        >>> format_table(pd.DataFrame({"psnr": [22.6, 19.0], "auc": [0.9, 0.85]})).to_dict("list")
        {'psnr': ['22.60', '19.00'], 'auc': ['0.900', '0.850']}
    """
    import pandas as pd

    out = pd.DataFrame(index=frame.index)
    for col in frame.columns:
        out[col] = [format_value(col, v, na_rep) for v in frame[col]]
    out.index.name = frame.index.name
    return out
