"""Each rank's share of the data: ``DistributedSampler`` semantics for Keras ``PyDataset``.

:class:`ShardedDataset` gives every rank its own slice of each global batch (the same seeded
order, reshuffled per epoch, on every rank; equal lengths) for training, and every sample
exactly once over all ranks for evaluation. :func:`shard_data` wraps a run's training and
validation data in one call (after :func:`~kcolor.distributed.check_same_data`).
"""

from __future__ import annotations

import math
import warnings

import keras
import numpy as np

from kcolor.datasets.arrays import LabBatches, lab_pair
from kcolor.distributed.checks import check_same_data
from kcolor.distributed.group import Dist
from kcolor.errors import DataError

__all__ = ["ShardedDataset", "shard_data"]


class ShardedDataset(keras.utils.PyDataset):
    """This rank's share of a dataset: ``DistributedSampler`` semantics for ``PyDataset``.

    **Training** (``training=True``): step ``s`` of an epoch is the global batch of
    ``world_size * batch_size`` consecutive positions of the dataset's epoch order, and rank
    ``r`` takes its ``r``-th slice of ``batch_size``. For kcolor's datasets
    (:class:`~kcolor.datasets.ArrayDataset`, :class:`~kcolor.datasets.ImageFolderDataset`) the
    order and every augmentation are functions of ``(seed, epoch, position)``, so 2 ranks of
    batch 4 see exactly the samples one process of batch 8 sees, reshuffled each epoch the same
    way on every rank (every rank must build the dataset with the same seed). Every rank gets
    the same number of full batches: a last, partial global batch is left out
    (``drop_last=True``, a warning on rank 0 says how many samples) or filled up with samples
    from the start of the epoch's order (``drop_last=False``, as ``DistributedSampler``).

    **Evaluation** (``training=False``): rank ``r`` takes positions ``r, r + world_size, ...``
    in batches of ``batch_size``: every sample exactly once over all ranks, nothing dropped
    or repeated; ranks may differ by one sample (:attr:`num_samples`, the weights
    :class:`~kcolor.distributed.AverageLogs` uses). A set smaller than the world (e.g. 1
    held-out photo, 2 processes) works too: a rank left without a sample of its own evaluates
    one batch of a copy (the sample, or for a generic ``PyDataset`` the batch, at
    ``rank % size``), so every rank runs the same evaluation loop, and reports
    :attr:`num_samples` 0, which gives its logs no weight in
    :class:`~kcolor.distributed.AverageLogs` (the logs are those of the ranks with samples).

    Any other ``keras.utils.PyDataset`` is sharded by whole batches (rank ``r`` of step ``s``
    takes batch ``s * world_size + r`` of an order of batches shuffled with ``seed`` per epoch
    when ``shuffle``; in evaluation batches ``r, r + world_size, ...``).

    Args:
        dataset: a ``keras.utils.PyDataset``; for kcolor's datasets its ``batch_size`` is the
            per-rank batch.
        rank, world_size: this process's rank and the number of processes.
        seed: seeds the batch order of a generic ``PyDataset`` (kcolor's datasets use their
            own seed).
        training: split for training (equal full batches) or for evaluation (every sample once).
        drop_last: training only: leave out a last partial global batch (``True``) or pad it.
        shuffle: a generic ``PyDataset``'s batch order is reshuffled each epoch (training
            only; default ``True``).

    Raises:
        DataError: when an epoch holds less than one global batch (training), or the data
            holds nothing at all.

    Example:
        >>> import numpy as np
        >>> from kcolor.datasets import ArrayDataset
        >>> from kcolor.distributed import ShardedDataset
        >>> photos = np.random.default_rng(0).integers(0, 256, (16, 8, 8, 3), dtype=np.uint8)
        >>> data = ArrayDataset(photos, batch_size=4, augment=True, size=8)
        >>> shards = [ShardedDataset(data, rank, 2) for rank in (0, 1)]
        >>> len(shards[0]), shards[0][0][0].shape
        (2, (4, 8, 8, 1))
    """

    def __init__(
        self,
        dataset,
        rank: int,
        world_size: int,
        seed: int = 0,
        training: bool = True,
        drop_last: bool = True,
        shuffle: bool = True,
    ):
        if not isinstance(dataset, keras.utils.PyDataset):
            raise TypeError(
                f"dataset must be a keras.utils.PyDataset, got {type(dataset).__name__}"
            )
        world_size, rank = int(world_size), int(rank)
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(
                f"rank must be in [0, world_size), got rank={rank}, world_size={world_size}"
            )
        super().__init__(
            workers=dataset.workers,
            use_multiprocessing=dataset.use_multiprocessing,
            max_queue_size=dataset.max_queue_size,
        )
        self.dataset = dataset
        self.rank = rank
        self.world_size = world_size
        self.seed = int(seed)
        self.training = bool(training)
        self.drop_last = bool(drop_last)
        self.shuffle = bool(shuffle)
        self.epoch = 0
        self.by_sample = isinstance(dataset, LabBatches)
        name = type(dataset).__name__
        if self.by_sample:
            self.batch_size = dataset.batch_size
            total = len(dataset.order)
            if self.training:
                global_batch = self.batch_size * world_size
                if total < global_batch:
                    raise DataError(
                        f"{name} holds {total} samples per epoch, fewer than one global batch "
                        f"({world_size} processes x batch {self.batch_size} = {global_batch}); "
                        "use a smaller batch size, fewer processes or more data"
                    )
                left = total % global_batch
                if left and self.drop_last and rank == 0:
                    warnings.warn(
                        f"{name}: {total} samples per epoch do not fill whole global batches of "
                        f"{world_size} x {self.batch_size}: the last {left} of each epoch's "
                        "order are left out (drop_last=True)",
                        stacklevel=2,
                    )
        else:
            self.batch_size = getattr(dataset, "batch_size", None)
            total = len(dataset)
            if total < world_size and self.training:
                raise DataError(
                    f"{name} holds {total} batches, fewer than the {world_size} processes "
                    "sharing it; use a smaller batch size or more data"
                )
        if total < 1:
            raise DataError(f"{name} holds no {'samples' if self.by_sample else 'batches'}")
        #: Evaluation only: this rank has no sample of its own and evaluates a weightless copy.
        self.filler = not self.training and rank >= total

    # ------------------------------------------------------------ epochs
    def on_epoch_begin(self):
        self.dataset.on_epoch_begin()

    def on_epoch_end(self):
        self.epoch += 1
        self.dataset.on_epoch_end()

    def set_epoch(self, epoch: int) -> None:
        """Jump to ``epoch`` (and the wrapped dataset too, when it has ``set_epoch``)."""
        self.epoch = int(epoch)
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)

    # ------------------------------------------------------------ which samples
    def _total(self) -> int:
        return len(self.dataset.order) if self.by_sample else len(self.dataset)

    def __len__(self) -> int:
        total, world = self._total(), self.world_size
        if self.training:
            unit = world * (self.batch_size if self.by_sample else 1)
            return total // unit if self.drop_last else math.ceil(total / unit)
        if self.filler:
            return 1
        mine = len(range(self.rank, total, world))
        return math.ceil(mine / self.batch_size) if self.by_sample else mine

    @property
    def num_samples(self) -> int | None:
        """Samples this rank sees per epoch (``None`` for a generic ``PyDataset``, unless it wraps
        a kcolor dataset batch for batch, as ``WithEmbeddings`` / ``PackedLTargets`` do);
        0 on a rank that only evaluates a copy (a set smaller than the world)."""
        if self.filler:
            return 0
        if not self.by_sample:
            inner = getattr(self.dataset, "dataset", None)  # e.g. PackedLTargets(ArrayDataset)
            if not isinstance(inner, LabBatches) or len(inner) != len(self.dataset):
                return None
            total, batch = len(inner.order), inner.batch_size
            wrapped = [self.positions(k)[0] for k in range(len(self))]
            return sum(min(batch, total - j * batch) for j in wrapped)
        if self.training:
            return len(self) * self.batch_size
        return len(range(self.rank, self._total(), self.world_size))

    def positions(self, index: int) -> list[int]:
        """The positions of the dataset's epoch order in this rank's batch ``index``
        (for a generic ``PyDataset``: the index of the wrapped batch, as a 1-list)."""
        if not 0 <= index < len(self):
            raise IndexError(f"batch index {index} out of range for {len(self)} batches")
        total, world, rank = self._total(), self.world_size, self.rank
        if self.filler:
            return [rank % total]
        if not self.by_sample:
            if not self.training:
                return [rank + index * world]
            order = np.arange(total)
            if self.shuffle:
                order = np.random.default_rng((self.seed, 4099, self.epoch)).permutation(total)
            return [int(order[(index * world + rank) % total])]
        batch = self.batch_size
        if self.training:
            start = (index * world + rank) * batch
            return [(start + j) % total for j in range(batch)]
        mine = range(rank, total, world)
        return list(mine[index * batch : (index + 1) * batch])

    def __getitem__(self, index: int):
        positions = self.positions(index)
        if not self.by_sample:
            return self.dataset[positions[0]]
        data = self.dataset
        order = data.order
        rgb = np.stack([data._fetch(int(order[p]), p) for p in positions])
        return lab_pair(rgb, data.lab_backend)


