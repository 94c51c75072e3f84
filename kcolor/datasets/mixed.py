"""Mixed-size training batches: each batch at one of several crop sizes.

A fully-convolutional colouriser trained at one size sees every object at one scale; at
inference it runs at about the photo's own size. :class:`MixedSizes` shows it several: each
batch comes whole from one of a few datasets that hold the same photos in the same order,
each cropping at its own size, so a photo still appears once per epoch and batch shapes stay
constant within a batch.
"""

from __future__ import annotations

import keras
import numpy as np

__all__ = ["MixedSizes", "batch_sizes_schedule"]


def batch_sizes_schedule(n_batches: int, n_sizes: int, seed: int, epoch: int) -> np.ndarray:
    """Which size (an index into the datasets) each batch of ``epoch`` gets.

    Every size gets (almost) the same number of batches, in an order shuffled by
    ``(seed, epoch)``: a function of those two only, so any worker makes the same batch.
    """
    picks = np.arange(n_batches) % n_sizes
    return np.random.default_rng((int(seed), 104729, int(epoch))).permutation(picks)


class MixedSizes(keras.utils.PyDataset):
    """Batches from several same-photo datasets, each batch at one of their sizes.

    Args:
        datasets: kcolor datasets (:class:`~kcolor.datasets.ImageFolderDataset` or
            :class:`~kcolor.datasets.ArrayDataset`) over the same photos with the same
            ``seed``, ``batch_size`` and ``repeat``, differing in ``size``.
        workers, use_multiprocessing, max_queue_size: as ``keras.utils.PyDataset``;
            default: those of the first dataset.

    Attributes:
        sizes: the datasets' ``(h, w)`` sizes.
        paths, order, batch_size, epoch, skipped: those of the first dataset (the order and
            the epoch are shared by all).

    Example:
        >>> import tempfile
        >>> import numpy as np
        >>> from PIL import Image
        >>> from kcolor.datasets import ImageFolderDataset
        >>> folder = tempfile.mkdtemp()
        >>> rng = np.random.default_rng(0)
        >>> for i in range(4):
        ...     pixels = rng.integers(0, 255, (80, 80, 3), dtype=np.uint8)
        ...     Image.fromarray(pixels).save(f"{folder}/{i}.png")
        >>> parts = [ImageFolderDataset(folder, size=s, batch_size=2) for s in (32, 64)]
        >>> train = MixedSizes(parts)  # model.fit(train, ...) sees both sizes
        >>> sorted(train[i][0].shape for i in range(len(train)))
        [(2, 32, 32, 1), (2, 64, 64, 1)]
    """

    def __init__(self, datasets, workers=None, use_multiprocessing=None, max_queue_size=None):
        datasets = list(datasets)
        if not datasets:
            raise ValueError("MixedSizes needs at least one dataset")
        first = datasets[0]
        for d in datasets[1:]:
            for attr in ("batch_size", "seed", "repeat", "num_items"):
                if getattr(d, attr) != getattr(first, attr):
                    raise ValueError(
                        f"MixedSizes: every dataset needs the same {attr}: "
                        f"{getattr(first, attr)} != {getattr(d, attr)}"
                    )
        super().__init__(
            workers=first.workers if workers is None else workers,
            use_multiprocessing=(
                first.use_multiprocessing if use_multiprocessing is None else use_multiprocessing
            ),
            max_queue_size=first.max_queue_size if max_queue_size is None else max_queue_size,
        )
        self.datasets = datasets
        self.sizes = [d.size for d in datasets]
        self._schedule = None

    # ------------------------------------------------------------ shared state
    def __getattr__(self, name):
        # paths, order, batch_size, seed, skipped, num_items ...: the first dataset's
        if name in ("datasets", "_schedule") or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.datasets[0], name)

    @property
    def schedule(self) -> np.ndarray:
        """The dataset index of each batch of the current epoch."""
        if self._schedule is None:
            first = self.datasets[0]
            self._schedule = batch_sizes_schedule(
                len(first), len(self.datasets), first.seed, first.epoch
            )
        return self._schedule

    def set_epoch(self, epoch: int) -> None:
        for d in self.datasets:
            d.set_epoch(epoch)
        self._schedule = None

    def on_epoch_end(self):
        self.set_epoch(self.datasets[0].epoch + 1)

    def __len__(self) -> int:
        return len(self.datasets[0])

    def size_of(self, index: int) -> tuple[int, int]:
        """The ``(h, w)`` of batch ``index`` in the current epoch."""
        return self.sizes[int(self.schedule[index])]

    def rgb_batch(self, index: int) -> np.ndarray:
        return self.datasets[int(self.schedule[index])].rgb_batch(index)

    def __getitem__(self, index: int):
        return self.datasets[int(self.schedule[index])][index]
