"""Colour previews while training: a ``grey | prediction | truth`` grid every few epochs.

Example:
    >>> from kcolor.callbacks.preview import ColorizationPreview
    >>> preview = ColorizationPreview(x[:6], y[:6], "runs/demo/previews")  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from kcolor import color
from kcolor.errors import DataError
from kcolor.io.atomic import atomic_write_bytes
from kcolor.report.figures import compare_grid, figure_to_png

__all__ = ["ColorizationPreview"]


class ColorizationPreview(keras.callbacks.Callback):
    """Save a ``grey | prediction | truth`` grid of a fixed sample every few epochs.

    The grid is a PNG named ``preview_epoch_{epoch:03d}.png`` in ``out_dir``
    where ``epoch`` is the 0-based index of the epoch just finished (the same
    number as the ``epoch`` column of :class:`PandasLogger`). It is written
    atomically, with matplotlib's Agg backend (no display needed).

    Args:
        sample_inputs: the model's input for the sample: encoded L
            ``(N, H, W, 1)``, or for a two-input (fusion) model a list/tuple
            ``[L, embedding]``; the grey column is drawn from the first input.
        sample_targets: encoded ab ``(N, H, W, 2)``, the truth.
        out_dir: folder for the PNGs (created).
        every: save after every ``every``-th epoch (and after the last one).
        max_images: at most this many rows (the first ones of the sample).
        cell_size: size of one image in the grid, inches (at 100 dpi).
        preview_model: the model that draws the preview, when the trained one does not
            output encoded ab itself (e.g. ``kcolor.models.to_ab_model(model)`` for a
            colour-class model; it shares the trained layers); default the trained model.

    Example:
        >>> from kcolor.color import split_lab
        >>> x, y = split_lab(rgb_images)                                   # doctest: +SKIP
        >>> preview = ColorizationPreview(x[:6], y[:6], "runs/demo/previews", every=2)  # doctest: +SKIP
        >>> model.fit(x, y, epochs=10, callbacks=[preview])                # doctest: +SKIP
    """

    def __init__(
        self,
        sample_inputs,
        sample_targets,
        out_dir,
        every=1,
        max_images=8,
        cell_size=1.6,
        preview_model=None,
    ):
        super().__init__()
        self.preview_model = preview_model
        if int(every) < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        if int(max_images) < 1:
            raise ValueError(f"max_images must be >= 1, got {max_images}")
        self.every = int(every)
        self.max_images = int(max_images)
        self.cell_size = float(cell_size)
        self.out_dir = Path(out_dir)
        n = self.max_images
        if isinstance(sample_inputs, (list, tuple)):
            self.sample_inputs = [np.asarray(a, dtype="float32")[:n] for a in sample_inputs]
            grey_input = self.sample_inputs[0]
        else:
            self.sample_inputs = np.asarray(sample_inputs, dtype="float32")[:n]
            grey_input = self.sample_inputs
        self.sample_targets = np.asarray(sample_targets, dtype="float32")[:n]
        if grey_input.ndim != 4 or grey_input.shape[-1] != 1:
            raise ValueError(
                f"the (first) sample input must be encoded L of shape (N, H, W, 1), got {grey_input.shape}"
            )
        if self.sample_targets.shape != grey_input.shape[:3] + (2,):
            raise ValueError(
                f"sample_targets must be encoded ab of shape {grey_input.shape[:3] + (2,)}, "
                f"got {self.sample_targets.shape}"
            )
        self._L = grey_input
        self.saved: list[Path] = []
        self._last_epoch = None

    def path_for(self, epoch) -> Path:
        return self.out_dir / f"preview_epoch_{int(epoch):03d}.png"

    def on_epoch_end(self, epoch, logs=None):
        last = self.params.get("epochs") if self.params else None
        if (epoch + 1) % self.every == 0 or (last is not None and epoch + 1 == last):
            self.save(epoch)

    def render(self, epoch=None):
        """The preview figure for the model as it is now (a matplotlib Figure)."""
        model = self.preview_model if self.preview_model is not None else self.model
        pred = model.predict(self.sample_inputs, batch_size=len(self._L), verbose=0)
        pred = np.asarray(keras.ops.convert_to_numpy(pred), dtype="float32")
        if pred.shape != self.sample_targets.shape:
            raise DataError(
                f"ColorizationPreview: the model predicts shape {pred.shape}, "
                f"expected encoded ab {self.sample_targets.shape}"
            )
        grey = color.merge_lab(self._L, np.zeros_like(self.sample_targets))
        fake = color.merge_lab(self._L, pred)
        real = color.merge_lab(self._L, self.sample_targets)
        title = None if epoch is None else f"epoch {int(epoch)}"
        return compare_grid(
            {"grey input": list(grey), "prediction": list(fake), "truth": list(real)},
            title=title,
            cell_size=self.cell_size,
        )

    def save(self, epoch):
        """Render and save the grid for ``epoch``; returns the PNG path."""
        path = self.path_for(epoch)
        atomic_write_bytes(path, figure_to_png(self.render(epoch), dpi=100))
        self.saved.append(path)
        return path

    def get_config(self):
        return {
            "out_dir": str(self.out_dir),
            "every": self.every,
            "max_images": self.max_images,
            "cell_size": self.cell_size,
        }
