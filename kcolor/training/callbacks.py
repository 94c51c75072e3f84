"""The callbacks every run uses: stop on a NaN loss (saying where), back up only finite
epochs, and write the preset files when the monitored loss improves.

Example:
    >>> from kcolor.training.callbacks import StopOnNaN, finite
    >>> StopOnNaN().stopped is None, finite("nan"), finite(0.5)
    (True, False, True)
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from kcolor.presets import format as preset_format

import keras  # noqa: E402  isort: skip  (after kcolor: the torch backend)


class StopOnNaN(keras.callbacks.TerminateOnNaN):
    """TerminateOnNaN that records where the loss broke: ``(epoch, batch, value)``."""

    def __init__(self):
        super().__init__()
        self.stopped = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss", 0.0)
        if self.stopped is None and not finite(loss):
            self.stopped = (self._epoch, int(batch), float(loss))
        super().on_batch_end(batch, logs)


class FiniteBackupAndRestore(keras.callbacks.BackupAndRestore):
    """BackupAndRestore that never backs up an epoch whose loss is NaN or infinite."""

    def on_epoch_end(self, epoch, logs=None):
        if all(finite((logs or {}).get(k, 0.0)) for k in ("loss", "val_loss")):
            super().on_epoch_end(epoch, logs)


class SaveBestPreset(keras.callbacks.Callback):
    """Write the run folder's preset files whenever ``monitor`` improves (never a NaN epoch).

    The best value is kept in ``metadata.json`` (``best``) and read back on ``--resume``,
    so a resumed run never replaces a good model with a worse one.

    Args:
        folder: the run folder.
        save: ``save(model, metadata)`` writing the preset files.
        monitor: the log key to watch.
    """

    def __init__(self, folder, save, monitor="val_loss"):
        super().__init__()
        self.folder, self.save, self.monitor = Path(folder), save, monitor
        self.best = self.best_epoch = None
        try:
            best = preset_format.read_metadata(self.folder).get("best") or {}
        except Exception:  # noqa: BLE001 - no readable metadata: nothing to beat
            best = {}
        if best.get("monitor") == monitor and finite(best.get("value")):
            self.best, self.best_epoch = float(best["value"]), best.get("epoch")

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or not finite(value) or not finite((logs or {}).get("loss", 0.0)):
            return
        if self.best is not None and not float(value) < self.best:
            return
        if not all(np.isfinite(w).all() for w in self.model.get_weights()):
            return
        self.best, self.best_epoch = float(value), int(epoch)
        self.save(
            self.model,
            {"best": {"epoch": int(epoch) + 1, "monitor": self.monitor, "value": float(value)}},
        )


def finite(value) -> bool:
    """Whether ``value`` is a finite number (``False`` for ``None``, NaN, text...)."""
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False
