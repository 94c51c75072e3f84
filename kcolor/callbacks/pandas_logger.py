"""A crash-safe, resumable training log as a :class:`pandas.DataFrame` and a CSV.

:class:`PandasLogger` keeps one row per epoch (every log key, the learning rate, wall
seconds and images per second), rewrites its CSV atomically after every epoch, survives
``SIGKILL`` and resumes cleanly under :class:`keras.callbacks.BackupAndRestore`.
:data:`BOOKKEEPING_COLUMNS` are the columns it adds next to the Keras log keys.

Example:
    >>> from kcolor.callbacks.pandas_logger import BOOKKEEPING_COLUMNS
    >>> BOOKKEEPING_COLUMNS
    ('epoch', 'batch', 'learning_rate', 'seconds', 'samples', 'images_per_s')
"""

from __future__ import annotations

import time
from pathlib import Path

import keras
import pandas as pd

from kcolor.errors import DataError
from kcolor.io.atomic import atomic_write_bytes

__all__ = [
    "BOOKKEEPING_COLUMNS",
    "EPOCH",
    "IMAGES_PER_S",
    "LEARNING_RATE",
    "SAMPLES",
    "SECONDS",
    "PandasLogger",
]

# Columns the logger adds next to the Keras log keys.
EPOCH = "epoch"
LEARNING_RATE = "learning_rate"
SECONDS = "seconds"
SAMPLES = "samples"
IMAGES_PER_S = "images_per_s"
BOOKKEEPING_COLUMNS = (EPOCH, "batch", LEARNING_RATE, SECONDS, SAMPLES, IMAGES_PER_S)


def _to_float(value):
    try:
        return float(keras.ops.convert_to_numpy(value))
    except Exception:  # noqa: BLE001 - a log value we cannot read as a number
        return value


