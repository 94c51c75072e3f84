"""``(L, ab)`` batches from an in-memory uint8 RGB array, and the batching shared with folders.

:class:`LabBatches` is the common ``keras.utils.PyDataset`` machinery: a seeded order per epoch,
per-item augmentation seeded by ``(seed, epoch, position)`` (so batches don't depend on worker
order), and the RGB -> ``(encoded L, encoded ab)`` split done once per batch by
:func:`kcolor.color.split_lab`. :class:`ArrayDataset` and
:class:`kcolor.datasets.ImageFolderDataset` only say how to fetch item ``i`` as RGB.
"""

from __future__ import annotations

import math

import keras
import numpy as np

import kcolor  # noqa: F401  (torch backend before keras)
from kcolor import color
from kcolor.datasets.augment import Augmenter, as_size, resize_fill

__all__ = ["ArrayDataset", "LabBatches", "lab_pair"]

_AUGMENT_KEYS = (
    "rotation_range",
    "zoom_range",
    "shear_range",
    "horizontal_flip",
    "crop_scale",
    "fill_mode",
)


def lab_pair(rgb_batch: np.ndarray, backend: str = "numpy") -> tuple[np.ndarray, np.ndarray]:
    """uint8 RGB ``(N, H, W, 3)`` to float32 ``(encoded L (N, H, W, 1), encoded ab (N, H, W, 2))``.

    Args:
        backend: ``"numpy"`` (float32, fastest on the CPU here; see benchmarks/data_pipeline.py)
            or ``"torch"`` (the same maths on a torch CPU tensor).
    """
    if backend == "torch":
        import torch

        x, y = color.split_lab(torch.from_numpy(np.ascontiguousarray(rgb_batch)))
        return x.numpy(), y.numpy()
    if backend != "numpy":
        raise ValueError(f"lab backend must be 'numpy' or 'torch', got {backend!r}")
    x, y = color.split_lab(rgb_batch)
    return x.astype(np.float32, copy=False), y.astype(np.float32, copy=False)


