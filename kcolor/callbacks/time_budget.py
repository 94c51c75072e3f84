"""Training for a fixed wall-clock time, with the learning-rate decay fitted to it.

Example:
    >>> from kcolor.callbacks.time_budget import TimeBudget
    >>> TimeBudget(10 * 60).seconds
    600.0
"""

from __future__ import annotations

import time

import keras

__all__ = ["TimeBudget"]


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