def _current_learning_rate(model):
    """The optimizer's learning rate now (schedules are evaluated at the current step)."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return float("nan")
    try:
        return float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    except Exception:  # noqa: BLE001 - e.g. a custom optimizer without a readable rate
        return float("nan")


def _samples_seen(model):
    """Training samples the model has seen since its metrics were last reset, or ``None``.

    Keras' ``train_step`` adds each batch's size to the ``count`` of the model's loss tracker
    (``model.metrics[0]``, a ``Mean`` named ``"loss"``), and ``fit`` resets it at the start of
    every epoch: so during an epoch's training part it counts that epoch's images, partial last
    batches and ``PyDataset`` batches included.
    """
    for metric in getattr(model, "metrics", None) or ():
        if getattr(metric, "name", None) == "loss" and hasattr(metric, "count"):
            try:
                return int(round(float(keras.ops.convert_to_numpy(metric.count))))
            except Exception:  # noqa: BLE001 - a tracker whose count we cannot read
                return None
    return None


class PandasLogger(keras.callbacks.Callback):
    """Log training to a :class:`pandas.DataFrame` and a crash-safe CSV.

    One row per epoch with the columns ``epoch`` (0-based, as Keras'
    ``CSVLogger``), every log key Keras reports (``loss``, metrics and their
    ``val_`` twins), ``learning_rate``, ``seconds`` (wall time of the whole
    epoch, validation included), ``samples`` (training images seen) and
    ``images_per_s`` (``samples`` over the training part of the epoch).

    **Learning rate.** Taken from ``logs["learning_rate"]`` when a callback
    such as ``ReduceLROnPlateau`` puts it there, otherwise read from the
    optimizer at the start of the epoch (a ``LearningRateSchedule`` is
    evaluated at the current step).

    **Images per second.** By default ``samples`` is read off the model's loss
    tracker (``model.metrics[0]``), whose ``count`` Keras' ``train_step`` raises
    by every batch's size and ``fit`` resets every epoch: exact, partial last
    batches and ``PyDataset`` included. It is read once per epoch, when
    validation begins or at the epoch's end, so training is not slowed. A
    model whose own ``train_step`` does not update that tracker, or
    ``count_samples=False``, gets ``steps * batch_size`` instead, which needs the
    ``batch_size`` argument (otherwise ``samples`` and ``images_per_s`` are NaN).

    **Crash safety.** After every epoch the whole CSV is rewritten through a
    temp file in the same folder and ``os.replace``, so a process killed at
    any moment (even with ``SIGKILL``) leaves a CSV that parses and holds
    every completed epoch.

    **Resuming.** At the start of ``fit`` the logger reads the CSV back (when
    ``csv_path`` is set and the file exists, else it keeps the rows it holds),
    and on the first epoch of that ``fit`` drops every row whose epoch is not
    before the epoch training starts from. So a run resumed by
    ``keras.callbacks.BackupAndRestore`` (which restarts at the epoch after
    its last backup), or continued with ``fit(..., initial_epoch=k)``, ends
    with each epoch exactly once, while a fresh ``fit`` from epoch 0 starts a
    fresh log.

    Args:
        csv_path: where to write the CSV, or ``None`` to keep the log in
            memory only. Parent folders are created.
        per_batch: also keep one row per training batch (``epoch``, ``batch``,
            the batch logs, ``seconds`` since the epoch began), available as
            :attr:`batch_frame` and written next to the CSV as
            ``<stem>.batches.csv`` after every epoch.
        batch_size: the training batch size, used only when samples are not
            counted (``count_samples=False``).
        count_samples: read the number of images from the loss tracker (see above).

    Example:
        >>> import kcolor, keras, numpy as np
        >>> from kcolor.callbacks import PandasLogger
        >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        >>> model.compile("sgd", "mse")
        >>> logger = PandasLogger()
        >>> _ = model.fit(np.zeros((8, 4)), np.zeros((8, 1)), epochs=2, verbose=0,
        ...               callbacks=[logger])
        >>> logger.frame[["epoch", "loss", "samples"]].to_dict("list")
        {'epoch': [0, 1], 'loss': [0.0, 0.0], 'samples': [8, 8]}
    """

    def __init__(self, csv_path=None, per_batch=False, batch_size=None, count_samples=True):
        super().__init__()
        self.csv_path = Path(csv_path) if csv_path is not None else None
        self.per_batch = bool(per_batch)
        self.batch_size = None if batch_size is None else int(batch_size)
        self.count_samples = bool(count_samples)
        self._rows: list[dict] = []
        self._batch_rows: list[dict] = []
        self._first_epoch_of_fit = True
        self._in_epoch = False

    # ------------------------------------------------------------------ frames
    @property
    def frame(self) -> pd.DataFrame:
        """A copy of the log so far, one row per epoch."""
        return self._to_frame(self._rows)

    @property
    def batch_frame(self) -> pd.DataFrame:
        """A copy of the per-batch log so far (empty unless ``per_batch=True``)."""
        return self._to_frame(self._batch_rows, keys=(EPOCH, "batch"))

    @staticmethod
    def _to_frame(rows, keys=(EPOCH,)) -> pd.DataFrame:
        frame = pd.DataFrame(list(rows))
        if frame.empty:
            return pd.DataFrame(columns=list(keys))
        first = [k for k in keys if k in frame.columns]
        logs = [c for c in frame.columns if c not in BOOKKEEPING_COLUMNS]
        last = [c for c in BOOKKEEPING_COLUMNS if c in frame.columns and c not in keys]
        return frame[first + logs + last].reset_index(drop=True)

    @property
    def batch_csv_path(self):
        if self.csv_path is None:
            return None
        return self.csv_path.with_name(self.csv_path.stem + ".batches.csv")

    # ------------------------------------------------------------------ disk
    def _read_back(self, path):
        if path is None or not path.exists() or path.stat().st_size == 0:
            return None
        try:
            frame = pd.read_csv(path)
        except Exception as exc:  # noqa: BLE001
            raise DataError(f"{path}: cannot read the training log back to resume: {exc}") from exc
        if EPOCH not in frame.columns:
            raise DataError(f"{path}: not a PandasLogger CSV (no {EPOCH!r} column)")
        return [
            {k: v for k, v in row.items() if not _is_nan(v)} for row in frame.to_dict("records")
        ]

    def _write(self):
        if self.csv_path is None:
            return
        atomic_write_bytes(self.csv_path, self.frame.to_csv(index=False).encode())
        if self.per_batch:
            atomic_write_bytes(self.batch_csv_path, self.batch_frame.to_csv(index=False).encode())

    # ------------------------------------------------------------------ keras hooks
    def on_train_begin(self, logs=None):
        rows = self._read_back(self.csv_path)
        if rows is not None:
            self._rows = rows
            self._batch_rows = (
                (self._read_back(self.batch_csv_path) or []) if self.per_batch else []
            )
        self._first_epoch_of_fit = True

    def on_epoch_begin(self, epoch, logs=None):
        if self._first_epoch_of_fit:
            # BackupAndRestore (or initial_epoch) decides where this fit starts:
            # everything logged from that epoch on is about to be redone.
            self._rows = [r for r in self._rows if int(r[EPOCH]) < epoch]
            self._batch_rows = [r for r in self._batch_rows if int(r[EPOCH]) < epoch]
            self._first_epoch_of_fit = False
        self._epoch = epoch
        self._epoch_lr = _current_learning_rate(self.model)
        self._epoch_samples = None
        self._epoch_steps = 0
        self._train_seconds = None
        self._in_epoch = True
        self._epoch_start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self._epoch_steps += 1
        if self.per_batch:
            row = {EPOCH: self._epoch, "batch": int(batch)}
            row.update({k: _to_float(v) for k, v in (logs or {}).items()})
            row[SECONDS] = time.perf_counter() - self._epoch_start
            self._batch_rows.append(row)

    def _end_of_training_part(self):
        """The epoch's training batches are done: read the sample count and the time."""
        if self._in_epoch:
            self._in_epoch = False
            self._train_seconds = time.perf_counter() - self._epoch_start
            self._epoch_samples = _samples_seen(self.model) if self.count_samples else None

    def on_test_begin(self, logs=None):
        # fit's validation starts (and resets the loss tracker right after this hook).
        self._end_of_training_part()

    def on_epoch_end(self, epoch, logs=None):
        self._end_of_training_part()
        seconds = time.perf_counter() - self._epoch_start
        logs = dict(logs or {})
        row = {EPOCH: int(epoch)}
        lr = logs.pop(LEARNING_RATE, None)
        row.update({k: _to_float(v) for k, v in logs.items()})
        row[LEARNING_RATE] = _to_float(lr) if lr is not None else self._epoch_lr
        row[SECONDS] = seconds
        if self._epoch_samples:  # None or 0: the tracker did not count
            samples = self._epoch_samples
        elif self.batch_size is not None:
            samples = self._epoch_steps * self.batch_size
        else:
            samples = None
        train_seconds = self._train_seconds or seconds
        row[SAMPLES] = samples if samples is not None else float("nan")
        row[IMAGES_PER_S] = (
            samples / train_seconds if samples and train_seconds > 0 else float("nan")
        )
        self._rows.append(row)
        self._write()

    def get_config(self):
        return {
            "csv_path": None if self.csv_path is None else str(self.csv_path),
            "per_batch": self.per_batch,
            "batch_size": self.batch_size,
            "count_samples": self.count_samples,
        }


def _is_nan(value):
    return isinstance(value, float) and value != value
