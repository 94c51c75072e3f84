"""Keras callbacks that keep the ranks of a data-parallel ``model.fit`` in step.

* :class:`AverageLogs`: epoch logs and validation losses averaged over all ranks
  (:func:`average_logs` is the function behind it).
* :class:`AverageNonTrainable`: batch-norm moving statistics averaged.
* :class:`BroadcastState`: rank 0's weights, optimizer state and initial epoch to every rank
  at the start of ``fit``.
* :class:`SyncStop`: one rank's ``stop_training`` stops them all.

:func:`distributed_callbacks` puts them around a rank's own callbacks in the order they need.
"""

from __future__ import annotations

import keras
import torch

from kcolor.distributed.gradients import average_tensors_, broadcast_variables
from kcolor.distributed.group import Dist, all_gather_object
from kcolor.distributed.sharding import ShardedDataset

__all__ = [
    "AverageLogs",
    "AverageNonTrainable",
    "BroadcastState",
    "SyncStop",
    "average_logs",
    "distributed_callbacks",
]


def average_logs(dist: Dist, logs: dict, weight: float = 1.0, val_weight: float | None = None):
    """``logs`` averaged over all ranks: numeric values, weighted by ``weight`` (``val_*`` keys by
    ``val_weight``, e.g. each rank's number of validation samples); other values are rank 0's.

    Every rank gets the same dict. A key missing on a rank is averaged over the ranks that have it.

    Args:
        dist: the :class:`~kcolor.distributed.Dist` of this process.
        logs: this rank's logs (``{"loss": ..., "val_loss": ...}``).
        weight: this rank's weight for the training keys.
        val_weight: this rank's weight for the ``val_*`` keys; ``None``: ``weight``.

    Returns:
        A new dict (``logs`` itself is left alone); a copy of ``logs`` for a single process.

    Example:
        >>> from kcolor.distributed import Dist, average_logs
        >>> average_logs(Dist(), {"loss": 1.5, "val_loss": 2.0})
        {'loss': 1.5, 'val_loss': 2.0}
    """
    logs = dict(logs or {})
    if not dist.is_distributed:
        return logs
    numeric = {}
    for key, value in logs.items():
        try:
            numeric[key] = float(keras.ops.convert_to_numpy(value))
        except Exception:  # noqa: BLE001 - not a number: rank 0's value stays
            continue
    val_weight = weight if val_weight is None else val_weight
    gathered = all_gather_object(dist, (numeric, float(weight), float(val_weight)))
    out = dict(logs)
    keys = sorted({k for values, _, _ in gathered for k in values})
    for key in keys:
        total = norm = 0.0
        for values, w, vw in gathered:
            if key in values:
                ww = vw if key.startswith("val_") else w
                total += values[key] * ww
                norm += ww
        if norm > 0:
            out[key] = total / norm
    for key, value in gathered[0][0].items():
        if key not in out:
            out[key] = value
    return out


class AverageLogs(keras.callbacks.Callback):
    """Average the epoch logs (loss, metrics and their ``val_`` twins) over all ranks, in place.

    Put it **first** in the callbacks list: every later callback (``PandasLogger``,
    checkpoints, ``EarlyStopping``, ``ReduceLROnPlateau``) and the returned ``History`` then
    see the values of the whole data, the same on every rank. Training logs are averaged
    with equal weights (every rank trains on equal batches); validation logs with each
    rank's number of validation samples when given (exact for kcolor's mean-type losses and
    metrics).

    Args:
        dist: the :class:`~kcolor.distributed.Dist` of this process.
        val_samples: this rank's validation samples per epoch (``ShardedDataset.num_samples``),
            or ``None`` for equal weights.

    Example:
        >>> from kcolor.distributed import AverageLogs, Dist
        >>> average = AverageLogs(Dist(), val_samples=6)
        >>> logs = {"loss": 0.5}
        >>> average.on_epoch_end(0, logs)  # a single process: the logs stay as they are
        >>> logs
        {'loss': 0.5}

        First in a rank's callbacks, before the loggers:

        >>> callbacks = [AverageLogs(dist, val.num_samples), *loggers]  # doctest: +SKIP
    """

    def __init__(self, dist: Dist, val_samples: int | None = None):
        super().__init__()
        self.dist = dist
        self.val_samples = val_samples

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or not self.dist.is_distributed:
            return
        weight = 1.0 if self.val_samples is None else float(self.val_samples)
        logs.update(average_logs(self.dist, logs, 1.0, weight))


class AverageNonTrainable(keras.callbacks.Callback):
    """Average the model's float non-trainable variables (batch-norm moving mean and variance)
    over all ranks before each validation and at each epoch end.

    During a step each rank normalises with its own batch's statistics (as
    ``DistributedDataParallel`` does without ``SyncBatchNorm``) and updates its own moving
    statistics; this callback makes them one again, so validation, checkpoints and the
    saved model use statistics of all ranks' data. Integer state (seed generators) is left
    alone.

    Args:
        dist: the :class:`~kcolor.distributed.Dist` of this process.

    Example:
        >>> from kcolor.distributed import AverageNonTrainable, Dist
        >>> callbacks = [AverageNonTrainable(Dist(rank=0, world_size=2))]
    """

    def __init__(self, dist: Dist):
        super().__init__()
        self.dist = dist

    def _sync(self):
        if not self.dist.is_distributed:
            return
        tensors = [
            v.value for v in self.model.non_trainable_variables if v.value.is_floating_point()
        ]
        if tensors:
            average_tensors_(self.dist, tensors)

    def on_test_begin(self, logs=None):
        self._sync()

    def on_epoch_end(self, epoch, logs=None):
        self._sync()