class LabBatches(keras.utils.PyDataset):
    """Base class: batches of ``(encoded L, encoded ab)`` from items fetched as uint8 RGB.

    Subclasses set ``self.num_items`` and implement ``_fetch(item, position)`` returning a uint8
    ``(h, w, 3)`` image already at the output size (augmented or not).

    Args:
        size: output int or ``(h, w)``; ``None`` keeps the items' own size (arrays only).
        batch_size: images per batch; the last batch of an epoch may be smaller.
        augment: apply :class:`Augmenter` (training); False gives resize-to-fill + centre crop.
        seed: seeds the order and the augmentation.
        shuffle: reshuffle every epoch; defaults to ``augment``.
        repeat: each item appears this many times per epoch (with different augmentations).
        lab_backend: ``"numpy"`` or ``"torch"`` for the Lab split (see :func:`lab_pair`).
        workers, use_multiprocessing, max_queue_size: as ``keras.utils.PyDataset``.
        **augment_options: passed to :class:`Augmenter` (``rotation_range``, ``zoom_range``,
            ``shear_range``, ``horizontal_flip``, ``crop_scale``, ``fill_mode``).
    """

    def __init__(
        self,
        size=256,
        batch_size: int = 16,
        augment: bool = False,
        seed: int = 0,
        shuffle: bool | None = None,
        repeat: int = 1,
        lab_backend: str = "numpy",
        workers: int = 1,
        use_multiprocessing: bool = False,
        max_queue_size: int = 10,
        **augment_options,
    ):
        super().__init__(
            workers=workers, use_multiprocessing=use_multiprocessing, max_queue_size=max_queue_size
        )
        unknown = set(augment_options) - set(_AUGMENT_KEYS)
        if unknown:
            raise TypeError(f"unknown argument(s): {', '.join(sorted(unknown))}")
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if int(repeat) < 1:
            raise ValueError(f"repeat must be >= 1, got {repeat}")
        if lab_backend not in ("numpy", "torch"):
            raise ValueError(f"lab_backend must be 'numpy' or 'torch', got {lab_backend!r}")
        self.size = None if size is None else as_size(size)
        self.batch_size = int(batch_size)
        self.augment = bool(augment)
        self.seed = int(seed)
        self.shuffle = self.augment if shuffle is None else bool(shuffle)
        self.repeat = int(repeat)
        self.lab_backend = lab_backend
        self.augment_options = dict(augment_options)
        self.augmenter = None
        if self.augment:
            if self.size is None:
                raise ValueError("augment=True needs an output size")
            self.augmenter = Augmenter(self.size, seed=self.seed, **augment_options)
        self.epoch = 0
        self.num_items = 0
        self._order = None

    # ------------------------------------------------------------ order and epochs
    def _positions(self) -> int:
        return self.num_items * self.repeat

    def _make_order(self, epoch: int) -> np.ndarray:
        order = np.tile(np.arange(self.num_items), self.repeat)
        if self.shuffle:
            order = np.random.default_rng((self.seed, 7919, int(epoch))).permutation(order)
        return order

    @property
    def order(self) -> np.ndarray:
        """The item index at each position of the current epoch."""
        if self._order is None:
            self._order = self._make_order(self.epoch)
        return self._order

    def set_epoch(self, epoch: int) -> None:
        """Jump to ``epoch``: its order and augmentations are a function of (seed, epoch)."""
        self.epoch = int(epoch)
        self._order = self._make_order(self.epoch)

    def on_epoch_end(self):
        """Advance to the next epoch: a new order (if shuffling) and new augmentations.

        Keras's ``fit`` also calls it once before the first epoch, so ``fit``'s epoch ``k``
        (from 0) draws the augmentation of :attr:`epoch` ``k + 1``; either way the draw is a
        function of ``(seed, epoch, position)`` only.
        """
        self.set_epoch(self.epoch + 1)

    def __len__(self) -> int:
        return math.ceil(self._positions() / self.batch_size)

    # ------------------------------------------------------------ batches
    def _geometry(self, rgb: np.ndarray, position: int) -> np.ndarray:
        """Augment (training) or resize-to-fill (validation) one uint8 image."""
        if self.augmenter is not None:
            return self.augmenter(rgb, self.epoch, position)
        if self.size is None or rgb.shape[:2] == self.size:
            return rgb
        return resize_fill(rgb, self.size)

    def _fetch(self, item: int, position: int) -> np.ndarray:
        raise NotImplementedError

    def rgb_batch(self, index: int) -> np.ndarray:
        """Batch ``index`` as uint8 RGB ``(N, h, w, 3)``, before the Lab split."""
        if not 0 <= index < len(self):
            raise IndexError(f"batch index {index} out of range for {len(self)} batches")
        start = index * self.batch_size
        stop = min(start + self.batch_size, self._positions())
        order = self.order
        return np.stack([self._fetch(int(order[p]), p) for p in range(start, stop)])

    def __getitem__(self, index: int):
        return lab_pair(self.rgb_batch(index), self.lab_backend)

    def get_config(self) -> dict:
        return {
            "size": self.size,
            "batch_size": self.batch_size,
            "augment": self.augment,
            "seed": self.seed,
            "shuffle": self.shuffle,
            "repeat": self.repeat,
            "lab_backend": self.lab_backend,
            **self.augment_options,
        }


class ArrayDataset(LabBatches):
    """``(encoded L, encoded ab)`` batches from an in-memory RGB array.

    Args:
        images: uint8 ``(N, H, W, 3)`` (float arrays in ``[0, 1]`` are converted once).
        size: output size; ``None`` keeps ``(H, W)``. Otherwise resize-to-fill + centre crop
            (or the random augmentation when ``augment=True``).
        batch_size, augment, seed, shuffle, repeat, workers, ...: see :class:`LabBatches`.

    Example:
        >>> import numpy as np
        >>> from kcolor.datasets import ArrayDataset
        >>> photos = np.random.default_rng(0).integers(0, 256, (10, 32, 32, 3), dtype=np.uint8)
        >>> x, y = ArrayDataset(photos, batch_size=4)[0]
        >>> x.shape, y.shape, x.dtype
        ((4, 32, 32, 1), (4, 32, 32, 2), dtype('float32'))
    """

    def __init__(self, images, size=None, batch_size: int = 16, augment: bool = False, **kwargs):
        images = np.asarray(images)
        if images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(f"images must be (N, H, W, 3) RGB, got shape {images.shape}")
        if len(images) == 0:
            from kcolor.errors import DataError

            raise DataError("ArrayDataset got no images")
        if images.dtype != np.uint8:
            if not np.issubdtype(images.dtype, np.floating):
                raise ValueError(f"images must be uint8 or float in [0, 1], got {images.dtype}")
            lo, hi = float(images.min()), float(images.max())
            if lo < -1e-3 or hi > 1 + 1e-3:
                raise ValueError(f"float images must be in [0, 1], got [{lo:g}, {hi:g}]")
            images = color.to_uint8(images)
        super().__init__(size=size, batch_size=batch_size, augment=augment, **kwargs)
        self.images = images
        self.num_items = len(images)

    def _fetch(self, item: int, position: int) -> np.ndarray:
        return self._geometry(self.images[item], position)
