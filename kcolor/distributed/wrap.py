"""All of data-parallel training in one call: :func:`wrap_training`.

It runs, in order, :func:`~kcolor.distributed.check_same_config`,
:func:`~kcolor.distributed.shard_data`, :func:`~kcolor.distributed.sync_model` and
:func:`~kcolor.distributed.distributed_callbacks`, and is a no-op for a single process, so a
training script needs no ``if`` for the distributed case.
"""

from __future__ import annotations

import dataclasses

from kcolor.distributed.callbacks import distributed_callbacks
from kcolor.distributed.checks import check_same_config
from kcolor.distributed.gradients import sync_model
from kcolor.distributed.group import Dist
from kcolor.distributed.sharding import shard_data

__all__ = ["wrap_training"]


def _config_payload(config):
    """``config`` as JSON-able data: its ``to_dict()``, a dataclass as a dict, else itself."""
    if hasattr(config, "to_dict"):
        return config.to_dict()
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return dataclasses.asdict(config)
    return config


def wrap_training(
    dist: Dist,
    model,
    train_data,
    val_data=None,
    callbacks=(),
    config=None,
    drop_last: bool = True,
    check_data: bool = True,
):
    """Make a ``model.fit`` data-parallel in one call; a no-op for a single process.

    In order: :func:`check_same_config` (when ``config`` is given), :func:`shard_data`,
    :func:`sync_model` and :func:`distributed_callbacks`.

    Call it on every rank with the same model, data and *all* the callbacks of this rank, in
    their order: those that write files (loggers, checkpoints, previews, a
    ``BackupAndRestore``) on rank 0 only (``dist.is_main``), and the same control callbacks
    on every rank (``TimeBudget`` with ``clock=synced_clock(dist)``, ``EarlyStopping``,
    ``TerminateOnNaN``), so that the returned list has :class:`AverageLogs` before them and
    :class:`BroadcastState` and :class:`SyncStop` after them. ``verbose`` belongs to rank 0.
    The steps per epoch (for a learning-rate schedule) are ``len(train_data)`` of the
    *returned* data.

    Args:
        dist: from :func:`init_from_env`.
        model: the built (and possibly compiled) Keras model.
        train_data: a ``keras.utils.PyDataset`` (kcolor's datasets: ``batch_size`` per rank).
        val_data: ``None``, a ``PyDataset`` or an ``(x, y)`` tuple of arrays.
        callbacks: the callbacks of this rank.
        config: the run's configuration (a ``to_dict()`` object, a dataclass or JSON-able), or
            ``None`` to skip the check.
        drop_last: see :class:`ShardedDataset`.
        check_data: see :func:`shard_data`.

    Returns:
        ``(train_data, val_data, callbacks)`` to pass to ``model.fit``.

    Raises:
        DistributedError: when the ranks run different configs, versions or data.
        DataError: when the data does not fill one global batch.

    Example:
        >>> import keras
        >>> import numpy as np
        >>> from kcolor.datasets import ArrayDataset
        >>> from kcolor.distributed import init_from_env, wrap_training
        >>> dist = init_from_env()  # under torchrun: this rank's place in the group
        >>> model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 1)])
        >>> model.compile("sgd", "mse")
        >>> data = ArrayDataset(np.zeros((8, 8, 8, 3), np.uint8), batch_size=4)
        >>> train, val, callbacks = wrap_training(dist, model, data, None, [], config={"lr": 0.1})
        >>> train is data, val, callbacks  # a single process: all unchanged
        (True, None, [])
        >>> model.fit(train, validation_data=val, callbacks=callbacks,
        ...           verbose=1 if dist.is_main else 0)  # doctest: +SKIP
    """
    if not dist.is_distributed:
        return train_data, val_data, list(callbacks or [])
    if config is not None:
        check_same_config(dist, _config_payload(config))
    train, val = shard_data(dist, train_data, val_data, drop_last=drop_last, check=check_data)
    sync_model(dist, model)
    return train, val, distributed_callbacks(dist, callbacks, val)
