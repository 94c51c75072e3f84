"""Training companions: a crash-safe pandas training log and colour previews.

Two Keras callbacks that a colourisation run wants next to ``model.fit``:

* :class:`PandasLogger` keeps one row per epoch (every log key, the learning
  rate, wall seconds and images per second) as a :class:`pandas.DataFrame`,
  rewrites its CSV atomically after every epoch, survives ``SIGKILL`` (every
  completed epoch stays on disk) and resumes cleanly under
  :class:`keras.callbacks.BackupAndRestore` (no duplicated or lost rows).
* :class:`ColorizationPreview` saves a ``grey | prediction | truth`` grid of a
  fixed sample every few epochs, so you can watch the colours arrive.

The file names they write follow the run-directory layout that
:func:`kcolor.reports.build_report` turns into one HTML page.

Example:
    >>> import kcolor
    >>> from kcolor.callbacks import PandasLogger, ColorizationPreview
    >>> logger = PandasLogger("runs/demo/history.csv")               # doctest: +SKIP
    >>> preview = ColorizationPreview(x[:8], y[:8], "runs/demo/previews")  # doctest: +SKIP
    >>> model.fit(x, y, epochs=10, callbacks=[logger, preview])      # doctest: +SKIP
    >>> logger.frame.tail()                                          # doctest: +SKIP
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from kcolor import color
from kcolor.errors import DataError
from kcolor.figures import compare_grid, figure_to_png
from kcolor.io import atomic_path, atomic_write_bytes

__all__ = [
    "BestModelCheckpoint",
    "ColorizationPreview",
    "PandasLogger",
    "TimeBudget",
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


class TimeBudget(keras.callbacks.Callback):
    """Train for a fixed wall-clock time: fit the number of epochs, and the decay, to it.

    ``model.fit(..., epochs=E)`` then runs at most ``E`` epochs and ends within about
    ``seconds``. After a tenth of the first epoch's steps (and again after the first and
    second epochs, whose times hold the warm-up and validation) the callback estimates how
    long an epoch takes, decides how many whole epochs fit (``planned_epochs``, at least 1,
    at most ``E``) and,
    when ``schedule`` is given (any Keras schedule with ``decay_steps``, e.g.
    ``CosineDecay``), shortens the schedule so that it decays over exactly those epochs:
    a run cut by time ends at its low learning rate instead of stopping mid-schedule.
    It re-checks at every epoch end (if epochs got slower it plans fewer and shortens the
    decay again) and, as a last resort, stops mid-epoch once ``seconds`` are spent (the
    epoch's logs and callbacks still run; ``stop_mid_epoch=False`` waits for the epoch's
    end). When not even one epoch fits, the decay is fitted to the steps that do. Useful to
    fit runs into a GPU lease or a CI slot.

    Args:
        seconds: the wall-clock budget for ``fit`` (validation included).
        schedule: the optimizer's learning-rate schedule to fit to the budget, or ``None``.
        warmup_steps: steps of ``schedule`` before its decay starts (``CosineDecay``'s
            ``warmup_steps``), kept when the decay is shortened.
        stop_mid_epoch: whether to stop inside an epoch once ``seconds`` are spent (when a
            single epoch is longer than the budget); ``False`` stops only at epoch ends,
            e.g. when ``keras.callbacks.BackupAndRestore`` must see whole epochs.
        clock: a function returning seconds (for tests); ``time.monotonic`` by default.

    Attributes:
        planned_epochs: the number of epochs this ``fit`` runs, decided after its first
            epoch (``None`` before); a resumed ``fit`` counts from its ``initial_epoch``.
        epochs_done: epochs finished in the current ``fit``.
        stopped_by_time: ``True`` when the budget, not ``epochs``, ended the run.

    Example:
        >>> schedule = keras.optimizers.schedules.CosineDecay(1e-3, decay_steps=10_000)
        >>> model.compile(keras.optimizers.Adam(schedule), loss="mse")      # doctest: +SKIP
        >>> model.fit(data, epochs=1000,                                    # doctest: +SKIP
        ...           callbacks=[TimeBudget(10 * 60, schedule)])  # 10 minutes, fully decayed
    """

    def __init__(self, seconds, schedule=None, warmup_steps=0, stop_mid_epoch=True, clock=None):
        super().__init__()
        if not seconds or seconds <= 0:
            raise ValueError(f"seconds must be positive, got {seconds!r}")
        self.seconds = float(seconds)
        self.schedule = schedule
        self.warmup_steps = int(warmup_steps)
        self.stop_mid_epoch = bool(stop_mid_epoch)
        self.clock = clock or time.monotonic
        self.planned_epochs = None
        self.stopped_by_time = False
        self._start = None
        self._epoch_start = None
        self._first_step_seconds = 0.0
        self._first_epoch = None
        self._epochs_done = 0

    def on_train_begin(self, logs=None):
        self._start = self.clock()
        self._epochs_done = 0
        self._first_epoch = None
        self.planned_epochs = None
        self.stopped_by_time = False

    def _elapsed(self):
        return self.clock() - self._start

    @property
    def epochs_done(self) -> int:
        return self._epochs_done

    def _set_decay(self, total_steps: int) -> None:
        if self.schedule is not None and hasattr(self.schedule, "decay_steps"):
            self.schedule.decay_steps = max(1, int(total_steps) - self.warmup_steps)

    def on_train_batch_end(self, batch, logs=None):
        if self.stop_mid_epoch and self._elapsed() >= self.seconds:
            self.stopped_by_time = True
            self.model.stop_training = True
        if self._epochs_done or self.planned_epochs is not None:
            return
        # An early plan inside the first epoch, so that a budget of about one epoch or less
        # still gets its decay: after a tenth of the epoch (the first step, often slow with
        # warm-up, timed apart).
        n, steps = int(batch) + 1, int((self.params or {}).get("steps") or 0)
        if n == 1:
            self._first_step_seconds = self.clock() - self._epoch_start
            return
        if not steps or n != max(3, steps // 10) or n >= steps:
            return
        per_step = (self.clock() - self._epoch_start - self._first_step_seconds) / (n - 1)
        epoch_seconds = self._first_step_seconds + per_step * (steps - 1)
        first = self._first_epoch or 0
        max_epochs = int((self.params or {}).get("epochs") or 0) or None
        fit = max(1, int(self.seconds // max(epoch_seconds, 1e-9)))
        self.planned_epochs = min(fit, max_epochs - first) if max_epochs else fit
        if epoch_seconds > self.seconds and self.stop_mid_epoch:
            # Not even one epoch fits: decay over the steps that do.
            fit_steps = 1 + int((self.seconds - self._first_step_seconds) // max(per_step, 1e-9))
            self._set_decay(first * steps + max(n, fit_steps))
        else:
            self._set_decay((first + self.planned_epochs) * steps)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = self.clock()
        if self._first_epoch is None:  # > 0 when fit resumes (initial_epoch, BackupAndRestore)
            self._first_epoch = int(epoch)

    def on_epoch_end(self, epoch, logs=None):
        self._epochs_done += 1
        if self.stopped_by_time:  # cut mid-epoch: the plan made inside it stands
            return
        elapsed = self._elapsed()
        last = self.clock() - self._epoch_start
        first = self._first_epoch or 0
        max_epochs = int((self.params or {}).get("epochs") or 0) or None
        fit = self._epochs_done + int(max(0.0, self.seconds - elapsed) // max(last, 1e-9))
        if max_epochs:
            fit = min(fit, max_epochs - first)
        # Plan after epoch 1 and re-plan after epoch 2 (its time has no warm-up); later,
        # only shorten the plan (epochs got slower), so the decay still ends at the stop.
        if self._epochs_done <= 2 or fit < self.planned_epochs:
            self.planned_epochs = fit
            steps = (self.params or {}).get("steps")
            if steps:  # the optimizer's step counter runs on from earlier epochs when resumed
                self._set_decay((first + self.planned_epochs) * int(steps))
        if self._epochs_done >= self.planned_epochs or elapsed + last > self.seconds:
            if max_epochs is None or epoch + 1 < max_epochs:
                self.stopped_by_time = True
            self.model.stop_training = True
