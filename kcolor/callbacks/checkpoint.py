"""Keeping the best model of a run: atomically, never with NaN, across resumed runs.

Example:
    >>> from kcolor.callbacks.checkpoint import BestModelCheckpoint
    >>> BestModelCheckpoint.sidecar("runs/a/model.keras").name
    'model.best.json'
"""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np

from kcolor.io.atomic import atomic_path, atomic_write_bytes

__all__ = ["BestModelCheckpoint"]


def _finite(value) -> bool:
    try:
        return bool(np.isfinite(float(keras.ops.convert_to_numpy(value))))
    except Exception:  # noqa: BLE001 - not a number at all
        return False


def _finite_weights(model) -> bool:
    """True when no weight of ``model`` is NaN or infinite."""
    return all(np.isfinite(keras.ops.convert_to_numpy(w)).all() for w in model.weights)


class BestModelCheckpoint(keras.callbacks.Callback):
    """Save the model whenever ``monitor`` improves: atomically, never with NaN, resumable.

    Like ``keras.callbacks.ModelCheckpoint(save_best_only=True)``, with three differences
    that matter for long, interruptible runs:

    * the ``.keras`` file is written to a temp file in the same folder and moved into
      place, so a run killed while saving leaves the previous best intact;
    * an epoch whose monitored value (or ``loss``, or any weight) is NaN or infinite is
      never saved;
    * the best value is kept next to the model in ``<name>.best.json``
      (``{"epoch", "monitor", "value"}``) and read back when the callback is created
      again, so a resumed run does not forget its best and overwrite a good model with
      a worse one. ``initial_value_threshold`` overrides it.

    Args:
        filepath: the ``.keras`` file to write.
        monitor: the log key to watch (e.g. ``"val_loss"``).
        mode: ``"min"`` or ``"max"``.
        initial_value_threshold: the value to beat; ``None`` reads the sidecar, if any.

    Example:
        >>> ckpt = BestModelCheckpoint("runs/a/model.keras", monitor="val_loss")  # doctest: +SKIP
        >>> model.fit(x, y, validation_data=(vx, vy), callbacks=[ckpt])          # doctest: +SKIP
        >>> ckpt.best                                                            # doctest: +SKIP
    """

    def __init__(self, filepath, monitor="val_loss", mode="min", initial_value_threshold=None):
        super().__init__()
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.filepath = Path(filepath)
        if self.filepath.suffix != ".keras":
            raise ValueError(f"{self.filepath}: the model file must end in .keras")
        self.monitor = monitor
        self.mode = mode
        self.best_epoch = None
        self.best = initial_value_threshold
        if self.best is None:
            saved = self.read_best(self.filepath)
            if saved is not None and saved.get("monitor") == monitor:
                self.best, self.best_epoch = float(saved["value"]), saved.get("epoch")

    @staticmethod
    def sidecar(filepath) -> Path:
        """Where the best value of ``filepath`` is kept."""
        filepath = Path(filepath)
        return filepath.with_name(filepath.stem + ".best.json")

    @classmethod
    def read_best(cls, filepath) -> dict | None:
        """The sidecar of ``filepath`` as a dict, or ``None`` if absent or unreadable."""
        try:
            data = json.loads(cls.sidecar(filepath).read_text())
            float(data["value"])
            return data
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _better(self, value: float) -> bool:
        if self.best is None or not np.isfinite(self.best):
            return True
        return value < self.best if self.mode == "min" else value > self.best

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.monitor not in logs:
            return
        if not _finite(logs[self.monitor]) or ("loss" in logs and not _finite(logs["loss"])):
            return
        value = float(keras.ops.convert_to_numpy(logs[self.monitor]))
        if not self._better(value) or not _finite_weights(self.model):
            return
        with atomic_path(self.filepath, suffix=".tmp.keras") as tmp:
            self.model.save(tmp, overwrite=True)
        self.best, self.best_epoch = value, int(epoch)
        record = {"epoch": int(epoch), "monitor": self.monitor, "value": value}
        atomic_write_bytes(self.sidecar(self.filepath), (json.dumps(record) + "\n").encode())