def _shard_validation(data, dist: Dist):
    """Validation data (a PyDataset or an ``(x, y)`` tuple of arrays) for this rank."""
    if data is None:
        return None
    if isinstance(data, keras.utils.PyDataset):
        return ShardedDataset(data, dist.rank, dist.world_size, training=False)
    if isinstance(data, (tuple, list)):
        return tuple(None if a is None else a[dist.rank :: dist.world_size] for a in data)
    raise TypeError(
        "validation data must be a keras.utils.PyDataset or an (x, y) tuple of arrays under "
        f"torch.distributed, got {type(data).__name__}"
    )


def shard_data(dist: Dist, train_data, val_data=None, drop_last: bool = True, check: bool = True):
    """This rank's ``(train_data, val_data)``: :class:`ShardedDataset` for training (equal full
    batches) and for evaluation (every sample once; an ``(x, y)`` tuple of arrays is sliced
    ``[rank::world_size]``). The inputs themselves for a single process.

    Args:
        dist: the :class:`~kcolor.distributed.Dist` of this process.
        train_data: a ``keras.utils.PyDataset`` (kcolor's datasets: ``batch_size`` per rank).
        val_data: ``None``, a ``PyDataset`` or an ``(x, y)`` tuple of arrays.
        drop_last: see :class:`ShardedDataset`.
        check: gather each rank's data description (sizes, seed, batch size, file names) and
            fail when they differ (e.g. another data folder on another machine); see
            :func:`~kcolor.distributed.check_same_data`.

    Returns:
        ``(train_data, val_data)`` of this rank.

    Raises:
        DistributedError: when the ranks see different data.
        DataError: when the data does not fill one global batch.

    Example:
        >>> import numpy as np
        >>> from kcolor.datasets import ArrayDataset
        >>> from kcolor.distributed import Dist, shard_data
        >>> photos = np.zeros((16, 8, 8, 3), np.uint8)
        >>> data = ArrayDataset(photos, batch_size=4)
        >>> shard_data(Dist(), data) == (data, None)  # one process: unchanged
        True
        >>> train, val = shard_data(Dist(rank=1, world_size=2), data, check=False)
        >>> len(train), train.num_samples, val
        (2, 8, None)
    """
    if not dist.is_distributed:
        return train_data, val_data
    if check:
        check_same_data(dist, train_data, val_data)
    if not isinstance(train_data, keras.utils.PyDataset):
        raise TypeError(
            "training data must be a keras.utils.PyDataset under torch.distributed, "
            f"got {type(train_data).__name__}"
        )
    train = ShardedDataset(train_data, dist.rank, dist.world_size, drop_last=drop_last)
    return train, _shard_validation(val_data, dist)
