"""Matplotlib figures without ``pyplot``: image grids and PNG bytes.

Every figure is a :class:`matplotlib.figure.Figure` built without ``pyplot`` (no global
state, no display: it renders with Agg), so it is safe in scripts, tests, servers and
training callbacks.

* :func:`compare_grid`: rows of images, columns such as grey / model A / model B / truth.
* :func:`figure_to_png`: a figure as PNG bytes.

Example:
    >>> import numpy as np
    >>> from kcolor.report.figures import compare_grid, figure_to_png
    >>> fig = compare_grid({"grey": np.zeros((1, 8, 8)), "truth": np.ones((1, 8, 8, 3))})
    >>> figure_to_png(fig)[:4]
    b'\x89PNG'
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure

__all__ = ["as_display", "compare_grid", "figure_to_png"]


def figure_to_png(fig: Figure, dpi: int = 100) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def as_display(image):
    """An image as float RGB in [0, 1] (H, W, 3), or None for an empty cell."""
    if image is None:
        return None
    if type(image).__module__.startswith("torch"):
        image = image.detach().cpu().numpy()
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=-1)
    if a.ndim != 3 or a.shape[-1] not in (3, 4):
        raise ValueError(
            f"expected an image (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got {a.shape}"
        )
    a = a[..., :3]
    if a.dtype == np.uint8:
        return a.astype(np.float32) / 255.0
    if a.dtype == bool:
        return a.astype(np.float32)
    a = a.astype(np.float32)
    if a.size and a.max() > 1.5:  # 0-255 floats
        a = a / 255.0
    return np.clip(a, 0.0, 1.0)


def compare_grid(images, column_titles=None, row_titles=None, title=None, cell_size=2.0) -> Figure:
    """A grid of images: one row per photo, one column per version of it.

    Args:
        images: either a mapping ``{column title: [image per row]}`` (for
            example ``{"grey": g, "model A": a, "model B": b, "truth": t}``)
            or a list of rows, each a list of images. An image is uint8 or
            float RGB (``(H, W, 3)``, floats in ``[0, 1]``), or grey
            ``(H, W)`` / ``(H, W, 1)``; ``None`` leaves a cell empty.
        column_titles: titles above the columns (default: the mapping's keys).
        row_titles: labels left of the rows.
        title: figure title.
        cell_size: size of one cell in inches.

    Returns:
        A Figure with ``rows * columns`` axes.

    Example:
        >>> import numpy as np
        >>> grey, pred, truth = (np.zeros((2, 8, 8, 3)) for _ in range(3))
        >>> fig = compare_grid({"grey": grey, "prediction": pred, "truth": truth})
        >>> len(fig.axes)
        6
    """
    if isinstance(images, Mapping):
        keys = list(images)
        columns = [list(images[k]) for k in keys]
        if column_titles is None:
            column_titles = [str(k) for k in keys]
        n_rows = max((len(c) for c in columns), default=0)
        rows = [[c[i] if i < len(c) else None for c in columns] for i in range(n_rows)]
    else:
        rows = [list(r) for r in images]
    if not rows or not any(len(r) for r in rows):
        raise ValueError("compare_grid: no images")
    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    if column_titles is not None and len(column_titles) != n_cols:
        raise ValueError(f"compare_grid: {len(column_titles)} column titles for {n_cols} columns")
    if row_titles is not None and len(row_titles) != n_rows:
        raise ValueError(f"compare_grid: {len(row_titles)} row titles for {n_rows} rows")

    first = next(as_display(im) for r in rows for im in r if im is not None)
    aspect = first.shape[0] / first.shape[1]  # height / width
    head = 0.35 if column_titles is not None else 0.0
    fig = Figure(
        figsize=(
            cell_size * n_cols + (0.5 if row_titles else 0.0),
            cell_size * aspect * n_rows + head + (0.45 if title else 0.0),
        ),
        layout="compressed",  # the constrained layout, with the gaps of fixed-aspect images closed
    )
    fig.get_layout_engine().set(w_pad=0.03, h_pad=0.03, wspace=0.02, hspace=0.02)
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    fontsize = 10 if cell_size >= 1.5 else 8
    for i, row in enumerate(rows):
        for j in range(n_cols):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            image = as_display(row[j]) if j < len(row) else None
            if image is not None:
                small = max(image.shape[:2]) < 64
                ax.imshow(image, interpolation="nearest" if small else "antialiased")
            if i == 0 and column_titles is not None:
                ax.set_title(str(column_titles[j]), fontsize=fontsize)
            if j == 0 and row_titles is not None:
                ax.set_ylabel(str(row_titles[i]), fontsize=fontsize)
    if title:
        fig.suptitle(title, fontsize=fontsize + 2, fontweight="bold")
    return fig
