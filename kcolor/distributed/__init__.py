"""Data-parallel training under ``torchrun``: one process per device, plain ``model.fit``.

Keras 3's distribution API covers JAX only; on torch the established engine is
``torch.distributed``, launched by ``torchrun``. This package keeps plain ``model.fit`` and
adds what data parallelism needs around it: one process per device (GPU, or CPU under gloo),
each rank trains on its own shard of every global batch, the gradients are averaged by an
all-reduce inside ``backward``, and the logs are averaged over the ranks. With ``N``
processes of batch ``B`` each, a step sees exactly the samples (and augmentations) that one
process with batch ``N * B`` sees, and the averaged gradient is that batch's gradient, so the
weights follow the single-process run (up to float rounding). Every function is a no-op (or
the plain local answer) for a single process.

This ``__init__`` is the front door: import from ``kcolor.distributed``, not from its
submodules.

Public names:
    The process group (``kcolor.distributed.group``):
        Dist: where this process stands (rank, local rank, world size, backend).
        DistributedError: a wrong set-up (environment, backend, ranks that disagree).
        init_from_env: join the group ``torchrun`` describes, or stay a single process.
        shutdown: leave the group.
        barrier: wait for every rank.
        all_gather_object: every rank's picklable object, in rank order.
        per_rank_batch_size: a global batch split over the ranks.
        synced_clock: rank 0's clock on every rank, for time-based callbacks.
        TIMEOUT_ENV, BACKEND_ENV, DEFAULT_TIMEOUT_S: the environment variables (and default)
            for the collectives' timeout and the backend.
    Start-up checks (``kcolor.distributed.checks``):
        config_hash: a hash of a config and of kcolor's, Keras's and torch's versions.
        check_same_config: every rank runs the same config and versions.
        check_same_data: every rank sees the same data.
    Gradients and weights (``kcolor.distributed.gradients``):
        GradientAllReduce: gradients averaged over the ranks inside ``backward``.
        broadcast_variables: rank 0's Keras variables to every rank.
        sync_model: both, for a model.
    Data (``kcolor.distributed.sharding``):
        ShardedDataset: this rank's share of a ``keras.utils.PyDataset``.
        shard_data: a run's training and validation data, sharded.
    Callbacks (``kcolor.distributed.callbacks``):
        AverageLogs, average_logs: epoch logs averaged over the ranks.
        AverageNonTrainable: batch-norm moving statistics averaged.
        BroadcastState: rank 0's weights, optimizer state and epoch at the start of ``fit``.
        SyncStop: one rank's ``stop_training`` stops them all.
        distributed_callbacks: a rank's callbacks with the four above in their places.
    All in one (``kcolor.distributed.wrap``):
        wrap_training: check, shard, sync and wrap the callbacks in one call.

Example:
    >>> from kcolor import distributed
    >>> dist = distributed.init_from_env()          # under torchrun: joins the group
    >>> dist.world_size, dist.is_main                # a plain process: (1, True)
    (1, True)
    >>> train, val, callbacks = distributed.wrap_training(
    ...     dist, model, train, val, callbacks)       # doctest: +SKIP
    >>> model.fit(train, validation_data=val, callbacks=callbacks,
    ...           verbose=1 if dist.is_main else 0)  # doctest: +SKIP
"""

from kcolor.distributed.callbacks import (
    AverageLogs,
    AverageNonTrainable,
    BroadcastState,
    SyncStop,
    average_logs,
    distributed_callbacks,
)
from kcolor.distributed.checks import check_same_config, check_same_data, config_hash
from kcolor.distributed.gradients import GradientAllReduce, broadcast_variables, sync_model
from kcolor.distributed.group import (
    BACKEND_ENV,
    DEFAULT_TIMEOUT_S,
    TIMEOUT_ENV,
    Dist,
    DistributedError,
    all_gather_object,
    barrier,
    init_from_env,
    per_rank_batch_size,
    shutdown,
    synced_clock,
)
from kcolor.distributed.sharding import ShardedDataset, shard_data
from kcolor.distributed.wrap import wrap_training
from kcolor.errors import DataError  # raised by per_rank_batch_size and ShardedDataset

__all__ = [
    "BACKEND_ENV",
    "DEFAULT_TIMEOUT_S",
    "TIMEOUT_ENV",
    "AverageLogs",
    "AverageNonTrainable",
    "BroadcastState",
    "DataError",
    "Dist",
    "DistributedError",
    "GradientAllReduce",
    "ShardedDataset",
    "SyncStop",
    "all_gather_object",
    "average_logs",
    "barrier",
    "broadcast_variables",
    "check_same_config",
    "check_same_data",
    "config_hash",
    "distributed_callbacks",
    "init_from_env",
    "per_rank_batch_size",
    "shard_data",
    "shutdown",
    "sync_model",
    "synced_clock",
    "wrap_training",
]