class BroadcastState(keras.callbacks.Callback):
    """At the start of ``fit``, copy rank 0's weights, optimizer state and initial epoch to every
    rank.

    Put it after any callback that loads state in ``on_train_begin``: a
    ``keras.callbacks.BackupAndRestore`` on rank 0 alone (the only rank that writes) then
    resumes every rank, at rank 0's epoch, with rank 0's weights and optimizer state (Keras
    reads ``model._initial_epoch`` after ``on_train_begin``). It also calls
    :meth:`~kcolor.distributed.GradientAllReduce.refresh` of the model's gradient sync, so
    variables unfrozen between two ``fit`` calls are averaged too.

    Args:
        dist: the :class:`~kcolor.distributed.Dist` of this process.

    Example:
        >>> import keras
        >>> from kcolor.distributed import BroadcastState, Dist
        >>> restore = keras.callbacks.BackupAndRestore("backup")  # doctest: +SKIP
        >>> callbacks = [restore, BroadcastState(Dist())]  # doctest: +SKIP
    """

    def __init__(self, dist: Dist):
        super().__init__()
        self.dist = dist

    def on_train_begin(self, logs=None):
        if not self.dist.is_distributed:
            return
        import torch.distributed as tdist

        # The epoch to start from: a restore on rank 0 (BackupAndRestore) sets it there only.
        epoch = torch.tensor(
            [int(getattr(self.model, "_initial_epoch", None) or 0)],
            dtype=torch.int64,
            device=self.dist.device,
        )
        tdist.broadcast(epoch, src=0)
        if int(epoch.item()) or getattr(self.model, "_initial_epoch", None):
            self.model._initial_epoch = int(epoch.item())
        sync = getattr(self.model, "_kcolor_gradient_all_reduce", None)
        if sync is not None:
            sync.refresh()
        variables = list(self.model.variables)
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and getattr(optimizer, "built", False):
            variables += list(optimizer.variables)
        broadcast_variables(self.dist, variables)


class SyncStop(keras.callbacks.Callback):
    """When one rank sets ``model.stop_training``, stop every rank at the same step.

    Put it **last**, after every callback that may stop training (``EarlyStopping``,
    ``TerminateOnNaN``, ``TimeBudget``). One tiny all-reduce per step (and per epoch end).

    Args:
        dist: the :class:`~kcolor.distributed.Dist` of this process.
        every_batch: also check after every training batch (a mid-epoch stop); ``False``
            checks only at epoch ends.

    Example:
        >>> import keras
        >>> from kcolor.distributed import Dist, SyncStop
        >>> stop = keras.callbacks.EarlyStopping(patience=2)
        >>> callbacks = [stop, SyncStop(Dist(), every_batch=False)]
    """

    def __init__(self, dist: Dist, every_batch: bool = True):
        super().__init__()
        self.dist = dist
        self.every_batch = bool(every_batch)

    def _sync(self):
        if not self.dist.is_distributed:
            return
        import torch.distributed as tdist

        flag = torch.tensor([1.0 if self.model.stop_training else 0.0], device=self.dist.device)
        tdist.all_reduce(flag, op=tdist.ReduceOp.MAX)
        if flag.item() > 0:
            self.model.stop_training = True

    def on_train_batch_end(self, batch, logs=None):
        if self.every_batch:
            self._sync()

    def on_epoch_end(self, epoch, logs=None):
        self._sync()


def _samples_of(data) -> int | None:
    """The samples per epoch of this rank's validation data, when known."""
    if isinstance(data, ShardedDataset):
        return data.num_samples
    if isinstance(data, tuple) and data and hasattr(data[0], "__len__"):
        return len(data[0])
    return None


def distributed_callbacks(dist: Dist, callbacks=(), val_data=None) -> list:
    """``[AverageLogs, AverageNonTrainable, *callbacks, BroadcastState, SyncStop]``
    (``callbacks`` alone for a single process).

    Args:
        dist: the :class:`~kcolor.distributed.Dist` of this process.
        callbacks: this rank's own callbacks, in their order.
        val_data: this rank's (sharded) validation data, whose sample count weighs the
            validation logs.

    Returns:
        A new list of callbacks for ``model.fit``.

    Example:
        >>> import keras
        >>> from kcolor.distributed import Dist, distributed_callbacks
        >>> own = [keras.callbacks.TerminateOnNaN()]
        >>> distributed_callbacks(Dist(), own) == own  # a single process: its own callbacks
        True
        >>> names = distributed_callbacks(Dist(rank=0, world_size=2), own)
        >>> [type(c).__name__ for c in names]
        ['AverageLogs', 'AverageNonTrainable', 'TerminateOnNaN', 'BroadcastState', 'SyncStop']
    """
    callbacks = list(callbacks or [])
    if not dist.is_distributed:
        return callbacks
    return [
        AverageLogs(dist, _samples_of(val_data)),
        AverageNonTrainable(dist),
        *callbacks,
        BroadcastState(dist),
        SyncStop(dist),
    ]
